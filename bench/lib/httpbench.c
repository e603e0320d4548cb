/*
 * httpbench.c - the HTTP benchmarks' clients: HTTP/1.1 keep-alive
 * connections to 127.0.0.1, each posting the same body back to back
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpbench.h"
#include "util/clock.h"
#include "util/fsio.h"

#define MAX_REQUESTS 10000000L /* per client, a bound the clock never hits */

void
hb_die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
	    strerror(errno));
	exit(1);
}

void
hb_setup(
    const char *argv0, char *dir, size_t dirlen, char *bindir, size_t binlen)
{
	char copy[PATH_MAX];

	if (snprintf(copy, sizeof(copy), "%s", argv0) >= (int)sizeof(copy) ||
	    snprintf(bindir, binlen, "%s", dirname(copy)) >= (int)binlen ||
	    snprintf(dir, dirlen, "/tmp/sitesys-bench.XXXXXX") >= (int)dirlen) {
		errno = ENAMETOOLONG;
		hb_die(argv0);
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		hb_die("mkdtemp");
}

void
hb_path(char *out, size_t len, const char *dir, const char *name)
{
	if (fsio_join(out, len, dir, name) == -1)
		hb_die(name);
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
		FILE *fp = freopen(log, "a", stderr);

		(void)fp;
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

/* Read one whole answer from fd; its status, or -1. */
static int
read_answer(int fd)
{
	char resp[HB_MAX_BODY];
	size_t got = 0, need;

	for (;;) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
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

/* Send one request on fd and read the answer; its status, or -1. */
static int
exchange(
    int fd, const char *method, const char *path, const char *data, size_t len)
{
	char req[HB_MAX_BODY + 512];
	int n = snprintf(req, sizeof(req),
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, len);

	if (len > HB_MAX_BODY)
		return -1;
	memcpy(req + n, data, len);
	if (write(fd, req, (size_t)n + len) != (ssize_t)((size_t)n + len))
		return -1;
	return read_answer(fd);
}

int
hb_request(int port, const char *method, const char *path, const char *body,
    size_t len)
{
	int fd = dial(port), status = -1;

	if (fd != -1) {
		status = exchange(fd, method, path, body, len);
		close(fd);
	}
	return status;
}

int
hb_wait_ready(int port, const char *path)
{
	for (int i = 0; i < 100; i++) {
		int status = hb_request(port, "GET", path, "", 0);

		if (status > 0 && status != 502)
			return 0;
		usleep(100000);
	}
	return -1;
}

struct client {
	const struct hb_load *load;
	double start, stop;
	long ok, failed;
	int last_failure;
};

static void *
client_run(void *p)
{
	struct client *c = p;
	const struct hb_load *l = c->load;
	int fd = dial(l->port);

	for (long i = 0; i < MAX_REQUESTS && fd != -1; i++) {
		double t = clock_mono();
		int status;

		if (t >= c->stop)
			break;
		status = exchange(fd, "POST", l->path, l->body, l->len);
		if (t >= c->start && status == l->want)
			c->ok++;
		else if (t >= c->start) {
			c->failed++;
			c->last_failure = status;
		}
		if (status == -1) {
			close(fd);
			fd = dial(l->port);
		}
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

double
hb_measure(const struct hb_load *load)
{
	pthread_t t[HB_MAX_CLIENTS];
	struct client c[HB_MAX_CLIENTS];
	double t0 = clock_mono();
	long ok = 0, failed = 0;
	int last = 0, n = load->clients;

	if (n > HB_MAX_CLIENTS)
		n = HB_MAX_CLIENTS;
	for (int i = 0; i < n; i++) {
		c[i] = (struct client){ .load = load,
			.start = t0 + load->warmup,
			.stop = t0 + load->warmup + load->seconds };
		if (pthread_create(&t[i], NULL, client_run, &c[i]) != 0)
			hb_die("pthread_create");
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		ok += c[i].ok;
		failed += c[i].failed;
		if (c[i].failed > 0)
			last = c[i].last_failure;
	}
	if (failed > 0)
		fprintf(stderr,
		    "%s: %s: %ld requests not answered %d (the last: %d)\n",
		    program_invocation_short_name, load->path, failed,
		    load->want, last);
	return (double)ok / load->seconds;
}

pid_t
hb_nginx(const char *dir, int port, const char *const *prefixes, size_t n,
    const char *log)
{
	char conf[8192], path[256], nlog[256];
	int len = snprintf(conf, sizeof(conf),
	    "daemon off; worker_processes 2; pid %s/nginx.pid;\n"
	    "error_log %s/nginx-error.log;\n"
	    "events { worker_connections 1024; }\n"
	    "http {\n access_log off;\n"
	    " client_body_temp_path %s/body; fastcgi_temp_path %s/fcgi;\n"
	    " proxy_temp_path %s/proxy; uwsgi_temp_path %s/uwsgi;\n"
	    " scgi_temp_path %s/scgi;\n"
	    " server {\n  listen 127.0.0.1:%d;\n"
	    "  client_max_body_size 1m; keepalive_requests 10000000;\n",
	    dir, dir, dir, dir, dir, dir, dir, port);

	for (size_t i = 0; i < n; i++) {
		/* "/fsp/v1/" -> fsp.sock */
		int name = (int)strcspn(prefixes[i] + 1, "/");

		len += snprintf(conf + len, sizeof(conf) - (size_t)len,
		    "  location %s { fastcgi_pass unix:%s/%.*s.sock;"
		    " include /etc/nginx/fastcgi_params; }\n",
		    prefixes[i], dir, name, prefixes[i] + 1);
	}
	snprintf(conf + len, sizeof(conf) - (size_t)len, " }\n}\n");
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	snprintf(nlog, sizeof(nlog), "%s/nginx-error.log", dir);
	hb_write_file(path, conf);
	return hb_spawn(
	    (char *[]){ "nginx", "-c", path, "-e", nlog, NULL }, log);
}

void
hb_stop(pid_t pid, int sig)
{
	int st;

	if (pid > 0 && kill(pid, sig) == 0)
		waitpid(pid, &st, 0);
}
