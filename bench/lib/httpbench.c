/*
 * httpbench.c - the HTTP benchmarks' clients: HTTP/1.1 keep-alive
 * connections to 127.0.0.1, plain or TLS 1.3 with a client certificate,
 * each posting the same body back to back
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpbench.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fsio.h"
#include "util/x509.h"

#define MAX_REQUESTS 10000000L /* per client, a bound the clock never hits */
#define TLS_DAYS 1 /* the run's certificates outlive it */
/* a client's stack: its request and answer buffers, and OpenSSL's */
#define CLIENT_STACK (256 * 1024)

void
hb_die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
	    strerror(errno));
	exit(1);
}

/* Print what failed and OpenSSL's errors; exit 1. */
static void
tls_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

void
hb_setup(
    const char *argv0, char *dir, size_t dirlen, char *bindir, size_t binlen)
{
	char copy[PATH_MAX];
	struct rlimit nofile;

	if (snprintf(copy, sizeof(copy), "%s", argv0) >= (int)sizeof(copy) ||
	    snprintf(bindir, binlen, "%s", dirname(copy)) >= (int)binlen ||
	    snprintf(dir, dirlen, "/tmp/sitesys-bench.XXXXXX") >= (int)dirlen) {
		errno = ENAMETOOLONG;
		hb_die(argv0);
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		hb_die("mkdtemp");
	/* HB_MAX_CLIENTS connections here, and twice as many in nginx,
	 * which inherits the limit */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}
}

void
hb_path(char *out, size_t len, const char *dir, const char *name)
{
	if (fsio_join(out, len, dir, name) == -1)
		hb_die(name);
}

void
hb_threads(pthread_t *t, int n, void *(*run)(void *), void *args, size_t size)
{
	pthread_attr_t attr;

	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, CLIENT_STACK) != 0)
		hb_die("pthread_attr_setstacksize");
	for (int i = 0; i < n; i++)
		if (pthread_create(
		        &t[i], &attr, run, (char *)args + i * size) != 0)
			hb_die("pthread_create");
	pthread_attr_destroy(&attr);
}

long
hb_env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < min || n > max) {
		fprintf(stderr, "%s must be %ld to %ld\n", name, min, max);
		exit(2);
	}
	return n;
}

const char *
hb_web_group(void)
{
	return geteuid() == 0 ? "www-data" : "";
}

pid_t
hb_trivial(const char *bindir, const char *dir, int threads, const char *log)
{
	char resp[PATH_MAX], sock[PATH_MAX], n[16];

	hb_path(resp, sizeof(resp), bindir, "../tests/fcgi-responder");
	hb_path(sock, sizeof(sock), dir, "trivial.sock");
	snprintf(n, sizeof(n), "%d", threads);
	return hb_spawn((char *[]){ resp, "trivial", sock, n, NULL }, log);
}

int
hb_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		hb_die("could not find a free port");
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

pid_t
hb_spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == -1)
		hb_die("fork");
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);

		if (in != -1 && out != -1) {
			dup2(in, STDIN_FILENO);
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		fprintf(
		    stderr, "could not run %s: %s\n", argv[0], strerror(errno));
		fflush(stderr);
		_exit(127);
	}
	return pid;
}

void
hb_write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) == EOF)
		hb_die(path);
}

/*
 * A new key and its certificate of subject, signed by issuer and
 * issuer_key (self-signed when NULL), saved at crt and key; the
 * certificate, and the key into *keyp; or die.
 */
static X509 *
tls_pair(const struct x509_subject *s, X509 *issuer, EVP_PKEY *issuer_key,
    const char *crt, const char *key, EVP_PKEY **keyp)
{
	char err[256] = "";
	EVP_PKEY *k = x509_key_new(err, sizeof(err));
	X509 *c = k == NULL
	    ? NULL
	    : x509_cert_make(s, k, issuer, issuer_key, err, sizeof(err));

	if (c == NULL || x509_cert_save(crt, c, err, sizeof(err)) == -1 ||
	    x509_key_save(key, k, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name,
		    crt, err);
		exit(1);
	}
	*keyp = k;
	return c;
}

