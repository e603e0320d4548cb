/*
 * tls_idle_clients - hold N idle TLS 1.3 connections to a server, for
 * measuring what each costs the server (notify_bench): the baselines'
 * clients, a bare TLS server's and mosquitto's.
 *
 *   usage: tls_idle_clients HOST:PORT N none|mqtt [FIRST_SOURCE]
 *
 * Connections come from the loopback source addresses FIRST_SOURCE
 * (default 127.0.0.2) and the next ones, 20,000 from each, at most 256
 * handshakes at a time, with TCP_NODELAY. "mqtt" sends an MQTT 3.1.1
 * CONNECT (a client id of its own per connection, keep-alive off) and
 * waits for the CONNACK. When all are up (or failed), it prints
 * "ready N failed F" and holds them until SIGTERM or stdin closes. One
 * process holds at most 19,000 (the open files here are capped at
 * 20,000); run several for more.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 19000
#define IN_FLIGHT 256
#define PER_SOURCE 20000
#define DEADLINE_SECONDS 120

enum phase { CONNECTING, HANDSHAKE, MQTT_WAIT, READY, FAILED };

struct conn {
	SSL *ssl;
	int fd;
	enum phase phase;
	int got; /* CONNACK bytes read */
};

static struct conn conns[MAX_CONNS];
static volatile sig_atomic_t stopping;
static int ep, mqtt, ready, failed, started, total;
static struct sockaddr_in server, source;
static SSL_CTX *ctx;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
done(struct conn *c, enum phase p)
{
	c->phase = p;
	if (p == READY)
		ready++;
	else {
		failed++;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
}

/* Open connection i from its source address. */
static int
open_one(int i)
{
	struct conn *c = &conns[i];
	struct sockaddr_in from = source;
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
	int one = 1;

	from.sin_addr.s_addr =
	    htonl(ntohl(source.sin_addr.s_addr) + (uint32_t)(i / PER_SOURCE));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    bind(c->fd, (struct sockaddr *)&from, sizeof(from)) == -1 ||
	    (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) == -1 &&
	        errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		if (c->fd != -1)
			close(c->fd);
		c->phase = FAILED;
		failed++;
		return -1;
	}
	c->phase = CONNECTING;
	return 0;
}

/* An MQTT 3.1.1 CONNECT with client id "bench-i", keep-alive off. */
static int
send_connect(struct conn *c, int i)
{
	unsigned char p[64];
	char id[24];
	int n = snprintf(id, sizeof(id), "bench-%d", i), len = 10 + 2 + n;

	p[0] = 0x10;
	p[1] = (unsigned char)len;
	memcpy(p + 2, "\0\4MQTT\4\2\0\0", 10);
	p[12] = 0;
	p[13] = (unsigned char)n;
	memcpy(p + 14, id, (size_t)n);
	return SSL_write(c->ssl, p, 2 + len) == 2 + len ? 0 : -1;
}

static void
want(struct conn *c, int i, int err)
{
	struct epoll_event ev = {
		.events = err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN,
		.data.u32 = (uint32_t)i
	};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Move connection i on as far as it goes. */
static void
step(int i)
{
	struct conn *c = &conns[i];
	unsigned char buf[64];
	int rc, err = 0;
	socklen_t len = sizeof(err);

	if (c->phase == CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err != 0) {
			done(c, FAILED);
			return;
		}
		c->ssl = SSL_new(ctx);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_connect_state(c->ssl);
		c->phase = HANDSHAKE;
	}
	if (c->phase == HANDSHAKE) {
		if ((rc = SSL_do_handshake(c->ssl)) != 1) {
			err = SSL_get_error(c->ssl, rc);
			if (err == SSL_ERROR_WANT_READ ||
			    err == SSL_ERROR_WANT_WRITE) {
				want(c, i, err);
				return;
			}
			ERR_clear_error();
			{
				done(c, FAILED);
				return;
			}
		}
		if (!mqtt) {
			want(c, i, SSL_ERROR_WANT_READ);
			{
				done(c, READY);
				return;
			}
		}
		if (send_connect(c, i) == -1) {
			done(c, FAILED);
			return;
		}
		c->phase = MQTT_WAIT;
	}
	while (c->phase == MQTT_WAIT || c->phase == READY) {
		rc = SSL_read(c->ssl, buf, sizeof(buf));
		if (rc <= 0) {
			err = SSL_get_error(c->ssl, rc);
			if (err == SSL_ERROR_WANT_READ ||
			    err == SSL_ERROR_WANT_WRITE) {
				want(c, i, err);
				return;
			}
			ERR_clear_error();
			if (c->phase == READY)
				ready--;
			{
				done(c, FAILED);
				return;
			}
		}
		if (c->phase == MQTT_WAIT && (c->got += rc) >= 4)
			done(c, READY);
	}
}

static int
parse_addr(const char *s, struct sockaddr_in *sa, int port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)(colon ? atoi(colon + 1) : port));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void
run(void)
{
	struct epoll_event evs[256];
	time_t deadline = time(NULL) + DEADLINE_SECONDS;
	int n;

	while (!stopping && ready + failed < total && time(NULL) < deadline) {
		while (started < total && started - ready - failed < IN_FLIGHT)
			open_one(started++);
		n = epoll_wait(ep, evs, 256, 1000);
		for (int i = 0; i < n; i++)
			step((int)evs[i].data.u32);
	}
	printf("ready %d failed %d\n", ready, total - ready);
	fflush(stdout);
	/* hold until told to stop; answer what the servers send */
	while (!stopping) {
		struct pollfd in = { .fd = 0, .events = POLLIN };
		char b;

		if (poll(&in, 1, 0) == 1 && read(0, &b, 1) <= 0)
			break;
		n = epoll_wait(ep, evs, 256, 500);
		for (int i = 0; i < n; i++)
			step((int)evs[i].data.u32);
	}
}

int
main(int argc, char **argv)
{
	if (argc < 4 || (total = atoi(argv[2])) < 1 || total > MAX_CONNS ||
	    parse_addr(argv[1], &server, 0) == -1 ||
	    parse_addr(argc > 4 ? argv[4] : "127.0.0.2", &source, 0) == -1 ||
	    (strcmp(argv[3], "none") != 0 && strcmp(argv[3], "mqtt") != 0)) {
		fprintf(stderr,
		    "usage: tls_idle_clients HOST:PORT N "
		    "none|mqtt [FIRST_SOURCE]  (N <= 19000)\n");
		return 2;
	}
	mqtt = strcmp(argv[3], "mqtt") == 0;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || (ep = epoll_create1(0)) == -1)
		return 1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	run();
	return 0;
}
