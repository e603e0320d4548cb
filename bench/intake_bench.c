/*
 * intake_bench - state message intake over HTTP, each figure beside its
 * baselines measured in the same run behind the same nginx on loopback:
 *
 *   trivial   a libfcgi responder that reads the body and answers 202
 *   fsync     the same, writing each body into an inbox on its own first
 *             (write, fsync, rename, fsync incoming/)
 *   fsp       sitesys-fsp: 202 only once the batch is durable in fsp.box,
 *             by group commit
 *
 * CLIENTS keep-alive connections each post 1-KB sitesys.statemsg/1 batches
 * back to back, for SECONDS per target and round, the targets taking turns
 * for ROUNDS rounds; a rate is the mean of its rounds. Everything lives in
 * a temporary directory under /tmp; the processes it starts are stopped by
 * their pids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define CLIENTS 64
#define ROUNDS 3 /* the targets take turns, so that a busy moment */
#define SECONDS 2.0 /* of the machine falls on all of them alike */
#define WARMUP 0.3
#define BATCH_BYTES 1024
#define MAX_REQUESTS 10000000L /* per client, a bound the clock never hits */

static char dir[64], bindir[1024], body[BATCH_BYTES + 1];
static int port;

struct target {
	const char *label, *path;
	pid_t pid;
	double rate;
};

static struct target tg[] = {
	{ "trivial libfcgi responder (baseline)", "/trivial/", 0, 0 },
	{ "write+fsync+rename+fsync per request", "/fsync/", 0, 0 },
	{ "sitesys-fsp, durable 202 by group commit", "/fsp/v1/statemsg", 0,
	    0 },
	{ "sitesys-mp, durable 202 by group commit", "/mp/v1/statemsg", 0, 0 },
};
#define NTARGETS (sizeof(tg) / sizeof(tg[0]))
static pid_t nginx;

static void stop_all(void);