void
hb_tls_make(const char *dir, const char *client_cn, struct hb_tls_files *f)
{
	const struct x509_subject ca_s = {
		.cn = "sitesys bench CA", .ca = true, .days = TLS_DAYS
	};
	const struct x509_subject srv_s = {
		.cn = "127.0.0.1", .dns = "127.0.0.1", .days = TLS_DAYS
	};
	const struct x509_subject cl_s = { .cn = client_cn, .days = TLS_DAYS };
	char tls[PATH_MAX], ca_key[PATH_MAX];
	EVP_PKEY *cak, *k;
	X509 *ca;

	hb_path(tls, sizeof(tls), dir, "tls");
	if (mkdir(tls, 0755) == -1)
		hb_die(tls);
	hb_path(f->ca, sizeof(f->ca), tls, "ca.crt");
	hb_path(ca_key, sizeof(ca_key), tls, "ca.key");
	hb_path(f->cert, sizeof(f->cert), tls, "server.crt");
	hb_path(f->key, sizeof(f->key), tls, "server.key");
	hb_path(f->client_cert, sizeof(f->client_cert), tls, "client.crt");
	hb_path(f->client_key, sizeof(f->client_key), tls, "client.key");
	ca = tls_pair(&ca_s, NULL, NULL, f->ca, ca_key, &cak);
	X509_free(tls_pair(&srv_s, ca, cak, f->cert, f->key, &k));
	EVP_PKEY_free(k);
	X509_free(
	    tls_pair(&cl_s, NULL, NULL, f->client_cert, f->client_key, &k));
	EVP_PKEY_free(k);
	X509_free(ca);
	EVP_PKEY_free(cak);
}

