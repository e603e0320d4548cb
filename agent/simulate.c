/*
 * simulate.c - sitesys-agent simulate: many notification clients in one
 * process, for load (make bench). Each has its own key and certificate,
 * registered with the site like an agent's; they connect from several
 * loopback source addresses, answer every task with a receipt and a
 * result at once, keep their TLS session to resume it, and come back
 * after the delay a stopping server gives them, or with the agent's
 * jittered back-off when a connection fails. One libevent loop holds
 * them all; run several processes for more than one may hold open.
 *
 *   simulate make DIR N      identities for N clients in DIR (kept: only
 *                            what is missing is made)
 *   simulate run DIR HOST:PORT CA [FIRST N SOURCE NSOURCES]
 *
 * make writes DIR/clients.copy, the clients' rows for COPY client (guid,
 * name, fingerprint, certificate, approved), and DIR/keys, their keys.
 * run prints on standard output, for the benchmark to read:
 *   connected N resumed R at US     all N up (R of the handshakes resumed)
 *   task T received N at US         every client up has received task T
 * and runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "notify_frame.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/evloop.h"
#include "util/log.h"
#include "util/x509.h"

#define SIM_MAX_CLIENTS 19000 /* one process; open files are capped */
#define SIM_CAP_MS 60000 /* the back-off's cap */
#define SIM_CONNECTING 512 /* handshakes in flight at once */

struct sim;

struct sim_client {
	struct sim *sim;
	char guid[STATEMSG_GUID_LEN + 1];
	EVP_PKEY *key;
	X509 *cert;
	SSL_SESSION *sess; /* the last ticket, to resume with */
	struct bufferevent *bev;
	struct notify_decoder dec;
	struct event *retry;
	struct event *retry_io; /* the TCP connection under way */
	unsigned failures;
	bool up, waiting; /* hello seen; waiting to connect */
	long long last_task;
};

struct sim {
	struct event_base *base;
	SSL_CTX *ctx;
	struct sockaddr_in server;
	struct in_addr source;
	int nsources;
	struct sim_client *c;
	int n, nup, connecting, resumed;
	bool all_up;
	long long task; /* the newest task seen */
	int task_received;
	struct event *sig_term, *sig_int, *tick;
	int *queue; /* clients waiting for a handshake slot */
	int qhead, qtail;
};

static void sim_connect(struct sim_client *c);

static uint32_t
sim_rnd(void *ctx, uint32_t n)
{
	uint32_t r = 0;

	(void)ctx;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)clock_now_us();
	return n ? r % n : 0;
}

static int64_t
wall_us(void)
{
	return clock_now_us();
}

/* ---- identities ---- */

/* Make client i's key and certificate; its COPY row and key line. */
static int
make_one(FILE *rows, FILE *keys)
{
	char guid[STATEMSG_GUID_LEN + 1], err[256], fp[X509_FINGERPRINT_LEN];
	struct x509_subject subj = { .ou = "sitesys-agent", .days = 3650 };
	EVP_PKEY *key;
	X509 *cert;
	unsigned char *der = NULL;
	char *pem;
	int len;

	if (msg_new_guid(guid) == -1 ||
	    (key = x509_key_new(err, sizeof(err))) == NULL)
		return -1;
	subj.cn = guid;
	if ((cert = x509_cert_make(&subj, key, NULL, NULL, err, sizeof(err))) ==
	    NULL) {
		EVP_PKEY_free(key);
		return -1;
	}
	x509_fingerprint(cert, fp);
	pem = x509_cert_pem(cert);
	len = i2d_PrivateKey(key, &der);
	if (pem == NULL || len <= 0) {
		free(pem);
		X509_free(cert);
		EVP_PKEY_free(key);
		return -1;
	}
	fprintf(rows, "%s\tsim-%s\t%s\t", guid, guid + 5, fp);
	for (const char *p = pem; *p; p++)
		fputs(*p == '\n' ? "\\n" : (char[]){ *p, 0 }, rows);
	fputs("\tt\n", rows);
	for (int i = 0; i < len; i++)
		fprintf(keys, "%02x", der[i]);
	fputc('\n', keys);
	OPENSSL_free(der);
	free(pem);
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

/* The number of lines of path (0 if it does not exist). */
static long
count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	long n = 0;
	int ch;

	if (fp == NULL)
		return 0;
	while ((ch = getc(fp)) != EOF)
		n += ch == '\n';
	fclose(fp);
	return n;
}