static void
die(const char *what)
{
	fprintf(stderr, "intake_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A valid batch of exactly BATCH_BYTES bytes: 4 messages and padding. */
static void
make_body(void)
{
	int n = snprintf(body, sizeof(body),
	    "{\"format\":\"sitesys.statemsg/1\","
	    "\"client\":\"GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff\","
	    "\"messages\":[");

	for (int i = 1; i <= 4; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n,
		    "%s{\"serial\":%d,\"time\":\"2026-11-22T10:00:00Z\","
		    "\"topic\":{\"type\":800,\"id\":\"install\"},"
		    "\"state\":{\"id\":%d}}",
		    i == 1 ? "" : ",", i, 400 + i);
	n += snprintf(body + n, sizeof(body) - (size_t)n, "],\"pad\":\"");
	memset(body + n, 'x', BATCH_BYTES - (size_t)n - 2);
	memcpy(body + BATCH_BYTES - 2, "\"}", 3);
}

/* A loopback port that was free a moment ago. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		die("could not find a free port");
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

static pid_t
spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == -1)
		die("fork");
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

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) == EOF)
		die(path);
}

static void
write_nginx_conf(void)
{
	char conf[8192], path[256];

	snprintf(conf, sizeof(conf),
	    "daemon off; worker_processes 2; pid %s/nginx.pid;\n"
	    "error_log %s/nginx-error.log;\n"
	    "events { worker_connections 1024; }\n"
	    "http {\n access_log off;\n"
	    " client_body_temp_path %s/body; fastcgi_temp_path %s/fcgi;\n"
	    " proxy_temp_path %s/proxy; uwsgi_temp_path %s/uwsgi;\n"
	    " scgi_temp_path %s/scgi;\n"
	    " server {\n  listen 127.0.0.1:%d;\n"
	    "  client_max_body_size 1m; keepalive_requests 10000000;\n"
	    "  location /trivial/ { fastcgi_pass unix:%s/trivial.sock;"
	    " include /etc/nginx/fastcgi_params; }\n"
	    "  location /fsync/ { fastcgi_pass unix:%s/fsync.sock;"
	    " include /etc/nginx/fastcgi_params; }\n"
	    "  location /fsp/v1/ { fastcgi_pass unix:%s/fsp.sock;"
	    " include /etc/nginx/fastcgi_params; }\n"
	    "  location /mp/v1/ { fastcgi_pass unix:%s/mp.sock;"
	    " include /etc/nginx/fastcgi_params; }\n"
	    " }\n}\n",
	    dir, dir, dir, dir, dir, dir, dir, port, dir, dir, dir, dir);
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	write_file(path, conf);
	snprintf(path, sizeof(path), "%s/sitesys.conf", dir);
	snprintf(conf, sizeof(conf),
	    "[site]\ninbox_dir = %s/inbox\n"
	    "[fsp]\nfastcgi_socket = %s/fsp.sock\nthreads = %d\n"
	    "[mp]\nfastcgi_socket = %s/mp.sock\nthreads = %d\n",
	    dir, dir, CLIENTS, dir, CLIENTS);
	write_file(path, conf);
}

static int
dial(void)
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

/* Send one request on fd and read the answer; its status, or -1. */
static int
exchange(
    int fd, const char *method, const char *path, const char *data, size_t len)
{
	char req[BATCH_BYTES + 512], resp[4096];
	int n = snprintf(req, sizeof(req),
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, len);
	size_t got = 0, need = 0;
	char *end;

	memcpy(req + n, data, len);
	if (write(fd, req, (size_t)n + len) != (ssize_t)((size_t)n + len))
		return -1;
	for (;;) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		if ((end = strstr(resp, "\r\n\r\n")) == NULL) {
			if (got == sizeof(resp) - 1)
				return -1;
			continue;
		}
		char *cl = strcasestr(resp, "\r\nContent-Length:");
		need = (size_t)(end + 4 - resp) +
		    (cl ? strtoul(cl + 17, NULL, 10) : 0);
		if (got >= need)
			break;
	}
	return atoi(resp + 9);
}

struct client {
	const char *path;
	double start, stop;
	long ok, failed;
	int last_failure; /* the status of the last failure, -1: none */
};

static void *
client_run(void *p)
{
	struct client *c = p;
	int fd = dial();

	for (long i = 0; i < MAX_REQUESTS && fd != -1; i++) {
		double t = clock_mono();
		int status;

		if (t >= c->stop)
			break;
		status = exchange(fd, "POST", c->path, body, BATCH_BYTES);
		if (t >= c->start && status == 202)
			c->ok++;
		else if (t >= c->start) {
			c->failed++;
			c->last_failure = status;
		}
		if (status == -1) {
			close(fd);
			fd = dial();
		}
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

/* Requests per second answered 202 during SECONDS after a warm-up. */
static double
measure(const char *path)
{
	pthread_t t[CLIENTS];
	struct client c[CLIENTS];
	double t0 = clock_mono();
	long ok = 0, failed = 0;
	int last = 0;

	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ .path = path,
			.start = t0 + WARMUP,
			.stop = t0 + WARMUP + SECONDS };
		if (pthread_create(&t[i], NULL, client_run, &c[i]) != 0)
			die("pthread_create");
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		ok += c[i].ok;
		failed += c[i].failed;
		if (c[i].failed > 0)
			last = c[i].last_failure;
	}
	if (failed > 0)
		fprintf(stderr,
		    "intake_bench: %s: %ld requests not answered 202 "
		    "(the last: %d)\n",
		    path, failed, last);
	return (double)ok / SECONDS;
}

/* Wait (bounded) until path answers through nginx at all. */
static void
wait_ready(const char *path)
{
	for (int i = 0; i < 100; i++) {
		int fd = dial(), status = -1;

		if (fd != -1) {
			status = exchange(fd, "GET", path, "", 0);
			close(fd);
		}
		if (status > 0 && status != 502)
			return;
		usleep(100000);
	}
	fprintf(
	    stderr, "intake_bench: %s does not answer; see %s\n", path, dir);
	stop_all();
	exit(1);
}

static void
stop(pid_t pid, int sig)
{
	int st;

	if (pid > 0 && kill(pid, sig) == 0)
		waitpid(pid, &st, 0);
}

/* Stop what this program started, by pid. */
static void
stop_all(void)
{
	stop(nginx, SIGQUIT);
	nginx = 0;
	for (size_t i = 0; i < NTARGETS; i++) {
		stop(tg[i].pid, SIGTERM);
		tg[i].pid = 0;
	}
}

static void
start_all(void)
{
	char sock[128], inbox[128], fsp[PATH_MAX], mp[PATH_MAX], resp[PATH_MAX],
	    conf[128], log[128], nconf[128], nlog[128], threads[16];

	snprintf(threads, sizeof(threads), "%d", CLIENTS);
	snprintf(fsp, sizeof(fsp), "%s/../sitesys-fsp", bindir);
	snprintf(mp, sizeof(mp), "%s/../sitesys-mp", bindir);
	snprintf(resp, sizeof(resp), "%s/../tests/fcgi-responder", bindir);
	snprintf(log, sizeof(log), "%s/processes.log", dir);
	snprintf(inbox, sizeof(inbox), "%s/inbox", dir);
	snprintf(conf, sizeof(conf), "%s/sitesys.conf", dir);
	snprintf(nconf, sizeof(nconf), "%s/nginx.conf", dir);
	snprintf(nlog, sizeof(nlog), "%s/nginx-error.log", dir);

	snprintf(sock, sizeof(sock), "%s/trivial.sock", dir);
	tg[0].pid =
	    spawn((char *[]){ resp, "trivial", sock, threads, NULL }, log);
	snprintf(sock, sizeof(sock), "%s/fsync.sock", dir);
	tg[1].pid =
	    spawn((char *[]){ resp, "fsync", sock, threads, inbox, NULL }, log);
	tg[2].pid = spawn((char *[]){ fsp, "-f", "-c", conf, NULL }, log);
	tg[3].pid = spawn((char *[]){ mp, "-f", "-c", conf, NULL }, log);
	nginx =
	    spawn((char *[]){ "nginx", "-c", nconf, "-e", nlog, NULL }, log);
	for (size_t i = 0; i < NTARGETS; i++)
		wait_ready(tg[i].path);
}

int
main(int argc, char **argv)
{
	char cmd[1024];

	(void)argc;
	snprintf(cmd, sizeof(cmd), "%s", argv[0]);
	snprintf(bindir, sizeof(bindir), "%s", dirname(cmd));
	snprintf(dir, sizeof(dir), "/tmp/sitesys-bench.XXXXXX");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		die("mkdtemp");
	signal(SIGPIPE, SIG_IGN);
	make_body();
	port = free_port();
	write_nginx_conf();
	start_all();
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < NTARGETS; i++)
			tg[i].rate += measure(tg[i].path) / ROUNDS;
	stop_all();

	printf("intake_bench: %d clients posting %d-byte state message "
	       "batches through nginx, %d rounds of %.0f s each\n",
	    CLIENTS, BATCH_BYTES, ROUNDS, SECONDS);
	for (size_t i = 0; i < NTARGETS; i++)
		printf("  %-42s %9.0f requests/s\n", tg[i].label, tg[i].rate);
	for (size_t i = 2; i < NTARGETS; i++)
		printf("  %s: %.0f%% of the trivial responder, %.1fx the "
		       "fsync-per-request one; at one batch per client per 15 "
		       "minutes, %.0f clients (the original: %s)\n",
		    i == 2 ? "sitesys-fsp" : "sitesys-mp",
		    100 * tg[i].rate / tg[0].rate, tg[i].rate / tg[1].rate,
		    tg[i].rate * 900,
		    i == 2 ? "100,000 per FSP" : "25,000 per MP");
	/* sitesys-fsp's own account of its group commits */
	snprintf(cmd, sizeof(cmd),
	    "sed -n 's/.*sitesys-fsp\\[[0-9]*\\]: info: \\(spooled.*\\)/  "
	    "sitesys-fsp: \\1/p' %s/processes.log",
	    dir);
	fflush(stdout);
	if (system(cmd) != 0)
		fprintf(stderr, "intake_bench: could not read the log\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
