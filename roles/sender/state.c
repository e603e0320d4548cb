/*
 * state.c - what the sender has to send and how it is going, in a file
 * that sitectl status reads on this host (sitesys-sender(8))
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sender.h"
#include "util/clock.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

/* time t as RFC 3339, or JSON null for 0. */
static json_t *
when(time_t t)
{
	char s[40];

	if (t == 0)
		return json_null();
	return json_string(
	    clock_rfc3339(s, sizeof(s), (int64_t)t * 1000000, 0));
}

/* One outbox: its backlog, counters and last failure. */
static json_t *
box_state(struct outbox *o)
{
	struct inbox_backlog bl = { 0 };
	json_t *b = json_object();

	if (inbox_backlog(o->ib.path, &bl) == -1)
		log_warn("could not count %s: %m", o->ib.path);
	sjson_set(b, "name", json_string(o->ib.name));
	sjson_set(b, "files", json_integer(bl.files));
	sjson_set(
	    b, "oldest_age_seconds", json_integer((json_int_t)bl.oldest_age));
	sjson_set(b, "corrupt", json_integer(bl.corrupt));
	pthread_mutex_lock(&o->lock);
	sjson_set(b, "sent", json_integer((json_int_t)o->sent));
	sjson_set(b, "rejected", json_integer((json_int_t)o->rejected));
	sjson_set(b, "last_sent", when(o->last_sent));
	sjson_set(
	    b, "error", o->error[0] ? json_string(o->error) : json_null());
	sjson_set(b, "failing_since", when(o->error_since));
	pthread_mutex_unlock(&o->lock);
	return b;
}

int
sender_state_write(
    const char *path, const char *url, struct outbox *boxes, int n)
{
	json_t *doc = json_object(), *list = json_array();
	char tmp[4200];
	char *text;
	int rc = -1;

	sjson_set(doc, "format", json_string("sitesys.sender/1"));
	sjson_set(doc, "url", json_string(url));
	sjson_set(doc, "written", when(time(NULL)));
	for (int i = 0; i < n; i++)
		sjson_append(list, box_state(&boxes[i]));
	sjson_set(doc, "boxes", list);
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (text == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (fsio_replace(path, tmp, text, strlen(text), 0644) == 0)
		rc = 0;
	else
		log_error("could not write the state to %s: %m", path);
	free(text);
	return rc;
}
