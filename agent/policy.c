/*
 * policy.c - registration with the management point and the client's
 * policy: how often to send and poll, and resync requests to answer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/log.h"
#include "util/sjson.h"

#define REGISTER_FORMAT "sitesys.register/1"
#define REGISTERED_FORMAT "sitesys.registered/1"
#define POLICY_FORMAT "sitesys.policy/1"

json_t *
policy_register_doc(const char *guid, const char *name, json_t *addresses)
{
	json_t *doc = json_pack("{s:s,s:s,s:s,s:o}", "format", REGISTER_FORMAT,
	    "client", guid, "name", name, "addresses",
	    addresses ? addresses : json_array());

	if (doc == NULL)
		abort();
	return doc;
}

/* base without a trailing slash, then path. */
static void
policy_url(char *url, size_t len, const char *base, const char *path)
{
	size_t n = strlen(base);

	snprintf(url, len, "%.*s%s", (int)(n - (n > 0 && base[n - 1] == '/')),
	    base, path);
}

/* Check that body is a document of format for guid; 0 or -1 with why. */
static json_t *
policy_doc(const char *body, size_t len, const char *format, const char *guid,
    char *why, size_t whylen)
{
	json_t *doc = sjson_parse(body, len, why, whylen);
	const char *client;

	if (doc == NULL || sjson_format(doc, format, why, whylen) == -1 ||
	    sjson_str(doc, "client", STATEMSG_GUID_LEN, true, &client, why,
	        whylen) == -1)
		goto fail;
	if (strcmp(client, guid) != 0) {
		snprintf(
		    why, whylen, "it is for client %s, not %s", client, guid);
		goto fail;
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/* Remember in status.json how a request ended. */
static void
policy_record(struct store *st, const char *key, const char *why, json_t *doc)
{
	char now[AGENT_TIME_LEN];
	json_t *v;

	msg_now(now);
	v = json_pack(
	    "{s:s,s:s}", "time", now, "result", why == NULL ? "ok" : "failed");
	if (v == NULL)
		abort();
	if (why != NULL)
		sjson_set(v, "error", json_string(why));
	if (doc != NULL)
		sjson_set(v, "policy", json_incref(doc));
	store_status_set(st, key, v);
}

/*
 * Whether r is the management point refusing this client's registration
 * or certificate (401, 403, 409 with a code), the code and reason in e.
 */
static bool
policy_refused(const struct http_reply *r, struct mp_error *e)
{
	http_reply_error(r, e);
	return (r->status == 401 || r->status == 403 || r->status == 409) &&
	    e->code[0] != '\0';
}

/* The "approval" of a sitesys.registered/1 answer ("approved" or
 * "pending"; NULL when the answer has none); 0, or -1 with why. */
static int
policy_approval(json_t *doc, const char **approval, char *why, size_t whylen)
{
	*approval = NULL;
	if (sjson_str(doc, "approval", 16, false, approval, why, whylen) == -1)
		return -1;
	if (*approval == NULL || strcmp(*approval, "approved") == 0 ||
	    strcmp(*approval, "pending") == 0)
		return 0;
	snprintf(why, whylen,
	    "member \"approval\" is not \"approved\" or \"pending\": "
	    "\"%.40s\"",
	    *approval);
	return -1;
}

/* Post the registration to url; its answer's approval into approval
 * (NULL: none), or why it failed and the refusal (if it is one) in e. */
static void
policy_post_register(struct store *st, const struct http_ops *http,
    const char *url, const char *name, struct mp_error *e, char approval[16],
    char *why, size_t whylen)
{
	struct http_reply r = { 0 };
	json_t *doc = policy_register_doc(st->guid, name, netaddr_list());
	const char *a = NULL;
	char *body = json_dumps(doc, JSON_COMPACT);

	if (body == NULL)
		abort();
	json_decref(doc);
	doc = NULL;
	memset(e, 0, sizeof(*e));
	*approval = '\0';
	if (http->request(http->ctx, "POST", url, body, strlen(body), &r) == -1)
		snprintf(why, whylen, "%.600s: %.400s", url, r.error);
	else if (r.status != 200) {
		http_reply_why(url, &r, why, whylen);
		if (!policy_refused(&r, e))
			memset(e, 0, sizeof(*e));
	} else if ((doc = policy_doc(r.body, r.len, REGISTERED_FORMAT, st->guid,
	                why, whylen)) != NULL &&
	    policy_approval(doc, &a, why, whylen) == 0) {
		why[0] = '\0';
		snprintf(approval, 16, "%s", a ? a : "");
	}
	free(body);
	json_decref(doc);
	http_reply_free(&r);
}

int
policy_register(struct store *st, const struct http_ops *http,
    const char *mp_url, const char *name)
{
	struct mp_error e = { 0 };
	char url[2048], why[1024] = "", approval[16] = "";

	policy_url(url, sizeof(url), mp_url, "/register");
	if (*mp_url == '\0')
		snprintf(why, sizeof(why), "[agent] mp_url is not set");
	else
		policy_post_register(
		    st, http, url, name, &e, approval, why, sizeof(why));
	policy_record(st, "last_register", why[0] ? why : NULL, NULL);
	if (approval[0] != '\0')
		approval_note(st, approval, "");
	else if (e.code[0] != '\0')
		approval_note(st, e.code, e.reason);
	if (why[0] != '\0') {
		if (e.code[0] == '\0')
			log_error("could not register %s: %s", st->guid, why);
		return -1;
	}
	log_info("registered %s as \"%s\" with %s", st->guid, name, mp_url);
	return 0;
}

/* The "resync" member: null, absent, or {"requested": time}. */
static int
policy_resync(json_t *doc, struct policy *p, char *why, size_t whylen)
{
	json_t *rs = json_object_get(doc, "resync");
	const char *t;
	int64_t us;

	if (rs == NULL || json_is_null(rs))
		return 0;
	if (!json_is_object(rs)) {
		snprintf(why, whylen,
		    "member \"resync\" is not null or an "
		    "object");
		return -1;
	}
	if (sjson_str(rs, "requested", AGENT_TIME_LEN - 1, true, &t, why,
	        whylen) == -1)
		return -1;
	if (statemsg_parse_time(t, &us) == -1) {
		snprintf(why, whylen,
		    "member \"requested\" is not an RFC 3339 UTC time: \"%s\"",
		    t);
		return -1;
	}
	snprintf(p->resync, sizeof(p->resync), "%s", t);
	return 0;
}

int
policy_parse(const char *body, size_t len, const char *guid, struct policy *p,
    char *why, size_t whylen)
{
	json_t *doc = policy_doc(body, len, POLICY_FORMAT, guid, why, whylen);
	long long send = 0, poll = 0;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (doc == NULL)
		return -1;
	if (sjson_int(doc, "statemsg_send_minutes", 1, 1440, false, &send, why,
	        whylen) == -1 ||
	    sjson_int(doc, "policy_poll_minutes", 1, 10080, false, &poll, why,
	        whylen) == -1 ||
	    policy_resync(doc, p, why, whylen) == -1)
		goto out;
	p->send_minutes = (int)send;
	p->poll_minutes = (int)poll;
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/*
 * GET the policy; the HTTP status (0: no answer), body in r; unless 200,
 * why, and in e the refusal when it is one (empty otherwise).
 */
static long
policy_get(struct store *st, const struct http_ops *http, const char *mp_url,
    struct http_reply *r, struct mp_error *e, char *why, size_t whylen)
{
	char url[2048], path[128];

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "/policy?client=%s", st->guid);
	policy_url(url, sizeof(url), mp_url, path);
	if (http->request(http->ctx, "GET", url, NULL, 0, r) == -1) {
		snprintf(why, whylen, "%.600s: %.400s", url, r->error);
		return 0;
	}
	if (r->status != 200) {
		http_reply_why(url, r, why, whylen);
		if (!policy_refused(r, e))
			memset(e, 0, sizeof(*e));
	}
	return r->status;
}

/* Whether e is the management point not knowing this certificate. */
static bool
policy_unregistered(const struct mp_error *e)
{
	return strcmp(e->code, "unregistered") == 0;
}

/* Answer p's resync request unless it was answered; 1 when queued. */
static int
policy_answer(struct store *st, const struct policy *p)
{
	char answered[AGENT_TIME_LEN + 8];
	size_t n;

	if (p->resync[0] == '\0')
		return 0;
	if (store_resync_answered(st, answered, sizeof(answered)) == -1)
		return -1;
	if (strcmp(answered, p->resync) == 0)
		return 0;
	return store_resync(st, p->resync, &n) == 0 ? 1 : -1;
}

int
policy_poll(struct store *st, const struct http_ops *http, const char *mp_url,
    const char *name, struct policy *p)
{
	struct http_reply r = { 0 };
	struct mp_error e;
	char why[1024] = "";
	long status;
	json_t *doc;

	if (*mp_url == '\0') {
		log_error(
		    "could not poll the policy: [agent] mp_url is not set");
		return -1;
	}
	status = policy_get(st, http, mp_url, &r, &e, why, sizeof(why));
	if (status == 403 && policy_unregistered(&e)) {
		log_info("the management point does not know %s: registering "
		         "again",
		    st->guid);
		http_reply_free(&r);
		if (policy_register(st, http, mp_url, name) == -1) {
			/* said by policy_register, in last_register */
			snprintf(why, sizeof(why),
			    "the management point does not know %s, and "
			    "registering again failed",
			    st->guid);
			policy_record(st, "last_policy", why, NULL);
			return -1;
		}
		status = policy_get(st, http, mp_url, &r, &e, why, sizeof(why));
		if (status == 403 && policy_unregistered(&e))
			snprintf(why, sizeof(why),
			    "no policy for %s even after registering: %.600s",
			    st->guid, e.reason);
	}
	if (status == 200 &&
	    policy_parse(r.body, r.len, st->guid, p, why, sizeof(why)) == 0) {
		why[0] = '\0';
		approval_note(st, "approved", "");
	} else if (e.code[0] != '\0') {
		approval_note(st, e.code, e.reason);
	}
	doc = why[0] == '\0' ? sjson_parse(r.body, r.len, NULL, 0) : NULL;
	policy_record(st, "last_policy", why[0] ? why : NULL, doc);
	json_decref(doc);
	http_reply_free(&r);
	if (why[0] != '\0') {
		if (e.code[0] == '\0')
			log_error("could not get the policy: %s", why);
		return -1;
	}
	return policy_answer(st, p);
}