static int
sim_make(const char *dir, long n)
{
	char rows_path[4096], keys_path[4096];
	FILE *rows, *keys;
	long have;

	snprintf(rows_path, sizeof(rows_path), "%s/clients.copy", dir);
	snprintf(keys_path, sizeof(keys_path), "%s/keys", dir);
	have = count_lines(keys_path);
	if (count_lines(rows_path) != have) {
		fprintf(stderr, "simulate: %s and %s differ; remove both\n",
		    rows_path, keys_path);
		return 1;
	}
	if ((rows = fopen(rows_path, "a")) == NULL ||
	    (keys = fopen(keys_path, "a")) == NULL) {
		fprintf(stderr, "simulate: could not open %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	for (long i = have; i < n; i++)
		if (make_one(rows, keys) == -1) {
			fprintf(stderr, "simulate: could not make a key\n");
			return 1;
		}
	if (fclose(rows) != 0 || fclose(keys) != 0) {
		fprintf(stderr, "simulate: could not write %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	printf("identities %ld (%ld new) in %s\n", n > have ? n : have,
	    n > have ? n - have : 0, dir);
	return 0;
}

/* Client c's identity from its COPY row (guid, name, fingerprint,
 * certificate with its newlines escaped, approved) and its key line. */
static int
load_one(struct sim_client *c, char *row, const char *keyhex)
{
	unsigned char der[512];
	const unsigned char *p = der;
	char *field[5], *save = NULL, *w, *pem;
	size_t n = strlen(keyhex) / 2;
	BIO *bio;

	for (int i = 0; i < 5; i++)
		if ((field[i] = strtok_r(i ? NULL : row, "\t\n", &save)) ==
		    NULL)
			return -1;
	if (strlen(field[0]) != STATEMSG_GUID_LEN || n > sizeof(der))
		return -1;
	memcpy(c->guid, field[0], STATEMSG_GUID_LEN + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(keyhex + 2 * i, "%2x", &v) != 1)
			return -1;
		der[i] = (unsigned char)v;
	}
	if ((c->key = d2i_AutoPrivateKey(NULL, &p, (long)n)) == NULL)
		return -1;
	for (pem = w = field[3]; *pem != '\0'; pem++, w++)
		if (pem[0] == '\\' && pem[1] == 'n') {
			*w = '\n';
			pem++;
		} else
			*w = *pem;
	*w = '\0';
	bio = BIO_new_mem_buf(field[3], -1);
	c->cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	return c->cert ? 0 : -1;
}

/* Clients first..first+n-1 of dir. */
static int
sim_load(struct sim *s, const char *dir, long first)
{
	char rows_path[4096], keys_path[4096], row[4096], key[1024];
	FILE *rows, *keys;
	int got = 0;

	snprintf(rows_path, sizeof(rows_path), "%s/clients.copy", dir);
	snprintf(keys_path, sizeof(keys_path), "%s/keys", dir);
	if ((rows = fopen(rows_path, "r")) == NULL ||
	    (keys = fopen(keys_path, "r")) == NULL) {
		fprintf(stderr,
		    "simulate: no identities in %s (simulate "
		    "make)\n",
		    dir);
		return -1;
	}
	for (long i = 0; got < s->n && fgets(row, sizeof(row), rows) &&
	     fgets(key, sizeof(key), keys);
	     i++) {
		if (i < first)
			continue;
		key[strcspn(key, "\n")] = '\0';
		s->c[got].sim = s;
		if (load_one(&s->c[got], row, key) == -1) {
			fprintf(stderr, "simulate: identity %ld is bad\n", i);
			break;
		}
		got++;
	}
	fclose(rows);
	fclose(keys);
	if (got < s->n) {
		fprintf(stderr, "simulate: %d identities from %ld, %d wanted\n",
		    got, first, s->n);
		return -1;
	}
	return 0;
}

/* ---- connections ---- */

/* Send the frames of docs (n of them, each freed) in one write: one TLS
 * record, one system call. */
static void
sim_send_n(struct sim_client *c, json_t *docs[], size_t n)
{
	struct buf all = { 0 }, b = { 0 };
	char why[128];

	for (size_t i = 0; i < n; i++) {
		if (notify_frame_encode(docs[i], &b, why, sizeof(why)) == 0)
			buf_add(&all, b.p, b.len);
		buf_free(&b);
		json_decref(docs[i]);
	}
	if (all.len > 0)
		bufferevent_write(c->bev, all.p, all.len);
	buf_free(&all);
}

static void
sim_send(struct sim_client *c, json_t *doc)
{
	sim_send_n(c, &doc, 1);
}

/* Close c's connection; connect again after ms. */
static void
sim_drop(struct sim_client *c, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
		.tv_usec = (ms % 1000) * 1000 };
	struct sim *s = c->sim;

	if (c->bev != NULL) {
		/* as if shut down: OpenSSL makes the session of a connection
		 * freed without close_notify not resumable, and a connection
		 * the server ended is no reason to lose it */
		SSL_set_shutdown(bufferevent_openssl_get_ssl(c->bev),
		    SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (!c->up)
		s->connecting--;
	else
		s->nup--;
	c->up = false;
	s->all_up = false;
	notify_decoder_free(&c->dec);
	evtimer_add(c->retry, &tv);
}

/* The task frame: received at once, then the result, written together. */
static void
sim_task(struct sim_client *c, const struct notify_frame *f)
{
	struct sim *s = c->sim;
	json_t *answer[2] = { json_pack("{s:s,s:I}", "type", "received", "task",
		                  (json_int_t)f->task),
		notify_result(f->task, "succeeded", true, 0, "simulated", 9) };

	if (answer[0] == NULL)
		abort();
	sim_send_n(c, answer, 2);
	if (f->task == c->last_task)
		return; /* pushed again: run once */
	c->last_task = f->task;
	if (f->task > s->task) {
		s->task = f->task;
		s->task_received = 0;
	}
	if (f->task == s->task && ++s->task_received == s->nup)
		printf("task %lld received %d at %lld\n", s->task, s->nup,
		    (long long)wall_us());
}

static void
sim_hello(struct sim_client *c)
{
	struct sim *s = c->sim;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	c->up = true;
	c->failures = 0;
	s->connecting--;
	s->nup++;
	s->resumed += SSL_session_reused(ssl) ? 1 : 0;
	if (s->nup == s->n && !s->all_up) {
		s->all_up = true;
		printf("connected %d resumed %d at %lld\n", s->n, s->resumed,
		    (long long)wall_us());
		fflush(stdout);
		s->resumed = 0;
	}
}

static void
sim_read(struct bufferevent *bev, void *arg)
{
	struct sim_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v;
	struct notify_frame f;
	char why[256];
	size_t used;
	int rc;

	while (c->bev != NULL && evbuffer_get_length(in) > 0 &&
	    evbuffer_peek(in, -1, NULL, &v, 1) >= 1) {
		rc = notify_decode(&c->dec, v.iov_base, v.iov_len, &used, &f,
		    why, sizeof(why));
		evbuffer_drain(in, used);
		if (rc == -1) {
			log_warn("%s: %s", c->guid, why);
			sim_drop(c, sim_rnd(NULL, SIM_CAP_MS));
			return;
		}
		if (rc == 0)
			continue;
		if (f.type == NOTIFY_HELLO && !c->up)
			sim_hello(c);
		else if (f.type == NOTIFY_TASK)
			sim_task(c, &f);
		else if (f.type == NOTIFY_RECONNECT) {
			uint32_t ms = (uint32_t)f.after_ms;

			notify_frame_clear(&f);
			sim_drop(c, ms);
			fflush(stdout);
			return;
		}
		notify_frame_clear(&f);
	}
	fflush(stdout);
}

static void
sim_event(struct bufferevent *bev, short what, void *arg)
{
	struct sim_client *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* up at the hello */
	c->failures++;
	sim_drop(
	    c, notify_backoff_ms(c->failures - 1, SIM_CAP_MS, sim_rnd, NULL));
}

/* Start the handshakes of the clients waiting, SIM_CONNECTING at most. */
static void
sim_pump(struct sim *s)
{
	while (s->connecting < SIM_CONNECTING && s->qhead != s->qtail) {
		struct sim_client *c = &s->c[s->queue[s->qhead]];

		s->qhead = (s->qhead + 1) % (s->n + 1);
		c->waiting = false;
		sim_connect(c);
	}
}

static void
sim_retry(evutil_socket_t fd, short what, void *arg)
{
	struct sim_client *c = arg;
	struct sim *s = c->sim;

	(void)fd;
	(void)what;
	if (c->waiting)
		return;
	c->waiting = true;
	s->queue[s->qtail] = (int)(c - s->c);
	s->qtail = (s->qtail + 1) % (s->n + 1);
	sim_pump(s);
}

static int
sim_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct sim_client *c = SSL_get_app_data(ssl);

	if (c == NULL)
		return 0;
	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1; /* kept */
}

/* A failure before the TLS connection exists: back off and retry. */
static void
sim_failed(struct sim_client *c, int fd)
{
	if (fd != -1)
		close(fd);
	c->failures++;
	sim_drop(
	    c, notify_backoff_ms(c->failures - 1, SIM_CAP_MS, sim_rnd, NULL));
}

/* The TCP connection is made: TLS over it, resuming c's session. */
static void
sim_tcp_done(evutil_socket_t fd, short what, void *arg)
{
	struct sim_client *c = arg;
	struct sim *s = c->sim;
	socklen_t len = sizeof(int);
	int err = 0;
	SSL *ssl;

	(void)what;
	event_free(c->retry_io);
	c->retry_io = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0 || (ssl = SSL_new(s->ctx)) == NULL) {
		sim_failed(c, fd);
		return;
	}
	SSL_set_app_data(ssl, c);
	SSL_use_certificate(ssl, c->cert);
	SSL_use_PrivateKey(ssl, c->key);
	if (c->sess != NULL && SSL_set_session(ssl, c->sess) != 1)
		log_debug("%s: the session cannot be offered", c->guid);
	notify_decoder_init(&c->dec);
	c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		sim_failed(c, fd);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, sim_read, NULL, sim_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
sim_connect(struct sim_client *c)
{
	struct sim *s = c->sim;
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd, one = 1, i = (int)(c - s->c);

	s->connecting++;
	from.sin_addr.s_addr =
	    htonl(ntohl(s->source.s_addr) + (uint32_t)(i % s->nsources));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(
	        fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) == -1 ||
	    (connect(fd, (struct sockaddr *)&s->server, sizeof(s->server)) ==
	            -1 &&
	        errno != EINPROGRESS) ||
	    (c->retry_io = event_new(s->base, fd, EV_WRITE, sim_tcp_done, c)) ==
	        NULL ||
	    event_add(c->retry_io, NULL) == -1) {
		log_debug("could not connect: %m");
		if (c->retry_io != NULL) {
			event_free(c->retry_io);
			c->retry_io = NULL;
		}
		sim_failed(c, fd);
	}
}

static void
sim_stop(evutil_socket_t sig, short what, void *arg)
{
	struct sim *s = arg;

	(void)sig;
	(void)what;
	event_base_loopbreak(s->base);
}

/* Every second: start waiting handshakes; every minute, a keepalive. */
static void
sim_tick(evutil_socket_t fd, short what, void *arg)
{
	static int seconds;
	struct sim *s = arg;

	(void)fd;
	(void)what;
	sim_pump(s);
	if (++seconds % 60 != 0)
		return;
	for (int i = 0; i < s->n; i++)
		if (s->c[i].up)
			sim_send(
			    &s->c[i], json_pack("{s:s}", "type", "keepalive"));
}

static SSL_CTX *
sim_ctx(const char *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_file(ctx, ca) != 1)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(
	    ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, sim_new_session);
	return ctx;
}

