/*
 * conn.c - one client connection: the handshake, hello, the frames in,
 * keepalive and grace, and the close
 *
 * Each connection is its socket, its SSL and one libevent event, and
 * nothing else while idle: no buffer is kept (SSL_MODE_RELEASE_BUFFERS,
 * and out is freed once written). OpenSSL bufferevents cost 1.3 KB more
 * per connection, as much as the whole of what mosquitto adds to a bare
 * OpenSSL server (bench/notify.sh). Reads are level-triggered; a write
 * that the socket cannot take at once waits in out, with the event asking
 * for EV_WRITE until it is gone. Timeouts are checked by nd_conn_sweep
 * once a second rather than by a timer per connection.
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "notifyd.h"
#include "refusal_log.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/log.h"

/* TCP keepalive finds a peer that vanished: idle, interval, probes */
#define ND_TCP_IDLE 120
#define ND_TCP_INTVL 30
#define ND_TCP_CNT 4
#define ND_READ_TURNS 16 /* records read per event: one client can't hog */

static void nd_conn_cb(evutil_socket_t fd, short what, void *arg);

static void
nd_conn_unlink(struct notifyd *nd, struct nd_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		nd->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	nd->nconns--;
}

void
nd_conn_pace(struct notifyd *nd)
{
	size_t limit = (size_t)conf_int(*nd->cfp, "notifyd", "handshakes");
	/* nor before the accepted clients are known: a client would be
	 * refused that a second later is accepted */
	bool full = !nd->acc.loaded || nd->nconns - nd->nready >= limit;

	if (nd->stopping || full == nd->paced)
		return;
	nd->paced = full;
	if (full)
		evconnlistener_disable(nd->listener);
	else
		evconnlistener_enable(nd->listener);
}

void
nd_conn_close(struct nd_conn *c, const char *why)
{
	struct notifyd *nd = c->nd;

	if (why != NULL)
		log_info("closed the connection of %s from %s: %s",
		    c->ready ? c->guid : "a client", c->addr, why);
	if (c->slot != NULL && c->slot->conn == c)
		c->slot->conn = NULL;
	if (c->ready)
		nd->nready--;
	nd_conn_unlink(nd, c);
	nd_conn_pace(nd);
	if (c->ev != NULL)
		event_free(c->ev);
	SSL_free(c->ssl);
	close(c->fd);
	buf_free(&c->out);
	free(c->failed);
	notify_decoder_free(&c->dec);
	free(c);
}

/* What OpenSSL says of a failed call, or the socket's error. */
static void
nd_conn_why(int err, char *why, size_t len)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, len, "TLS: %s", buf);
		ERR_clear_error();
	} else if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(why, len, "%s", strerror(errno));
	else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)
		snprintf(why, len, "the client closed it");
	else
		snprintf(why, len, "the connection failed");
}

/* A write failed (why): c is closed by its event callback, never under
 * the caller, who may be walking the connections. */
static void
nd_conn_fail(struct nd_conn *c, const char *why)
{
	if (c->failed == NULL && (c->failed = strdup(why)) == NULL)
		abort();
	event_active(c->ev, EV_WRITE, 1);
}

/* Ask for EV_WRITE, or no longer; 0, or -1 with c failed. */
static int
nd_conn_want(struct nd_conn *c, bool write)
{
	short what = EV_READ | EV_PERSIST | (write ? EV_WRITE : 0);

	if (c->writing == write)
		return 0;
	c->writing = write;
	if (event_del(c->ev) == -1 ||
	    event_assign(c->ev, c->nd->base, c->fd, what, nd_conn_cb, c) ==
	        -1 ||
	    event_add(c->ev, NULL) == -1) {
		nd_conn_fail(c, "could not wait for its socket");
		return -1;
	}
	return 0;
}

/* Write what c->out holds; 0, or -1 with c failed. */
static int
nd_conn_flush(struct nd_conn *c)
{
	char why[512];
	int n, err;

	while (c->out.len > 0) {
		ERR_clear_error();
		n = SSL_write(c->ssl, c->out.p,
		    c->out.len > INT_MAX ? INT_MAX : (int)c->out.len);
		if (n > 0) {
			/* with its NUL, as a buf always is */
			memmove(
			    c->out.p, c->out.p + n, c->out.len - (size_t)n + 1);
			c->out.len -= (size_t)n;
			continue;
		}
		err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)
			return nd_conn_want(c, err == SSL_ERROR_WANT_WRITE);
		nd_conn_why(err, why, sizeof(why));
		nd_conn_fail(c, why);
		return -1;
	}
	buf_free(&c->out); /* nothing kept while idle */
	return nd_conn_want(c, false);
}

void
nd_conn_send_raw(struct nd_conn *c, const struct buf *frame)
{
	if (c->closing || c->failed != NULL)
		return;
	/* in order: after what waits; written now if nothing does */
	buf_add(&c->out, frame->p, frame->len);
	if (c->out.len == frame->len)
		nd_conn_flush(c);
}

