/*
 * bgbfile.c - what happened to tasks (.bts) and who is online (.bos),
 * written into bgb.box by the inbox protocol for sitesys-notifymgr: a
 * file every few seconds, never a database write per event
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bgb.h"
#include "notifyd.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/sjson.h"

/* The events' file to add to: the last, or a new one when it is full. */
static struct nd_events *
nd_bgb_tail(struct notifyd *nd)
{
	struct nd_events *f;

	if (nd->nevent_files > 0 &&
	    nd->events[nd->nevent_files - 1].n < BGB_MAX_EVENTS)
		return &nd->events[nd->nevent_files - 1];
	f = realloc(nd->events, (nd->nevent_files + 1) * sizeof(*f));
	if (f == NULL)
		abort();
	nd->events = f;
	f = &nd->events[nd->nevent_files++];
	*f = (struct nd_events){ .n = 0 };
	return f;
}

void
nd_bgb_event(struct notifyd *nd, long long task, const char *guid,
    const char *event, const struct notify_frame *result)
{
	char at[CLOCK_RFC3339_LEN];
	struct nd_events *f;
	struct buf *b;

	if (nd->nevents >= ND_EVENTS_MAX) {
		nd->n.dropped_events++;
		return;
	}
	f = nd_bgb_tail(nd);
	b = &f->text;
	clock_rfc3339(at, sizeof(at), clock_now_us(), 3);
	/* written as text: a push to all makes three per client */
	buf_adds(b, f->n > 0 ? ",{\"task\":" : "{\"task\":");
	buf_addi(b, task);
	buf_adds(b, ",\"client\":");
	sjson_quote(b, guid);
	buf_addf(b, ",\"event\":\"%s\",\"at\":\"%s\"", event, at);
	if (result != NULL) {
		buf_adds(b, ",\"status\":");
		sjson_quote(b, result->status);
		if (result->has_exit) {
			buf_adds(b, ",\"exit\":");
			buf_addi(b, result->exit);
		}
		/* the output is checked UTF-8 of at most 4096 bytes */
		buf_adds(b, ",\"output\":");
		sjson_quote(b, result->output);
	}
	buf_addc(b, '}');
	f->n++;
	nd->nevents++;
}

/* Write text as a new file NAME.ext into bgb.box; 0, or -1 with errno. */
static int
nd_bgb_put(struct notifyd *nd, const char *ext, const char *text, size_t len)
{
	char name[INBOX_NAME_MAX + 1];

	inbox_new_name(ext, name, sizeof(name));
	return inbox_put(&nd->box, name, text, len);
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

/* Write doc as a new file NAME.ext into bgb.box; 0, or -1 with errno. */
static int
nd_bgb_put_json(struct notifyd *nd, const char *ext, const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (s == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = nd_bgb_put(nd, ext, s, strlen(s));
	free(s);
	return rc;
}

/* Write the events of f as a .bts file; 0, or -1 with errno. */
static int
nd_bgb_put_events(struct notifyd *nd, const struct nd_events *f)
{
	struct buf doc = { 0 };
	int rc;

	buf_adds(&doc, "{\"format\":\"" BGB_BTS_FORMAT "\",\"server\":");
	sjson_quote(&doc, nd->server);
	buf_adds(&doc, ",\"events\":[");
	buf_add(&doc, f->text.p, f->text.len);
	buf_adds(&doc, "]}");
	rc = nd_bgb_put(nd, "bts", doc.p, doc.len);
	buf_free(&doc);
	return rc;
}

/* Forget the first done files of events (written). */
static void
nd_bgb_shift(struct notifyd *nd, size_t done)
{
	for (size_t i = 0; i < done; i++) {
		nd->nevents -= nd->events[i].n;
		buf_free(&nd->events[i].text);
	}
	nd->nevent_files -= done;
	if (done > 0 && nd->nevent_files > 0)
		memmove(nd->events, nd->events + done,
		    nd->nevent_files * sizeof(*nd->events));
}

int
nd_bgb_flush(struct notifyd *nd)
{
	size_t done = 0;

	if (nd->n.dropped_events > 0) {
		log_warn("dropped %lu task events: bgb.box could not be "
		         "written",
		    nd->n.dropped_events);
		nd->n.dropped_events = 0;
	}
	while (done < nd->nevent_files &&
	    nd_bgb_put_events(nd, &nd->events[done]) == 0)
		done++;
	if (done > 0 && inbox_sync(&nd->box) == -1) {
		/* renamed but perhaps not durable: kept to be written again;
		 * the reader's ledger counts each file once, and events are
		 * idempotent for it */
		nd_bgb_failed(nd, "task events");
		return -1;
	}
	nd_bgb_shift(nd, done);
	if (nd->nevent_files > 0) {
		nd_bgb_failed(nd, "task events");
		return -1;
	}
	nd->write_failed = false;
	return 0;
}

void
nd_bgb_free(struct notifyd *nd)
{
	nd_bgb_shift(nd, nd->nevent_files);
	free(nd->events);
	nd->events = NULL;
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
	for (size_t i = 0; !empty && i < nd->nslots; i++) {
		const struct nd_slot *s = nd->slots[i];
		json_t *e;

		if (s->conn != NULL || s->http_until < clock_mono())
			continue;
		clock_rfc3339(since, sizeof(since), s->http_since_us, 3);
		e = json_pack("{s:s,s:s,s:s}", "client", s->guid, "since",
		    since, "via", "http");
		if (e == NULL)
			abort();
		sjson_append(online, e);
	}
	clock_rfc3339(at, sizeof(at), clock_now_us(), 3);
	/* each worker reports its own clients (sitesys-bgb(5)) */
	doc = json_pack("{s:s,s:s,s:i,s:s,s:o}", "format", BGB_BOS_FORMAT,
	    "server", nd->server, "worker", nd->worker, "at", at, "online",
	    online);
	if (doc == NULL)
		abort();
	rc = nd_bgb_put_json(nd, "bos", doc);
	json_decref(doc);
	if (rc == -1 || inbox_sync(&nd->box) == -1) {
		nd_bgb_failed(nd, "the presence file");
		return -1;
	}
	return 0;
}
