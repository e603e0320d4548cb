/*
 * conn.c - one client connection: the handshake, hello, the frames in,
 * keepalive and grace, and the close
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "notifyd.h"
#include "refusal_log.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/log.h"

/* TCP keepalive finds a peer that vanished: idle, interval, probes */
#define ND_TCP_IDLE 120
#define ND_TCP_INTVL 30
#define ND_TCP_CNT 4

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
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	notify_decoder_free(&c->dec);
	free(c);
}

void
nd_conn_send_raw(struct nd_conn *c, const struct buf *frame)
{
	if (c->closing)
		return;
	if (bufferevent_write(c->bev, frame->p, frame->len) == -1)
		log_error(
		    "could not queue a frame to %s: out of memory", c->addr);
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

static void
nd_conn_read(struct bufferevent *bev, void *arg)
{
	struct nd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v;
	struct notify_frame f;
	char why[512];
	size_t used;
	int rc;

	/* bounded: each turn takes at least one byte of what has come */
	while (!c->closing && evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		rc = notify_decode(&c->dec, v.iov_base, v.iov_len, &used, &f,
		    why, sizeof(why));
		evbuffer_drain(in, used);
		if (rc == -1) {
			nd_conn_bad(c, why);
			return;
		}
		if (rc == 1) {
			rc = nd_conn_frame(c, &f);
			notify_frame_clear(&f);
			if (rc == -1)
				return;
		}
	}
	if (c->closing)
		evbuffer_drain(in, evbuffer_get_length(in));
}

/* The handshake is done: the client is online. */
static void
nd_conn_ready(struct nd_conn *c)
{
	struct notifyd *nd = c->nd;
	const struct conf *cf = *nd->cfp;
	long long keepalive = conf_int(cf, "notifyd", "keepalive_seconds");
	long long grace = conf_int(cf, "notifyd", "grace_seconds");
	struct timeval tv = { .tv_sec = keepalive + grace };
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
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	hello = json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "hello", "format",
	    NOTIFY_FORMAT, "server", nd->server, "keepalive", keepalive,
	    "grace", grace);
	if (hello == NULL)
		abort();
	nd_conn_send(c, hello);
	json_decref(hello);
	log_debug("client %s connected from %s%s", c->guid, c->addr,
	    SSL_session_reused(bufferevent_openssl_get_ssl(c->bev))
	        ? " (session resumed)"
	        : "");
	nd_push_connected(nd, c);
}

/* What OpenSSL says of a failed handshake, or the socket's error. */
static void
nd_conn_why(struct nd_conn *c, char *why, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	int err = EVUTIL_SOCKET_ERROR();

	if (e != 0) {
		char buf[256];

		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, len, "TLS: %s", buf);
		while (bufferevent_get_openssl_error(c->bev) != 0)
			continue;
	} else if (err != 0)
		snprintf(why, len, "%s", evutil_socket_error_to_string(err));
	else
		snprintf(why, len, "the connection failed");
}

static void
nd_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct nd_conn *c = arg;
	char why[512];

	if (what & BEV_EVENT_CONNECTED) {
		if (c->guid[0] == '\0' &&
		    nd_tls_resumed(c, bufferevent_openssl_get_ssl(bev)) == -1) {
			nd_conn_close(c, NULL);
			return;
		}
		nd_conn_ready(c);
		return;
	}
	if (c->closing) {
		nd_conn_close(c, NULL);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (c->ready) {
			c->nd->n.gone++;
			nd_conn_close(c,
			    "no keepalive within the interval "
			    "and its grace: counted gone");
		} else {
			refusal_log_peer(
			    c->addr, "the handshake took too long");
			nd_conn_close(c, NULL);
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		nd_conn_close(c, c->ready ? "the client closed it" : NULL);
		return;
	}
	/* an error: a refused certificate was logged by the callback */
	nd_conn_why(c, why, sizeof(why));
	if (!c->ready && !c->refused)
		refusal_log_peer(c->addr, why);
	nd_conn_close(c, c->ready ? why : NULL);
}

/* Once the goodbye is written, close. */
static void
nd_conn_drained(struct bufferevent *bev, void *arg)
{
	struct nd_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		nd_conn_close(c, NULL);
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
	bufferevent_setcb(
	    c->bev, nd_conn_read, nd_conn_drained, nd_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	nd_conn_drained(c->bev, c);
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
	struct timeval tv = { .tv_sec = ND_HANDSHAKE_SECONDS };
	struct nd_conn *c;
	SSL *ssl;

	(void)l;
	(void)socklen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("could not accept a connection: out of memory");
		evutil_closesocket(fd);
		return;
	}
	c->nd = nd;
	nd_conn_addr(sa, c->addr, sizeof(c->addr));
	notify_decoder_init(&c->dec);
	nd_conn_socket(fd, c->addr);
	if ((ssl = SSL_new(nd->ctx)) == NULL) {
		log_error("could not accept a connection from %s: out of "
		          "memory",
		    c->addr);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	SSL_set_app_data(ssl, c);
	/* deferred callbacks: a write (a pong, a push, the goodbye) never
	 * runs the event callback, which may free c, under its caller */
	c->bev = bufferevent_openssl_socket_new(nd->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		log_error("could not accept a connection from %s: out of "
		          "memory",
		    c->addr);
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->next = nd->conns;
	if (nd->conns != NULL)
		nd->conns->prev = c;
	nd->conns = c;
	nd->nconns++;
	nd_conn_pace(nd);
	bufferevent_setcb(c->bev, nd_conn_read, NULL, nd_conn_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1)
		nd_conn_close(c, "could not enable its events");
}