int
nd_conn_send(struct nd_conn *c, const json_t *doc)
{
	struct buf b = { 0 };
	char why[256];

	if (notify_frame_encode(doc, &b, why, sizeof(why)) == -1) {
		log_error("could not encode a frame to %s: %s", c->addr, why);
		return -1;
	}
	nd_conn_send_raw(c, &b);
	buf_free(&b);
	return 0;
}

/* The close of a protocol error: once, at warning, with the reason. */
static void
nd_conn_bad(struct nd_conn *c, const char *why)
{
	c->nd->n.closed_bad++;
	log_warn("closing the connection of %s from %s: %s",
	    c->ready ? c->guid : "a client", c->addr, why);
	nd_conn_close(c, NULL);
}

/* The connection ended or failed (why): closed; -1. */
static int
nd_conn_lost(struct nd_conn *c, const char *why)
{
	if (c->closing)
		nd_conn_close(c, NULL);
	else if (c->ready)
		nd_conn_close(c, why);
	else {
		/* a refused certificate was logged by the verify callback */
		if (!c->refused)
			refusal_log_peer(c->addr, why);
		nd_conn_close(c, NULL);
	}
	return -1;
}

/* One frame from the client; 0, or -1 when c was closed. */
static int
nd_conn_frame(struct nd_conn *c, struct notify_frame *f)
{
	struct notifyd *nd = c->nd;
	char why[128];
	json_t *pong;

	switch (f->type) {
	case NOTIFY_KEEPALIVE:
		if ((pong = json_pack("{s:s}", "type", "pong")) == NULL)
			abort();
		nd_conn_send(c, pong);
		json_decref(pong);
		return 0;
	case NOTIFY_RECEIVED:
		nd->n.received++;
		nd_bgb_event(nd, f->task, c->guid, "received", NULL);
		nd_push_received(nd, c->slot, f->task);
		return 0;
	case NOTIFY_RESULT:
		nd->n.results++;
		nd_bgb_event(nd, f->task, c->guid, "result", f);
		/* a result is a receipt too, if that was lost */
		nd_push_received(nd, c->slot, f->task);
		return 0;
	default:
		snprintf(why, sizeof(why), "a client sent a \"%s\" frame",
		    notify_type_name(f->type));
		nd_conn_bad(c, why);
		return -1;
	}
}

/* The frames in data (len bytes); 0, or -1 when c was closed. */
static int
nd_conn_decode(struct nd_conn *c, const unsigned char *data, size_t len)
{
	struct notify_frame f;
	char why[512];
	size_t used;
	int rc;

	/* bounded: each turn takes at least one byte */
	while (len > 0 && !c->closing) {
		rc = notify_decode(
		    &c->dec, data, len, &used, &f, why, sizeof(why));
		data += used;
		len -= used;
		if (rc == -1) {
			nd_conn_bad(c, why);
			return -1;
		}
		if (rc == 1) {
			rc = nd_conn_frame(c, &f);
			notify_frame_clear(&f);
			if (rc == -1)
				return -1;
		}
	}
	return 0;
}

/* Read what has come (a bounded number of records: level-triggered, the
 * rest is read at the next turn); 0, or -1 when c was closed. */
static int
nd_conn_input(struct nd_conn *c)
{
	unsigned char data[16384]; /* a whole TLS record: none left inside */
	char why[512];
	int n, err;

	for (int turn = 0; turn < ND_READ_TURNS; turn++) {
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_read(c->ssl, data, sizeof(data))) > 0) {
			c->last_in = clock_mono();
			if (nd_conn_decode(c, data, (size_t)n) == -1)
				return -1;
			continue;
		}
		err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			return 0;
		if (err == SSL_ERROR_WANT_WRITE) {
			nd_conn_want(c, true); /* failed: closed at once */
			return 0;
		}
		nd_conn_why(err, why, sizeof(why));
		return nd_conn_lost(c, why);
	}
	return 0;
}

/* The handshake is done: the client is online. */
static void
nd_conn_ready(struct nd_conn *c)
{
	struct notifyd *nd = c->nd;
	const struct conf *cf = *nd->cfp;
	long long keepalive = conf_int(cf, "notifyd", "keepalive_seconds");
	long long grace = conf_int(cf, "notifyd", "grace_seconds");
	json_t *hello;

	c->slot = nd_slot_get(nd, c->guid, true);
	if (c->slot->conn != NULL)
		nd_conn_close(c->slot->conn, "the client connected again");
	c->slot->conn = c;
	c->ready = true;
	c->since_us = clock_now_us();
	nd->nready++;
	nd_conn_pace(nd);
	nd->n.accepted++;
	c->last_in = clock_mono();
	hello = json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "hello", "format",
	    NOTIFY_FORMAT, "server", nd->server, "keepalive", keepalive,
	    "grace", grace);
	if (hello == NULL)
		abort();
	nd_conn_send(c, hello);
	json_decref(hello);
	log_debug("client %s connected from %s%s", c->guid, c->addr,
	    SSL_session_reused(c->ssl) ? " (session resumed)" : "");
	nd_push_connected(nd, c);
}