SSL_CTX *
hb_tls_client(const struct hb_tls_files *f)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_file(
	        ctx, f->client_cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, f->client_key, SSL_FILETYPE_PEM) !=
	        1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(
	        SSL_CTX_get0_param(ctx), "127.0.0.1") != 1)
		tls_die("could not make the TLS client context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* nothing kept, nothing resumed */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

static int
dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

void
hb_conn_close(struct hb_conn *c)
{
	if (c->ssl != NULL) {
		if (c->ok)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd != -1)
		close(c->fd);
	*c = (struct hb_conn){ .fd = -1 };
}

/* The one place for a connection. */
int
hb_conn_open(
    struct hb_conn *c, int port, SSL_CTX *tls, X509 *cert, EVP_PKEY *key)
{
	*c = (struct hb_conn){ .fd = dial(port) };
	if (c->fd == -1)
		return -1;
	if (tls != NULL &&
	    ((c->ssl = SSL_new(tls)) == NULL ||
	        (cert != NULL &&
	            (SSL_use_certificate(c->ssl, cert) != 1 ||
	                SSL_use_PrivateKey(c->ssl, key) != 1)) ||
	        SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)) {
		hb_conn_close(c);
		return -1;
	}
	c->ok = true;
	return 0;
}

/* read(2) on c, through TLS if any; -1 once c failed or ended. */
static ssize_t
conn_read(struct hb_conn *c, void *buf, size_t len)
{
	ssize_t r = c->ssl == NULL ? read(c->fd, buf, len)
	                           : SSL_read(c->ssl, buf, (int)len);

	if (r <= 0)
		c->ok = false;
	return r <= 0 ? -1 : r;
}

/* Write all len bytes to c; 0, or -1. */
static int
conn_write(struct hb_conn *c, const void *buf, size_t len)
{
	ssize_t w = c->ssl == NULL ? write(c->fd, buf, len)
	                           : SSL_write(c->ssl, buf, (int)len);

	if (w != (ssize_t)len)
		c->ok = false;
	return w == (ssize_t)len ? 0 : -1;
}

/* Read one whole answer from c; its status, or -1. */
static int
read_answer(struct hb_conn *c)
{
	char resp[HB_MAX_BODY];
	size_t got = 0, need;

	for (;;) {
		ssize_t r = conn_read(c, resp + got, sizeof(resp) - 1 - got);
		char *end, *cl;

		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		if ((end = strstr(resp, "\r\n\r\n")) == NULL) {
			if (got == sizeof(resp) - 1)
				return -1;
			continue;
		}
		cl = strcasestr(resp, "\r\nContent-Length:");
		need = (size_t)(end + 4 - resp) +
		    (cl ? strtoul(cl + 17, NULL, 10) : 0);
		if (need >= sizeof(resp))
			return -1;
		if (got >= need)
			return atoi(resp + 9);
	}
}

int
hb_conn_request(struct hb_conn *c, const char *method, const char *path,
    const char *data, size_t len)
{
	char req[HB_MAX_BODY + 512];
	int n = snprintf(req, sizeof(req),
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, len);

	if (len > HB_MAX_BODY)
		return -1;
	memcpy(req + n, data, len);
	if (conn_write(c, req, (size_t)n + len) == -1)
		return -1;
	return read_answer(c);
}

int
hb_request(int port, SSL_CTX *tls, const char *method, const char *path,
    const char *body, size_t len)
{
	struct hb_conn c;
	int status = -1;

	if (hb_conn_open(&c, port, tls, NULL, NULL) == 0) {
		status = hb_conn_request(&c, method, path, body, len);
		hb_conn_close(&c);
	}
	return status;
}

int
hb_wait_ready(int port, SSL_CTX *tls, const char *path)
{
	for (int i = 0; i < 100; i++) {
		int status = hb_request(port, tls, "GET", path, "", 0);

		if (status > 0 && status != 502)
			return 0;
		usleep(100000);
	}
	return -1;
}

struct client {
	const struct hb_load *load;
	pthread_barrier_t *ready; /* all connected; start and stop are set */
	double start, stop;
	long ok, failed;
	int last_failure;
};

/* Keep one connection (or, reconnecting, one a request) until stop. */
static void *
client_run(void *p)
{
	struct client *c = p;
	const struct hb_load *l = c->load;
	const char *method = l->body != NULL ? "POST" : "GET";
	struct hb_conn conn = { .fd = -1 };

	/* connected (and the handshake made) before the clock starts, and
	 * again once the start and stop are known: a thousand handshakes
	 * must not fall into the warm-up of some clients and the
	 * measurement of others; a failed one is tried again below */
	if (!l->reconnect)
		(void)hb_conn_open(&conn, l->port, l->tls, NULL, NULL);
	pthread_barrier_wait(c->ready);
	pthread_barrier_wait(c->ready);
	for (long i = 0; i < MAX_REQUESTS; i++) {
		double t = clock_mono();
		int status = -1;

		if (t >= c->stop)
			break;
		if (conn.fd != -1 ||
		    hb_conn_open(&conn, l->port, l->tls, NULL, NULL) == 0)
			status = hb_conn_request(&conn, method, l->path,
			    l->body ? l->body : "", l->len);
		if (t >= c->start && status == l->want)
			c->ok++;
		else if (t >= c->start) {
			c->failed++;
			c->last_failure = status;
		}
		if (status == -1 || l->reconnect)
			hb_conn_close(&conn);
	}
	hb_conn_close(&conn);
	return NULL;
}

double
hb_measure(const struct hb_load *load)
{
	int n = load->clients < HB_MAX_CLIENTS ? load->clients : HB_MAX_CLIENTS;
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	struct client *c = calloc((size_t)n, sizeof(*c));
	pthread_barrier_t ready;
	long ok = 0, failed = 0;
	int last = 0;
	double t0;

	if (t == NULL || c == NULL)
		hb_die("calloc");
	/* the clients and the thread that times them */
	if (pthread_barrier_init(&ready, NULL, (unsigned)n + 1) != 0)
		hb_die("pthread_barrier_init");
	for (int i = 0; i < n; i++)
		c[i] = (struct client){ .load = load, .ready = &ready };
	hb_threads(t, n, client_run, c, sizeof(*c));
	pthread_barrier_wait(&ready);
	t0 = clock_mono();
	for (int i = 0; i < n; i++) {
		c[i].start = t0 + load->warmup;
		c[i].stop = t0 + load->warmup + load->seconds;
	}
	pthread_barrier_wait(&ready);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		ok += c[i].ok;
		failed += c[i].failed;
		if (c[i].failed > 0)
			last = c[i].last_failure;
	}
	pthread_barrier_destroy(&ready);
	free(t);
	free(c);
	if (failed > 0)
		fprintf(stderr,
		    "%s: %s: %ld requests not answered %d (the last: %d)\n",
		    program_invocation_short_name, load->path, failed,
		    load->want, last);
	return (double)ok / load->seconds;
}