static int
sim_run(int argc, char **argv)
{
	struct sim s = { .nsources = 1 };
	struct timeval sec = { .tv_sec = 1 };
	long first = argc > 4 ? atol(argv[4]) : 0;
	int sport;
	char host[64];
	const char *colon = strrchr(argv[2], ':');

	s.n = argc > 5 ? atoi(argv[5]) : SIM_MAX_CLIENTS;
	if (argc > 7)
		s.nsources = atoi(argv[7]);
	if (colon == NULL || (size_t)(colon - argv[2]) >= sizeof(host) ||
	    s.n < 1 || s.n > SIM_MAX_CLIENTS || s.nsources < 1 || first < 0 ||
	    inet_pton(AF_INET, argc > 6 ? argv[6] : "127.0.0.2", &s.source) !=
	        1) {
		fprintf(stderr,
		    "simulate: bad arguments (at most %d clients "
		    "in one process)\n",
		    SIM_MAX_CLIENTS);
		return 2;
	}
	memcpy(host, argv[2], (size_t)(colon - argv[2]));
	host[colon - argv[2]] = '\0';
	sport = atoi(colon + 1);
	s.server.sin_family = AF_INET;
	s.server.sin_port = htons((uint16_t)sport);
	if (inet_pton(AF_INET, host, &s.server.sin_addr) != 1 ||
	    (s.ctx = sim_ctx(argv[3])) == NULL ||
	    (s.base = evloop_new()) == NULL) {
		fprintf(stderr,
		    "simulate: could not start (server %s, CA %s)\n", argv[2],
		    argv[3]);
		return 1;
	}
	if ((s.c = calloc((size_t)s.n, sizeof(*s.c))) == NULL ||
	    (s.queue = calloc((size_t)s.n + 1, sizeof(int))) == NULL)
		abort();
	if (sim_load(&s, argv[1], first) == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	s.sig_term = evsignal_new(s.base, SIGTERM, sim_stop, &s);
	s.sig_int = evsignal_new(s.base, SIGINT, sim_stop, &s);
	s.tick = event_new(s.base, -1, EV_PERSIST, sim_tick, &s);
	evsignal_add(s.sig_term, NULL);
	evsignal_add(s.sig_int, NULL);
	event_add(s.tick, &sec);
	for (int i = 0; i < s.n; i++) {
		s.c[i].retry = evtimer_new(s.base, sim_retry, &s.c[i]);
		sim_retry(-1, 0, &s.c[i]);
	}
	event_base_dispatch(s.base);
	printf("stopped: %d of %d up\n", s.nup, s.n);
	return 0;
}

int
simulate_main(int argc, char **argv)
{
	log_init("sitesys-agent simulate");
	if (argc >= 4 && strcmp(argv[1], "make") == 0)
		return sim_make(argv[2], atol(argv[3]));
	if (argc >= 5 && strcmp(argv[1], "run") == 0)
		return sim_run(argc - 1, argv + 1);
	fprintf(stderr,
	    "usage: sitesys-agent simulate make DIR N\n"
	    "       sitesys-agent simulate run DIR HOST:PORT CA "
	    "[FIRST N SOURCE NSOURCES]\n");
	return 2;
}
