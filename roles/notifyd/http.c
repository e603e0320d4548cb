/*
 * http.c - the HTTP fallback: a client whose TCP port 10123 is blocked
 * long-polls over HTTPS through nginx, which checks its certificate and
 * passes it (URL-encoded PEM, header X-Client-Cert) on a unix socket that
 * only nginx may reach. POST /notify/v1/poll carries the client's frames
 * (receipts, results) and is answered with the server's (tasks) at once
 * if any wait, else after [notifyd] poll_seconds; the client then polls
 * again. sitesys-notify(7), "HTTP FALLBACK".
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_service.h"
#include "notifyd.h"
#include "poll_doc.h"
#include "refusal_log.h"
#include "statemsg.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/sjson.h"

#define POLL_PATH "/notify/v1/poll"

/* A poll held until a task comes or its time is up. */
struct nd_poll {
	struct notifyd *nd;
	struct nd_slot *slot;
	struct evhttp_request *req;
	struct event *timer;
};

/* Answer req with status and a JSON body (its reference taken). */
static void
reply(struct evhttp_request *req, int status, json_t *doc)
{
	struct evbuffer *out = evbuffer_new();
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (out == NULL || text == NULL) {
		free(text);
		if (out != NULL)
			evbuffer_free(out);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(out, text, strlen(text));
	evbuffer_add(out, "\n", 1);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, NULL, out);
	evbuffer_free(out);
}

/* Refuse req: status, and {"error", "code"} as the MP answers. */
static void
refuse(
    struct evhttp_request *req, int status, const char *code, const char *why)
{
	json_t *doc = json_pack("{s:s,s:s}", "error", why, "code", code);
	const char *from = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "X-Real-IP");

	if (doc == NULL)
		abort();
	refusal_log_peer(from != NULL ? from : "nginx", why);
	reply(req, status, doc);
}

/* The answer to a poll: the server's frames, and how to poll on. */
static json_t *
answer(struct notifyd *nd, json_t *frames)
{
	const struct conf *cf = *nd->cfp;
	json_t *doc = json_pack("{s:s,s:s,s:I,s:I,s:o}", "format", POLL_FORMAT,
	    "server", nd->server, "keepalive",
	    (json_int_t)conf_int(cf, "notifyd", "poll_seconds"), "grace",
	    (json_int_t)conf_int(cf, "notifyd", "grace_seconds"), "frames",
	    frames);

	if (doc == NULL)
		abort();
	return doc;
}

/* Forget p (its request answered or gone). */
static void
poll_free(struct nd_poll *p)
{
	if (p->slot != NULL && p->slot->poll == p)
		p->slot->poll = NULL;
	if (p->timer != NULL)
		event_free(p->timer);
	p->nd->npolls--;
	free(p);
}

/* Answer the held poll of p with frames (taken) and forget it. */
static void
poll_answer(struct nd_poll *p, json_t *frames)
{
	struct evhttp_connection *con = evhttp_request_get_connection(p->req);

	if (con != NULL)
		evhttp_connection_set_closecb(con, NULL, NULL);
	reply(p->req, 200, answer(p->nd, frames));
	poll_free(p);
}

/* The tasks of slot still valid, as task frames, each counted pushed. */
static json_t *
pending_frames(struct notifyd *nd, struct nd_slot *s)
{
	int64_t now = clock_now_us();
	json_t *frames = json_array();
	char why[256];

	if (frames == NULL)
		abort();
	for (size_t k = 0; k < s->npend; k++) {
		struct nd_task *t = s->pend[k];
		json_t *doc;

		if (t->expires_us <= now)
			continue;
		/* the frame as the TCP clients get it, without its length */
		doc = json_loadb(t->frame.p + NOTIFY_HEADER,
		    t->frame.len - NOTIFY_HEADER, 0, NULL);
		if (doc == NULL) {
			snprintf(why, sizeof(why), "task %lld", t->id);
			log_error("could not decode the frame of %s", why);
			continue;
		}
		sjson_append(frames, doc);
		nd->n.pushed++;
		nd_bgb_event(nd, t->id, s->guid, "pushed", NULL);
	}
	return frames;
}

void
nd_http_push(struct notifyd *nd, struct nd_slot *s)
{
	(void)nd;
	if (s->poll != NULL)
		poll_answer(s->poll, pending_frames(s->poll->nd, s));
}

static void
poll_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct nd_poll *p = arg;
	json_t *frames = json_array();

	(void)fd;
	(void)what;
	if (frames == NULL)
		abort();
	poll_answer(p, frames);
}

/* The client went away while its poll was held. */
static void
poll_closed(struct evhttp_connection *con, void *arg)
{
	struct nd_poll *p = arg;

	(void)con;
	poll_free(p);
}

/* The client's frames of a poll, as its TCP connection would send them. */
static void
take_frames(struct notifyd *nd, struct nd_slot *s, const struct poll_doc *p)
{
	for (size_t i = 0; i < p->nframes; i++) {
		const struct notify_frame *f = &p->frames[i];

		if (f->type == NOTIFY_KEEPALIVE)
			continue;
		nd->n.received += f->type == NOTIFY_RECEIVED;
		nd->n.results += f->type == NOTIFY_RESULT;
		nd_bgb_event(nd, f->task, s->guid,
		    f->type == NOTIFY_RECEIVED ? "received" : "result",
		    f->type == NOTIFY_RESULT ? f : NULL);
		nd_push_received(nd, s, f->task);
	}
}