/* srv's server block onto conf. */
static void
nginx_server(struct buf *conf, const char *dir, const struct hb_server *srv)
{
	bool tls = srv->cert != NULL;

	buf_addf(conf,
	    " server {\n  listen 127.0.0.1:%d%s backlog=4096;\n"
	    "  client_max_body_size 1m; keepalive_requests 10000000;\n"
	    "  location = /health { return 200 \"ok\\n\"; }\n",
	    srv->port, tls ? " ssl" : "");
	if (tls)
		buf_addf(conf,
		    "  ssl_certificate %s; ssl_certificate_key %s;\n"
		    "  ssl_protocols TLSv1.2 TLSv1.3;\n"
		    "  ssl_verify_client optional_no_ca;\n"
		    "  ssl_session_cache shared:bench:1m;\n",
		    srv->cert, srv->key);
	for (size_t i = 0; i < srv->n; i++) {
		/* "/fsp/v1/" -> fsp.sock */
		const char *p = srv->prefixes[i];
		int name = (int)strcspn(p + 1, "/");

		buf_addf(conf,
		    "  location %s { fastcgi_pass unix:%s/%.*s.sock;"
		    " include /etc/nginx/fastcgi_params;%s }\n",
		    p, dir, name, p + 1,
		    tls ? " fastcgi_param SSL_CLIENT_CERT"
		          " $ssl_client_escaped_cert;"
		        : "");
	}
	buf_adds(conf, " }\n");
}

pid_t
hb_nginx(
    const char *dir, const struct hb_server *srv, size_t n, const char *log)
{
	char path[PATH_MAX], nlog[PATH_MAX];
	const char *user = hb_web_group();
	struct buf conf = { 0 };

	buf_addf(
	    &conf, "daemon off; worker_processes 2; pid %s/nginx.pid;\n", dir);
	if (*user != '\0')
		buf_addf(&conf, "user %s;\n", user);
	buf_addf(&conf,
	    "error_log %s/nginx-error.log;\n"
	    /* a worker may take every client: its connection, and the
	     * one to the FastCGI socket while its request is answered */
	    "worker_rlimit_nofile %d;\n"
	    "events { worker_connections %d; }\n"
	    "http {\n access_log off;\n"
	    " client_body_temp_path %s/body; fastcgi_temp_path %s/fcgi;\n"
	    " proxy_temp_path %s/proxy; uwsgi_temp_path %s/uwsgi;\n"
	    " scgi_temp_path %s/scgi;\n",
	    dir, 4 * HB_MAX_CLIENTS + 64, 2 * HB_MAX_CLIENTS + 64, dir, dir,
	    dir, dir, dir);
	for (size_t i = 0; i < n; i++)
		nginx_server(&conf, dir, &srv[i]);
	buf_adds(&conf, "}\n");
	hb_path(path, sizeof(path), dir, "nginx.conf");
	hb_path(nlog, sizeof(nlog), dir, "nginx-error.log");
	hb_write_file(path, conf.p);
	buf_free(&conf);
	return hb_spawn(
	    (char *[]){ "nginx", "-c", path, "-e", nlog, NULL }, log);
}

/* CPU seconds, user and system, that process pid has used; or die. */
static double
proc_cpu(pid_t pid)
{
	char path[64], line[1024], *p = NULL;
	unsigned long ut = 0, st = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		hb_die(path);
	if (fgets(line, sizeof(line), fp) != NULL)
		p = strrchr(line, ')');
	fclose(fp);
	/* after "pid (comm) ": state ppid ... utime stime, fields 3 to 15 */
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	        &ut, &st) != 2) {
		fprintf(stderr, "%s: cannot read %s\n",
		    program_invocation_short_name, path);
		exit(1);
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double
hb_cpu(pid_t pid)
{
	char path[64];
	double sum = proc_cpu(pid);
	FILE *fp;
	int child;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		hb_die(path);
	for (int i = 0; i < 64 && fscanf(fp, "%d", &child) == 1; i++)
		sum += proc_cpu(child);
	fclose(fp);
	return sum;
}

void
hb_stop(pid_t pid, int sig)
{
	int st;

	if (pid > 0 && kill(pid, sig) == 0)
		waitpid(pid, &st, 0);
}