/* The handshake, a step; 1 done (c ready), 0 under way, -1 c closed. */
static int
nd_conn_handshake(struct nd_conn *c)
{
	char why[512];
	int rc, err;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_do_handshake(c->ssl)) == 1) {
		if (c->guid[0] == '\0' && nd_tls_resumed(c, c->ssl) == -1) {
			nd_conn_close(c, NULL);
			return -1;
		}
		nd_conn_ready(c);
		return 1;
	}
	err = SSL_get_error(c->ssl, rc);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		/* if the event can't be changed, c is closed at its next
		 * callback */
		nd_conn_want(c, err == SSL_ERROR_WANT_WRITE);
		return 0;
	}
	nd_conn_why(err, why, sizeof(why));
	return nd_conn_lost(c, why);
}

/* The socket is readable or writable (or c failed). */
static void
nd_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nd_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->failed != NULL) {
		nd_conn_lost(c, c->failed);
		return;
	}
	if (!c->ready && nd_conn_handshake(c) <= 0)
		return;
	if (c->out.len > 0 && nd_conn_flush(c) == -1)
		return; /* failed: this callback again, at once */
	if (c->closing && c->out.len == 0) {
		nd_conn_close(c, NULL);
		return;
	}
	nd_conn_input(c);
}

json_t *
nd_reconnect_frame(int window_seconds)
{
	uint32_t r = 0;
	json_t *bye;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)clock_now_us();
	bye = json_pack("{s:s,s:I}", "type", "reconnect", "after_ms",
	    (json_int_t)(r % ((uint32_t)window_seconds * 1000u)));
	if (bye == NULL)
		abort();
	return bye;
}

void
nd_conn_goodbye(struct nd_conn *c, int window_seconds)
{
	json_t *bye;

	if (!c->ready) {
		nd_conn_close(c, NULL);
		return;
	}
	bye = nd_reconnect_frame(window_seconds);
	nd_conn_send(c, bye);
	json_decref(bye);
	c->closing = true;
	/* closed by its callback once the goodbye is written */
	event_active(c->ev, EV_WRITE, 1);
}

void
nd_conn_sweep(struct notifyd *nd)
{
	const struct conf *cf = *nd->cfp;
	double now = clock_mono();
	double idle = (double)(conf_int(cf, "notifyd", "keepalive_seconds") +
	    conf_int(cf, "notifyd", "grace_seconds"));

	for (struct nd_conn *c = nd->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		if (!c->ready && now - c->last_in > ND_HANDSHAKE_SECONDS) {
			refusal_log_peer(
			    c->addr, "the handshake took too long");
			nd_conn_close(c, NULL);
		} else if (c->ready && now - c->last_in > idle) {
			nd->n.gone++;
			nd_conn_close(c,
			    "no keepalive within the interval and its grace: "
			    "counted gone");
		}
	}
}

/* The peer's address as "ADDR:PORT", or "[ADDR6]:PORT". */
static void
nd_conn_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	} else
		snprintf(out, len, "?");
}

/* TCP_NODELAY, and TCP keepalive for dead peers; failures only logged. */
static void
nd_conn_socket(evutil_socket_t fd, const char *addr)
{
	int one = 1, idle = ND_TCP_IDLE, intvl = ND_TCP_INTVL, cnt = ND_TCP_CNT;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ==
	        -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ==
	        -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) == -1)
		log_warn("could not set the socket options of %s: %m", addr);
}

void
nd_conn_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct notifyd *nd = arg;
	struct nd_conn *c;

	(void)l;
	(void)socklen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("could not accept a connection: out of memory");
		close(fd);
		return;
	}
	c->nd = nd;
	c->fd = fd;
	c->last_in = clock_mono();
	nd_conn_addr(sa, c->addr, sizeof(c->addr));
	notify_decoder_init(&c->dec);
	nd_conn_socket(fd, c->addr);
	if ((c->ssl = SSL_new(nd->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1 ||
	    (c->ev = event_new(
	         nd->base, fd, EV_READ | EV_PERSIST, nd_conn_cb, c)) == NULL ||
	    event_add(c->ev, NULL) == -1) {
		log_error("could not accept a connection from %s: out of "
		          "memory",
		    c->addr);
		if (c->ev != NULL)
			event_free(c->ev);
		SSL_free(c->ssl);
		close(fd);
		free(c);
		ERR_clear_error();
		return;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	c->next = nd->conns;
	if (nd->conns != NULL)
		nd->conns->prev = c;
	nd->conns = c;
	nd->nconns++;
	nd_conn_pace(nd);
}
