/*
 * tls_idle_server - the floor of what an idle TLS connection costs a
 * server: bare OpenSSL 3 over epoll, TLS 1.3 only, SSL_MODE_RELEASE_BUFFERS
 * (no read or write buffer kept while idle), no client certificate asked,
 * nothing but handshakes and reads that are thrown away. notify_bench
 * measures its memory per connection beside notifyd's and mosquitto's.
 *
 *   usage: tls_idle_server ADDR:PORT CERT KEY [WORKERS [plain|verify]]
 *
 * "verify": each client must present a certificate (any is accepted), as
 * notifyd asks; what holding it in the session costs.
 *
 * On SIGUSR1 every worker writes one 100-byte message to each of its
 * connections, the floor of a push. Over TLS, the first bytes each
 * connection sends back after it are its receipt: once every connection
 * of a worker has sent one, the worker prints "receipts N at US", the
 * wall-clock time in microseconds when the last came.
 *
 * "plain": plain TCP, no TLS (CERT and KEY unused).
 *
 * WORKERS processes (default 1) share the port with SO_REUSEPORT, as
 * notifyd's workers do, each under the 20,000 open files a process may
 * have here. It prints "listening" once every worker listens, then serves
 * until SIGTERM.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 20000
#define MAX_WORKERS 64

static SSL *conns[MAX_FDS];
static bool open_fd[MAX_FDS]; /* plain: the connections */
static bool plain;
static bool verify; /* ask each client for its certificate */
static bool waiting[MAX_FDS]; /* pushed to, no receipt yet */
static int pushed, receipts;
static volatile sig_atomic_t stopping, pushing;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_usr1(int sig)
{
	(void)sig;
	pushing = 1;
}

/* The message to every connection. */
static void
push_all(void)
{
	static const char msg[100] = "push";

	for (int fd = 0; fd < MAX_FDS; fd++) {
		if (plain) {
			if (open_fd[fd] &&
			    write(fd, msg, sizeof(msg)) != sizeof(msg))
				open_fd[fd] = false;
		} else if (conns[fd] != NULL &&
		    SSL_write(conns[fd], msg, sizeof(msg)) == sizeof(msg)) {
			waiting[fd] = true;
			pushed++;
		}
	}
}

/* fd's receipt came; the last one prints the time. */
static void
receipt(int fd)
{
	struct timespec ts;

	if (!waiting[fd])
		return;
	waiting[fd] = false;
	if (++receipts < pushed)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("receipts %d at %lld\n", receipts,
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	fflush(stdout);
}

static int
listen_on(const char *spec)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 4096) == -1)
		return -1;
	return fd;
}

static void
drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	SSL_free(conns[fd]);
	conns[fd] = NULL;
	if (waiting[fd]) {
		waiting[fd] = false;
		pushed--;
	}
	close(fd);
}

/* Accept what waits; each new connection starts its handshake. */
static void
accept_all(int ep, int lfd, SSL_CTX *ctx)
{
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		if (fd >= MAX_FDS) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (plain) {
			open_fd[fd] = true;
			continue;
		}
		conns[fd] = SSL_new(ctx);
		SSL_set_fd(conns[fd], fd);
		SSL_set_accept_state(conns[fd]);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Handshake, or read and throw away; drop the connection at its end. */
static void
serve(int ep, int fd)
{
	char buf[512];
	int n;

	for (int i = 0; i < 16; i++) {
		n = SSL_read(conns[fd], buf, sizeof(buf));
		if (n > 0) {
			receipt(fd);
			continue;
		}
		switch (SSL_get_error(conns[fd], n)) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE: {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
				.data.fd = fd };

			epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
			return;
		}
		default:
			drop(ep, fd);
			ERR_clear_error();
			return;
		}
	}
}

static int
worker(int lfd, SSL_CTX *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[256];
	int ep = epoll_create1(0), n;

	if (ep == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		return 1;
	while (!stopping) {
		if (pushing) {
			pushing = 0;
			push_all();
		}
		if ((n = epoll_wait(ep, evs, 256, 1000)) == -1 &&
		    errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd)
				accept_all(ep, lfd, ctx);
			else if (conns[evs[i].data.fd] != NULL)
				serve(ep, evs[i].data.fd);
		}
	}
	return 0;
}

/* verify: any certificate will do; what it costs to hold is measured */
static int
accept_any(int preverify, X509_STORE_CTX *xs)
{
	(void)preverify;
	(void)xs;
	return 1;
}

static SSL_CTX *
make_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return NULL;
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (verify)
		SSL_CTX_set_verify(ctx,
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		    accept_any);
	return ctx;
}

int
main(int argc, char **argv)
{
	int workers = argc > 4 ? atoi(argv[4]) : 1, lfd, st;
	pid_t pids[MAX_WORKERS];
	SSL_CTX *ctx = NULL;

	if (argc < 4 || workers < 1 || workers > MAX_WORKERS) {
		fprintf(stderr,
		    "usage: tls_idle_server ADDR:PORT CERT KEY [WORKERS "
		    "[plain|verify]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	plain = argc > 5 && strcmp(argv[5], "plain") == 0;
	verify = argc > 5 && strcmp(argv[5], "verify") == 0;
	if (!plain && (ctx = make_ctx(argv[2], argv[3])) == NULL) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if ((lfd = listen_on(argv[1])) == -1) {
		fprintf(stderr, "tls_idle_server: could not listen on %s: %s\n",
		    argv[1], strerror(errno));
		return 1;
	}
	if (workers == 1) {
		printf("listening\n");
		fflush(stdout);
		return worker(lfd, ctx);
	}
	for (int i = 0; i < workers; i++) {
		if ((pids[i] = fork()) == 0) {
			/* each worker its own socket on the shared port, so
			 * the kernel spreads connections between them */
			int own = listen_on(argv[1]);

			if (own == -1)
				return 1;
			close(lfd);
			return worker(own, ctx);
		}
	}
	close(lfd);
	printf("listening\n");
	fflush(stdout);
	while (!stopping) {
		pause();
		if (pushing) { /* to the workers */
			pushing = 0;
			for (int i = 0; i < workers; i++)
				kill(pids[i], SIGUSR1);
		}
	}
	for (int i = 0; i < workers; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < workers; i++)
		waitpid(pids[i], &st, 0);
	return 0;
}
