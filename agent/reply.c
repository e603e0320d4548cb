/*
 * reply.c - the answers of the agent's HTTP requests, and what a
 * management point's error answer says: {"error": reason, "code": code}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/sjson.h"

void
http_reply_error(const struct http_reply *r, struct mp_error *e)
{
	json_t *doc = NULL;
	const char *code, *reason;

	memset(e, 0, sizeof(*e));
	if (r->status >= 400 && r->body != NULL)
		doc = sjson_parse(r->body, r->len, NULL, 0);
	code = json_string_value(json_object_get(doc, "code"));
	reason = json_string_value(json_object_get(doc, "error"));
	snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	json_decref(doc);
}

void
http_reply_why(
    const char *url, const struct http_reply *r, char *why, size_t whylen)
{
	struct mp_error e;

	http_reply_error(r, &e);
	snprintf(why, whylen, "%.600s answered HTTP %ld%s%.400s%s%.32s%s", url,
	    r->status, e.reason[0] ? ": " : "", e.reason, e.code[0] ? " (" : "",
	    e.code, e.code[0] ? ")" : "");
}
