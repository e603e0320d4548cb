/*
 * bgbfile.c - what happened to tasks (.bts) and who is online (.bos),
 * written into bgb.box by the inbox protocol for sitesys-notifymgr: a
 * file every few seconds, never a database write per event
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "notifyd.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/sjson.h"

void
nd_bgb_event(struct notifyd *nd, long long task, const char *guid,
    const char *event, const struct notify_frame *result)
{
	char at[CLOCK_RFC3339_LEN];
	json_t *e;

	if (json_array_size(nd->events) >= ND_EVENTS_MAX) {
		nd->n.dropped_events++;
		return;
	}
	clock_rfc3339(at, sizeof(at), clock_now_us(), 3);
	e = json_pack("{s:I,s:s,s:s,s:s}", "task", (json_int_t)task, "client",
	    guid, "event", event, "at", at);
	if (e == NULL)
		abort();
	if (result != NULL) {
		sjson_set(e, "status", json_string(result->status));
		if (result->has_exit)
			sjson_set(e, "exit", json_integer(result->exit));
		/* the output is checked UTF-8 of at most 4096 bytes */
		sjson_set(e, "output", json_string(result->output));
	}
	sjson_append(nd->events, e);
}

/* Write doc as a new file NAME.ext into bgb.box; 0, or -1 with errno. */
static int
nd_bgb_put(struct notifyd *nd, const char *ext, const json_t *doc)
{
	char name[INBOX_NAME_MAX + 1];
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	inbox_new_name(ext, name, sizeof(name));
	rc = inbox_put(&nd->box, name, text, strlen(text));
	free(text);
	return rc;
}

/* A write into bgb.box failed: log it once until one succeeds. */
static void
nd_bgb_failed(struct notifyd *nd, const char *what)
{
	if (!nd->write_failed)
		log_error("could not write %s into \"%s\": %m; trying again",
		    what, nd->box.path);
	nd->write_failed = true;
}

int
nd_bgb_flush(struct notifyd *nd)
{
	size_t n = json_array_size(nd->events), done = 0;

	if (nd->n.dropped_events > 0) {
		log_warn("dropped %lu task events: bgb.box could not be "
		         "written",
		    nd->n.dropped_events);
		nd->n.dropped_events = 0;
	}
	/* bounded: each turn writes up to NOTIFY_BTS_MAX_EVENTS of n */
	while (done < n) {
		size_t k = n - done < NOTIFY_BTS_MAX_EVENTS
		    ? n - done
		    : NOTIFY_BTS_MAX_EVENTS;
		json_t *part = json_array(), *doc;
		int rc;

		if (part == NULL)
			abort();
		for (size_t i = 0; i < k; i++)
			sjson_append(part,
			    json_incref(json_array_get(nd->events, done + i)));
		doc = json_pack("{s:s,s:s,s:o}", "format", ND_BTS_FORMAT,
		    "server", nd->server, "events", part);
		if (doc == NULL)
			abort();
		rc = nd_bgb_put(nd, "bts", doc);
		json_decref(doc);
		if (rc == -1)
			break;
		done += k;
	}
	if (done > 0 && inbox_sync(&nd->box) == -1) {
		/* renamed but perhaps not durable: kept to be written again;
		 * the reader's ledger counts each file once, and events are
		 * idempotent for it */
		nd_bgb_failed(nd, "task events");
		return -1;
	}
	if (done > 0) {
		/* what was written leaves the array, the rest stays */
		json_t *rest = json_array();

		if (rest == NULL)
			abort();
		for (size_t i = done; i < n; i++)
			sjson_append(
			    rest, json_incref(json_array_get(nd->events, i)));
		json_decref(nd->events);
		nd->events = rest;
	}
	if (done < n) {
		nd_bgb_failed(nd, "task events");
		return -1;
	}
	nd->write_failed = false;
	return 0;
}

int
nd_bgb_presence(struct notifyd *nd, bool empty)
{
	char at[CLOCK_RFC3339_LEN], since[CLOCK_RFC3339_LEN];
	json_t *online = json_array(), *doc;
	int rc;

	if (online == NULL)
		abort();
	for (struct nd_conn *c = nd->conns; !empty && c != NULL; c = c->next) {
		json_t *e;

		if (!c->ready || c->closing)
			continue;
		clock_rfc3339(since, sizeof(since), c->since_us, 3);
		e = json_pack("{s:s,s:s,s:s}", "client", c->guid, "since",
		    since, "via", "tcp");
		if (e == NULL)
			abort();
		sjson_append(online, e);
	}
	clock_rfc3339(at, sizeof(at), clock_now_us(), 3);
	doc = json_pack("{s:s,s:s,s:s,s:o}", "format", ND_BOS_FORMAT, "server",
	    nd->server, "at", at, "online", online);
	if (doc == NULL)
		abort();
	rc = nd_bgb_put(nd, "bos", doc);
	json_decref(doc);
	if (rc == -1 || inbox_sync(&nd->box) == -1) {
		nd_bgb_failed(nd, "the presence file");
		return -1;
	}
	return 0;
}