/* Who the certificate nginx passed is; the GUID, or NULL refused. */
static const char *
caller(struct notifyd *nd, struct evhttp_request *req)
{
	const char *pem = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "X-Client-Cert");
	char fp[X509_FINGERPRINT_LEN], why[256], *text;
	const char *guid = NULL;
	size_t n;

	if (pem == NULL || *pem == '\0') {
		refuse(req, 401, "no-certificate",
		    "a client certificate is required");
		return NULL;
	}
	text = evhttp_uridecode(pem, 0, &n);
	if (text == NULL ||
	    x509_pem_fingerprint(text, n, fp, why, sizeof(why)) == -1)
		refuse(req, 401, "bad-certificate",
		    "the client certificate cannot be read");
	else if ((guid = nd_accept_guid(nd, fp)) == NULL)
		refuse(req, 403, "unregistered",
		    "the certificate is not that of a registered, approved, "
		    "unblocked client");
	free(text);
	return guid;
}

/* The poll's body, checked, in the caller's name; -1 refused. */
static int
poll_body(struct evhttp_request *req, const char *guid, struct poll_doc *p)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char why[512];

	if (poll_doc_parse((const char *)evbuffer_pullup(in, -1), len, p, why,
	        sizeof(why)) == -1) {
		refuse(req, 400, "bad-request", why);
		return -1;
	}
	if (strcmp(p->client, guid) != 0) {
		poll_doc_free(p);
		refuse(req, 403, "not-yours",
		    "the poll is not in the certificate's client's name");
		return -1;
	}
	return 0;
}

/* Hold req as slot's poll until a task comes or poll_seconds pass. */
static void
poll_hold(struct notifyd *nd, struct nd_slot *s, struct evhttp_request *req)
{
	struct timeval tv = { .tv_sec = conf_int(
		                  *nd->cfp, "notifyd", "poll_seconds") };
	struct nd_poll *p = calloc(1, sizeof(*p));

	if (p == NULL)
		abort();
	if (s->poll != NULL) /* an older poll of the client: answered */
		poll_answer(s->poll, json_array());
	p->nd = nd;
	p->slot = s;
	p->req = req;
	if ((p->timer = evtimer_new(nd->base, poll_timeout, p)) == NULL)
		abort();
	evtimer_add(p->timer, &tv);
	log_debug("holding the poll of %s", s->guid);
	s->poll = p;
	nd->npolls++;
	evhttp_connection_set_closecb(
	    evhttp_request_get_connection(req), poll_closed, p);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct notifyd *nd = arg;
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct poll_doc p;
	const char *guid;
	struct nd_slot *s;

	if (path == NULL || strcmp(path, POLL_PATH) != 0) {
		refuse(req, 404, "not-found", "no such endpoint");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		refuse(req, 405, "method", "a poll is a POST");
		return;
	}
	if (nd->stopping) {
		reply(req, 503, answer(nd, json_array()));
		return;
	}
	if ((guid = caller(nd, req)) == NULL || poll_body(req, guid, &p) == -1)
		return;
	s = nd_slot_get(nd, guid, true);
	take_frames(nd, s, &p);
	poll_doc_free(&p);
	if (s->http_since_us == 0 || s->http_until < clock_mono())
		s->http_since_us = clock_now_us();
	s->http_until = clock_mono() +
	    (double)conf_int(*nd->cfp, "notifyd", "poll_seconds") +
	    (double)conf_int(*nd->cfp, "notifyd", "grace_seconds");
	poll_hold(nd, s, req);
	nd_push_claim(nd, s);
	if (s->npend > 0)
		nd_http_push(nd, s);
}

int
nd_http_listen(const struct conf *cf)
{
	const char *sock = conf_str(cf, "notifyd", "http_socket");

	if (*sock == '\0')
		return -2;
	return fcgi_service_socket(cf, sock);
}

int
nd_http_start(struct notifyd *nd, int fd)
{
	struct evconnlistener *l;

	if (fd < 0)
		return 0;
	/* libevent's listener loops on accept(2) until it would block */
	if (evutil_make_socket_nonblocking(fd) == -1) {
		log_error("could not make the HTTP fallback's socket "
		          "non-blocking: %m");
		return -1;
	}
	if ((nd->http = evhttp_new(nd->base)) == NULL ||
	    (l = evconnlistener_new(nd->base, NULL, NULL,
	         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) ==
	        NULL ||
	    evhttp_bind_listener(nd->http, l) == NULL) {
		log_error("could not serve the HTTP fallback: out of memory");
		return -1;
	}
	evhttp_set_max_body_size(nd->http, POLL_MAX_BODY);
	evhttp_set_allowed_methods(nd->http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
	evhttp_set_timeout(
	    nd->http, (int)conf_int(*nd->cfp, "notifyd", "poll_seconds") + 30);
	evhttp_set_gencb(nd->http, on_request, nd);
	log_info("serving the HTTP fallback on %s",
	    conf_str(*nd->cfp, "notifyd", "http_socket"));
	return 0;
}

void
nd_http_goodbye(struct notifyd *nd, int window_seconds)
{
	for (size_t i = 0; i < nd->nslots; i++) {
		struct nd_poll *p = nd->slots[i]->poll;
		json_t *frames;

		if (p == NULL)
			continue;
		if ((frames = json_array()) == NULL)
			abort();
		sjson_append(frames, nd_reconnect_frame(window_seconds));
		poll_answer(p, frames);
	}
}

void
nd_http_free(struct notifyd *nd)
{
	for (size_t i = 0; i < nd->nslots; i++)
		if (nd->slots[i]->poll != NULL)
			poll_free(nd->slots[i]->poll);
	if (nd->http != NULL)
		evhttp_free(nd->http);
	nd->http = NULL;
}
