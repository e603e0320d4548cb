/*
 * tls_idle_clients - hold N idle TLS 1.3 connections to a server, for
 * measuring what each costs the server (notify_bench): the baselines'
 * clients, a bare TLS server's and mosquitto's.
 *
 *   usage: tls_idle_clients HOST:PORT N MODE [FIRST_SOURCE]
 *
 * Connections come from the loopback source addresses FIRST_SOURCE
 * (default 127.0.0.2) and the next ones, 20,000 from each, at most 256
 * handshakes at a time, with TCP_NODELAY. MODE:
 *   none      TLS, nothing more
 *   mqtt      TLS, then an MQTT 3.1.1 CONNECT (a client id of its own per
 *             connection, keep-alive off), up once the CONNACK is back
 *   mqtt-sub  the same, then SUBSCRIBE to "bench/all", up at the SUBACK
 *   receipt   TLS, and the first message answered with 100 bytes, its
 *             receipt
 *   plain     plain TCP, up once connected
 * When all are up (or failed), it prints "ready N failed F" and holds
 * them until SIGTERM. In mqtt-sub, receipt and plain, the first
 * bytes that come to a connection after it is up are a message: once each
 * connection has had one, it prints "received N at US", the wall-clock
 * time in microseconds when the last came. One
 * process holds at most 19,000 (the open files here are capped at
 * 20,000); run several for more.
 *
 * With CLIENT_CERT and CLIENT_KEY in the environment (PEM files), every
 * connection presents that certificate, for a server that asks for one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
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
	int got; /* bytes read before it was up: CONNACK, SUBACK */
	bool subscribed; /* SUBSCRIBE sent */
	bool message; /* a message came after it was up */
};

static struct conn conns[MAX_CONNS];
static volatile sig_atomic_t stopping;
enum mode { M_NONE, M_MQTT, M_SUB, M_PLAIN, M_RECEIPT };
static const char *const modes[] = { "none", "mqtt", "mqtt-sub", "plain",
	"receipt" };
static enum mode mode;
static int ep, ready, failed, started, total, received;
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

/* SUBSCRIBE to "bench/all" at QoS 0, packet id 1. */
static int
send_subscribe(struct conn *c)
{
	static const unsigned char p[] = { 0x82, 14, 0, 1, 0, 9, 'b', 'e', 'n',
		'c', 'h', '/', 'a', 'l', 'l', 0 };

	return SSL_write(c->ssl, p, sizeof(p)) == (int)sizeof(p) ? 0 : -1;
}

/* A message came to an up connection; the last one prints the time. */
static void
message(struct conn *c)
{
	struct timespec ts;

	static const char answer[100] = "receipt";

	if (c->message)
		return;
	c->message = true;
	if (mode == M_RECEIPT &&
	    SSL_write(c->ssl, answer, sizeof(answer)) != sizeof(answer))
		ERR_clear_error();
	if (++received < ready)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("received %d at %lld\n", received,
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	fflush(stdout);
}

/* What the bytes read so far make of a connection that is not up. */
static void
mqtt_progress(struct conn *c)
{
	if (c->got >= 4 && mode == M_MQTT) {
		done(c, READY);
	} else if (c->got >= 4 && !c->subscribed) {
		c->subscribed = true;
		if (send_subscribe(c) == -1)
			done(c, FAILED);
	}
	if (c->phase == MQTT_WAIT && c->got >= 9)
		done(c, READY);
}

/* Plain TCP: read what comes; a message once up. */
static void
plain_read(struct conn *c)
{
	char buf[256];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		message(c);
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		ready--;
		done(c, FAILED);
	}
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
		if (mode == M_PLAIN) {
			want(c, i, SSL_ERROR_WANT_READ);
			done(c, READY);
			return;
		}
		c->ssl = SSL_new(ctx);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_connect_state(c->ssl);
		c->phase = HANDSHAKE;
	}
	if (mode == M_PLAIN) {
		plain_read(c);
		return;
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
			done(c, FAILED);
			return;
		}
		if (mode == M_NONE || mode == M_RECEIPT) {
			want(c, i, SSL_ERROR_WANT_READ);
			done(c, READY);
			return;
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
			done(c, FAILED);
			return;
		}
		if (c->phase == READY) {
			message(c);
			continue;
		}
		c->got += rc;
		mqtt_progress(c);
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
	/* hold until told to stop; read what the servers send */
	while (!stopping) {
		n = epoll_wait(ep, evs, 256, 500);
		for (int i = 0; i < n; i++)
			step((int)evs[i].data.u32);
	}
}

/* The certificate of CLIENT_CERT and CLIENT_KEY, if set: 0, or -1 */
static int
use_client_cert(void)
{
	const char *cert = getenv("CLIENT_CERT"), *key = getenv("CLIENT_KEY");

	if (cert == NULL || key == NULL)
		return 0;
	if (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	int m = 0;

	while (argc > 3 && m < 5 && strcmp(argv[3], modes[m]) != 0)
		m++;
	if (argc < 4 || (total = atoi(argv[2])) < 1 || total > MAX_CONNS ||
	    parse_addr(argv[1], &server, 0) == -1 ||
	    parse_addr(argc > 4 ? argv[4] : "127.0.0.2", &source, 0) == -1 ||
	    m == 5) {
		fprintf(stderr,
		    "usage: tls_idle_clients HOST:PORT N "
		    "none|mqtt|mqtt-sub|plain|receipt [FIRST_SOURCE]  "
		    "(N <= 19000)\n");
		return 2;
	}
	mode = (enum mode)m;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || (ep = epoll_create1(0)) == -1)
		return 1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (use_client_cert() == -1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	run();
	return 0;
}
