/*
 * http.c - the HTTP fallback: a client whose TCP connections to the
 * notification port are blocked long-polls over HTTPS through nginx,
 * which checks that it holds its certificate's key and passes the
 * certificate (X-Client-Cert, URL-escaped PEM) to this plain HTTP server
 * on loopback. A poll carries the client's frames (receipts, results) and
 * is answered with its tasks, at once or as soon as one is released, or
 * empty when the poll time is up.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "notifyd.h"
#include "refusal_log.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/sjson.h"
#include "util/x509.h"

#define ND_HTTP_MAX_FRAMES 1000 /* client frames in one poll */

/* Answer req with status and doc (stolen), as JSON. */
static void
nd_http_reply(struct evhttp_request *req, int status, json_t *doc)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (out == NULL || text == NULL ||
	    evbuffer_add(out, text, strlen(text)) == -1 ||
	    evbuffer_add(out, "\n", 1) == -1) {
		log_error("could not answer a poll: out of memory");
		evhttp_send_error(req, 500, NULL);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/json");
		evhttp_send_reply(
		    req, status, status == 200 ? "OK" : "Refused", out);
	}
	free(text);
	if (out != NULL)
		evbuffer_free(out);
}

/* A refusal: {"error": why, "code": code}, logged (rate-limited). */
static void
nd_http_refuse(struct evhttp_request *req, int status, const char *code,
    const char *why, const char *peer)
{
	json_t *doc = json_pack("{s:s,s:s}", "error", why, "code", code);

	if (doc == NULL)
		abort();
	refusal_log_peer(peer, why);
	nd_http_reply(req, status, doc);
}

/* Take s off the list of held polls. */
static void
nd_http_unhold(struct notifyd *nd, struct nd_slot *s)
{
	if (s->poll == NULL)
		return;
	if (s->poll_prev != NULL)
		s->poll_prev->poll_next = s->poll_next;
	else
		nd->polls = s->poll_next;
	if (s->poll_next != NULL)
		s->poll_next->poll_prev = s->poll_prev;
	s->poll_prev = s->poll_next = NULL;
	s->poll = NULL;
	s->poll_conn = NULL;
}

/* The answer of a poll: frames (stolen), the client's tasks. */
static void
nd_http_send(struct notifyd *nd, struct evhttp_request *req, json_t *frames)
{
	json_t *doc = json_pack("{s:s,s:s,s:I,s:o}", "format", NOTIFY_FORMAT,
	    "server", nd->server, "poll",
	    (json_int_t)conf_int(*nd->cfp, "notifyd", "poll_seconds"), "frames",
	    frames);

	if (doc == NULL)
		abort();
	nd_http_reply(req, 200, doc);
}

/* Answer s's held poll empty. */
static void
nd_http_release(struct notifyd *nd, struct nd_slot *s)
{
	struct evhttp_request *req = s->poll;
	json_t *none = json_array();

	if (none == NULL)
		abort();
	nd_http_unhold(nd, s);
	nd_http_send(nd, req, none);
}

void
nd_http_answer(struct notifyd *nd, struct nd_slot *s)
{
	struct evhttp_request *req = s->poll;

	if (req == NULL)
		return;
	nd_http_unhold(nd, s);
	nd_http_send(nd, req, nd_push_frames(nd, s));
}

/* nginx closed the connection of a held poll: the client went. */
static void
nd_http_closed(struct evhttp_connection *evcon, void *arg)
{
	struct nd_slot *s = arg;
	struct notifyd *nd = s->poll_nd;

	if (s->poll_conn == evcon)
		nd_http_unhold(nd, s);
}

/* The client of the certificate in req; NULL after a refusal. */
static struct nd_slot *
nd_http_client(struct notifyd *nd, struct evhttp_request *req, const char *peer)
{
	const char *esc = evhttp_find_header(
	    evhttp_request_get_input_headers(req), ND_HTTP_CERT_HEADER);
	char fp[X509_FINGERPRINT_LEN], err[256], why[512], *pem;
	const char *guid;
	size_t n = 0;

	if (esc == NULL || *esc == '\0') {
		nd_http_refuse(
		    req, 401, "no-certificate", "no client certificate", peer);
		return NULL;
	}
	if ((pem = evhttp_uridecode(esc, 0, &n)) == NULL ||
	    x509_pem_fingerprint(pem, n, fp, err, sizeof(err)) == -1) {
		free(pem);
		nd_http_refuse(req, 401, "no-certificate",
		    "the client certificate cannot be read", peer);
		return NULL;
	}
	free(pem);
	if (!nd->acc.loaded || (guid = nd_accept_guid(nd, fp)) == NULL) {
		snprintf(why, sizeof(why),
		    "certificate %s is not that of a registered, approved, "
		    "unblocked client",
		    fp);
		nd->n.refused++;
		nd_http_refuse(req, 403, "unregistered", why, peer);
		return NULL;
	}
	return nd_slot_get(nd, guid, true);
}

/* The client's frames in the body; 0, or -1 with why. */
static int
nd_http_frames(struct notifyd *nd, struct nd_slot *s,
    struct evhttp_request *req, char *why, size_t len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in), i;
	json_t *doc, *frames;
	int rc;
	const char *text;
	struct notify_frame f;

	if (n == 0)
		return 0;
	if ((text = (const char *)evbuffer_pullup(in, -1)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if ((doc = sjson_parse(text, n, why, len)) == NULL)
		return -1;
	if (sjson_format(doc, NOTIFY_FORMAT, why, len) == -1 ||
	    sjson_array(doc, "frames", ND_HTTP_MAX_FRAMES, true, &frames, why,
	        len) == -1) {
		json_decref(doc);
		return -1;
	}
	for (i = 0; i < json_array_size(frames); i++) {
		if (notify_frame_check(
		        json_array_get(frames, i), &f, why, len) == -1)
			break;
		if (f.type == NOTIFY_KEEPALIVE)
			continue;
		if (f.type != NOTIFY_RECEIVED && f.type != NOTIFY_RESULT) {
			snprintf(why, len, "a client sent a \"%s\" frame",
			    notify_type_name(f.type));
			break;
		}
		nd_push_client_frame(nd, s, &f);
	}
	rc = i == json_array_size(frames) ? 0 : -1;
	json_decref(doc); /* frames with it */
	return rc;
}

static void
nd_http_poll(struct evhttp_request *req, void *arg)
{
	struct notifyd *nd = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char peer[80] = "?", why[512];
	char *host = NULL;
	ev_uint16_t port = 0;
	double now = clock_mono();
	struct nd_slot *s;
	json_t *err, *frames;

	if (evcon != NULL) {
		evhttp_connection_get_peer(evcon, &host, &port);
		snprintf(peer, sizeof(peer), "%s:%u (HTTP)", host ? host : "?",
		    port);
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	if (nd->stopping) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	if ((s = nd_http_client(nd, req, peer)) == NULL)
		return;
	if (nd_http_frames(nd, s, req, why, sizeof(why)) == -1) {
		nd->n.closed_bad++;
		log_warn(
		    "refusing a poll of %s from %s: %s", s->guid, peer, why);
		if ((err = json_pack("{s:s,s:s}", "error", why, "code",
		         "bad-request")) == NULL)
			abort();
		nd_http_reply(req, 400, err);
		return;
	}
	if (!nd_http_online(nd, s))
		s->http_since_us = clock_now_us();
	s->http_seen = now;
	/* a client polls once at a time: an older poll is answered empty */
	if (s->poll != NULL)
		nd_http_release(nd, s);
	frames = nd_push_frames(nd, s);
	if (json_array_size(frames) > 0) {
		nd_http_send(nd, req, frames);
		return;
	}
	json_decref(frames);
	s->poll = req;
	s->poll_conn = evcon;
	s->poll_nd = nd;
	s->poll_deadline =
	    now + (double)conf_int(*nd->cfp, "notifyd", "poll_seconds");
	s->poll_next = nd->polls;
	if (nd->polls != NULL)
		nd->polls->poll_prev = s;
	nd->polls = s;
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, nd_http_closed, s);
}

bool
nd_http_online(const struct notifyd *nd, const struct nd_slot *s)
{
	double window;

	if (s->poll != NULL)
		return true;
	if (s->http_seen == 0)
		return false;
	window = (double)conf_int(*nd->cfp, "notifyd", "poll_seconds") +
	    (double)conf_int(*nd->cfp, "notifyd", "grace_seconds");
	return clock_mono() - s->http_seen <= window;
}

void
nd_http_tick(struct notifyd *nd)
{
	double now = clock_mono();

	for (struct nd_slot *s = nd->polls, *next; s != NULL; s = next) {
		next = s->poll_next;
		if (now >= s->poll_deadline)
			nd_http_release(nd, s);
	}
}

int
nd_http_start(struct notifyd *nd, const struct conf *cf)
{
	const char *listen = conf_str(cf, "notifyd", "http_listen");
	char addr[256];
	const char *colon = strrchr(listen, ':');
	long port;
	char *end;

	if (*listen == '\0')
		return 0;
	if (colon == NULL || colon == listen ||
	    (size_t)(colon - listen) >= sizeof(addr) ||
	    (port = strtol(colon + 1, &end, 10)) <= 0 || port > 65535 ||
	    *end != '\0') {
		log_error("cannot listen on \"%s\" for HTTP: not ADDRESS:PORT",
		    listen);
		return -1;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)(colon - listen), listen);
	if ((nd->http = evhttp_new(nd->base)) == NULL) {
		log_error("could not serve HTTP: out of memory");
		return -1;
	}
	evhttp_set_max_body_size(nd->http, ND_HTTP_MAX_BODY);
	evhttp_set_allowed_methods(nd->http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
	/* a held poll is answered by the server's timer, not a timeout */
	evhttp_set_timeout(nd->http, 3600);
	if (evhttp_set_cb(nd->http, ND_HTTP_PATH, nd_http_poll, nd) != 0 ||
	    evhttp_bind_socket_with_handle(nd->http, addr, (ev_uint16_t)port) ==
	        NULL) {
		log_error("could not listen on %s for HTTP: %m", listen);
		evhttp_free(nd->http);
		nd->http = NULL;
		return -1;
	}
	return 0;
}

void
nd_http_stop(struct notifyd *nd)
{
	while (nd->polls != NULL)
		nd_http_release(nd, nd->polls);
}
