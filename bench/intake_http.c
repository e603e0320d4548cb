/*
 * intake_http - state message intake through nginx, each figure beside
 * its baselines measured in the same run behind the same nginx on
 * loopback, at 64 and at 1,000 concurrent clients. bench/intake.sh runs
 * it with a site database (PGHOST and the rest of libpq's environment),
 * where the MP finds who a certificate is.
 *
 * The roles run as shipped: their sitesys.conf sets only what a private
 * run must (paths, sockets, the FastCGI group) and the FSP's cap per
 * client address, which every client here shares; the program prints the
 * file it wrote, and the number of FastCGI threads each role runs with.
 * THREADS=N in the environment runs both roles with N threads instead (a
 * changed setting, printed as such); CLIENTS="64 1000" the client counts.
 *
 * How to read it: a rate is requests answered 202 per second, the mean of
 * ROUNDS rounds in which the targets take turns, so that a busy moment of
 * the machine falls on all of them alike. Compare a role with the trivial
 * responder on the same transport and at the same client count, never
 * across: the MP's figure is mp/trivial over HTTPS (at least 0.5 wanted),
 * the FSP's fsp/trivial over plain HTTP. Load generator, nginx and the
 * daemons share the machine's cores, so the absolute rates say more about
 * the machine than about sitesys; the ratios are what carries over.
 * Beside each rate, the CPU time (user and system, all threads, from
 * /proc) that the process behind nginx spent per request: steadier than
 * rates on a busy machine, and it says where a difference comes from. The
 * MP's intake over the FSP's on the same HTTPS server is what knowing the
 * caller costs.
 *
 * Plain HTTP, anonymous: the fallback status point's side.
 *   trivial   a libfcgi responder that reads the body and answers 202,
 *             on the roles' threaded server with RESPONDER_THREADS threads
 *   fsync     the same, writing each body into an inbox on its own first
 *             (write, fsync, rename, fsync incoming/)
 *   fsp       sitesys-fsp: 202 only once the batch is durable in fsp.box,
 *             by group commit
 *
 * HTTPS, TLS 1.3 with a client certificate: the management point's side.
 * nginx asks for the certificate (optional_no_ca) and passes it on as
 * SSL_CLIENT_CERT to each location alike.
 *   trivial   the same trivial responder
 *   fsp       the same sitesys-fsp, which ignores the certificate: the
 *             intake alone, without knowing the caller
 *   mp        sitesys-mp: the certificate's client looked up (and cached
 *             per thread), the batch checked to be that client's, 202
 *             only once durable in statsys.box, by group commit
 *
 * Keep-alive connections, as agents keep them (one handshake, made before
 * the clock starts, then requests back to back), each post 1-KB
 * sitesys.statemsg/1 batches for SECONDS per target and round; beyond 64
 * clients only the four targets that give the two ratios. Over HTTPS they
 * all present one self-signed certificate, registered first through POST
 * /mp/v1/register, named as the batches' client: the MP finds it in its
 * cache every time. nginx passes each request to a FastCGI socket on a
 * connection of its own; a connection the role's listen backlog cannot
 * hold is a 502, counted as a failed request and reported from nginx's
 * error log. Everything lives in a temporary directory under /tmp; the
 * processes it starts are stopped by their pids.
 */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpbench.h"
#include "util/buf.h"
#include "util/conf.h"

#define MAX_COUNTS 4 /* client counts in one run */
#define ROUNDS 3
#define SECONDS 2.0
#define WARMUP 0.3
#define RESPONDER_THREADS 64 /* the baselines' own, whatever the clients */
#define BATCH_BYTES 1024
#define GUID "GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff"

static char dir[64], bindir[PATH_MAX], body[BATCH_BYTES + 1];
static int http_port, https_port;
static int counts[MAX_COUNTS], ncounts;
static long threads; /* THREADS, or 0: as shipped */
static struct hb_tls_files tls_files;
static SSL_CTX *tls;
static pid_t trivial, fsync_resp, fsp, mp, nginx;

struct target {
	const char *label, *path;
	bool https;
	bool few; /* measured at 64 clients only */
	pid_t *proc; /* the process behind nginx that answers */
	double rate[MAX_COUNTS]; /* requests/s at each client count */
	double cpu[MAX_COUNTS]; /* its CPU seconds in all rounds */
};

enum { T_TRIVIAL, T_FSYNC, T_FSP, T_TRIVIAL_TLS, T_FSP_TLS, T_MP, NTARGETS };

static struct target tg[NTARGETS] = {
	[T_TRIVIAL] = { "trivial libfcgi responder (baseline)", "/trivial/",
	    false, false, &trivial, { 0 }, { 0 } },
	[T_FSYNC] = { "write+fsync+rename+fsync per request", "/fsync/", false,
	    true, &fsync_resp, { 0 }, { 0 } },
	[T_FSP] = { "sitesys-fsp, durable 202 by group commit",
	    "/fsp/v1/statemsg", false, false, &fsp, { 0 }, { 0 } },
	[T_TRIVIAL_TLS] = { "trivial libfcgi responder (baseline)", "/trivial/",
	    true, false, &trivial, { 0 }, { 0 } },
	[T_FSP_TLS] = { "sitesys-fsp: the same intake, no identity",
	    "/fsp/v1/statemsg", true, true, &fsp, { 0 }, { 0 } },
	[T_MP] = { "sitesys-mp, durable 202 by group commit", "/mp/v1/statemsg",
	    true, false, &mp, { 0 }, { 0 } },
};

/* True if t is measured at client count c. */
static bool
measured(const struct target *t, int c)
{
	return !t->few || c <= 64;
}

/* A valid batch of exactly BATCH_BYTES bytes: 4 messages and padding. */
static void
make_body(void)
{
	int n = snprintf(body, sizeof(body),
	    "{\"format\":\"sitesys.statemsg/1\",\"client\":\"" GUID "\","
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

/* The client counts: CLIENTS ("64 1000" unless set). */
static void
read_counts(void)
{
	const char *v = getenv("CLIENTS");
	char copy[128], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", v && *v ? v : "64 1000");
	for (char *w = strtok_r(copy, " ,", &save);
	     w != NULL && ncounts < MAX_COUNTS;
	     w = strtok_r(NULL, " ,", &save)) {
		char *end;
		long n = strtol(w, &end, 10);

		if (*end != '\0' || n < 1 || n > HB_MAX_CLIENTS) {
			fprintf(stderr,
			    "intake_http: CLIENTS: counts of 1 to %d\n",
			    HB_MAX_CLIENTS);
			exit(2);
		}
		counts[ncounts++] = (int)n;
	}
	if (ncounts == 0) {
		fprintf(stderr, "intake_http: CLIENTS: no count\n");
		exit(2);
	}
}

/*
 * The roles' sitesys.conf: only what a private run must set, printed
 * whole; then the threads each role runs with, as the file leaves them.
 */
static void
write_conf(void)
{
	char path[PATH_MAX], err[512], th[64] = "";
	struct buf conf = { 0 };
	struct conf *cf;

	if (threads > 0)
		snprintf(th, sizeof(th), "threads = %ld\n", threads);
	buf_addf(&conf,
	    "[site]\ninbox_dir = %s/inbox\nfastcgi_group = %s\n"
	    "[fsp]\nfastcgi_socket = %s/fsp.sock\n"
	    /* the clients share one address; the spool fills up */
	    "source_max_messages = 100000000\n%s"
	    "[mp]\nfastcgi_socket = %s/mp.sock\n%s",
	    dir, hb_web_group(), dir, th, dir, th);
	hb_path(path, sizeof(path), dir, "sitesys.conf");
	hb_write_file(path, conf.p);
	printf("intake: the roles' sitesys.conf, every setting it changes "
	       "from the shipped one (the MP's database by libpq's "
	       "environment):\n");
	for (char *l = conf.p, *nl; *l != '\0'; l = nl + 1) {
		nl = strchr(l, '\n');
		printf("  %.*s\n", (int)(nl - l), l);
	}
	buf_free(&conf);
	if ((cf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "intake_http: %s\n", err);
		exit(1);
	}
	printf("  => [mp] threads %lld, [fsp] threads %lld%s; the baselines' "
	       "responders %d threads\n",
	    conf_int(cf, "mp", "threads"), conf_int(cf, "fsp", "threads"),
	    threads > 0 ? " (THREADS: changed)" : " (as shipped)",
	    RESPONDER_THREADS);
	fflush(stdout);
	conf_free(cf);
}

/* The port and TLS context of t. */
static int
port_of(const struct target *t, SSL_CTX **ctx)
{
	*ctx = t->https ? tls : NULL;
	return t->https ? https_port : http_port;
}

/*
 * One round of t at the ci-th client count: the requests per second
 * answered 202 during SECONDS after a warm-up, and the CPU time its
 * process took, added to t.
 */
static void
measure(struct target *t, int ci)
{
	struct hb_load load = { .path = t->path,
		.body = body,
		.len = BATCH_BYTES,
		.want = 202,
		.clients = counts[ci],
		.seconds = SECONDS,
		.warmup = WARMUP };
	double cpu = hb_cpu(*t->proc);

	load.port = port_of(t, &load.tls);
	t->rate[ci] += hb_measure(&load) / ROUNDS;
	t->cpu[ci] += hb_cpu(*t->proc) - cpu;
}

/* Stop what this program started, by pid. */
static void
stop_all(void)
{
	hb_stop(nginx, SIGQUIT);
	hb_stop(trivial, SIGTERM);
	hb_stop(fsync_resp, SIGTERM);
	hb_stop(fsp, SIGTERM);
	hb_stop(mp, SIGTERM);
	nginx = trivial = fsync_resp = fsp = mp = 0;
}

/* Say why, stop everything, keep dir for a look; exit 1. */
static void
fail(const char *what, int status)
{
	fprintf(stderr, "intake_http: %s (%d); see %s\n", what, status, dir);
	stop_all();
	exit(1);
}

static void
start_all(void)
{
	char sock[PATH_MAX], inbox[PATH_MAX], fspbin[PATH_MAX], mpbin[PATH_MAX],
	    resp[PATH_MAX], conf[PATH_MAX], log[PATH_MAX], nthreads[16];
	const struct hb_server srv[] = {
		{ http_port, NULL, NULL,
		    (const char *[]){ "/trivial/", "/fsync/", "/fsp/v1/" }, 3 },
		{ https_port, tls_files.cert, tls_files.key,
		    (const char *[]){ "/trivial/", "/fsp/v1/", "/mp/v1/" }, 3 },
	};

	snprintf(nthreads, sizeof(nthreads), "%d", RESPONDER_THREADS);
	hb_path(fspbin, sizeof(fspbin), bindir, "../sitesys-fsp");
	hb_path(mpbin, sizeof(mpbin), bindir, "../sitesys-mp");
	hb_path(resp, sizeof(resp), bindir, "../tests/fcgi-responder");
	hb_path(log, sizeof(log), dir, "processes.log");
	hb_path(inbox, sizeof(inbox), dir, "inbox");
	hb_path(conf, sizeof(conf), dir, "sitesys.conf");
	hb_path(sock, sizeof(sock), dir, "fsync.sock");
	trivial = hb_trivial(bindir, dir, RESPONDER_THREADS, log);
	fsync_resp = hb_spawn(
	    (char *[]){ resp, "fsync", sock, nthreads, inbox, NULL }, log);
	fsp = hb_spawn((char *[]){ fspbin, "-f", "-c", conf, NULL }, log);
	mp = hb_spawn((char *[]){ mpbin, "-f", "-c", conf, NULL }, log);
	nginx = hb_nginx(dir, srv, 2, log);
	for (size_t i = 0; i < NTARGETS; i++) {
		SSL_CTX *ctx;
		int port = port_of(&tg[i], &ctx);

		if (hb_wait_ready(port, ctx, tg[i].path) == -1)
			fail(tg[i].path, -1);
	}
}

/*
 * The benchmark's certificate registered with the MP, and one batch taken:
 * a refusal must not pass for a fast answer.
 */
static void
register_client(void)
{
	static const char reg[] = "{\"format\":\"sitesys.register/1\","
	                          "\"client\":\"" GUID "\",\"name\":\"bench\","
	                          "\"addresses\":[\"127.0.0.1/8\"]}";
	int status = hb_request(
	    https_port, tls, "POST", "/mp/v1/register", reg, sizeof(reg) - 1);

	if (status != 200)
		fail("the MP did not register the client", status);
	status = hb_request(
	    https_port, tls, "POST", tg[T_MP].path, body, BATCH_BYTES);
	if (status != 202)
		fail("the MP did not take a batch", status);
}

static void
print_rates(int ci)
{
	int c = counts[ci];

	printf("intake: %d clients posting %d-byte state message batches "
	       "through nginx, %d rounds of %.0f s each\n",
	    c, BATCH_BYTES, ROUNDS, SECONDS);
	for (size_t i = 0; i < NTARGETS; i++) {
		if (i == T_TRIVIAL)
			printf(" plain HTTP, anonymous (the FSP's side):\n");
		if (i == T_TRIVIAL_TLS)
			printf(" HTTPS, TLS 1.3 with a client certificate, one "
			       "handshake per connection (the MP's side):\n");
		if (!measured(&tg[i], c))
			continue;
		/* the warm-up's requests counted at the rounds' rate */
		printf("  %-42s %9.0f requests/s %5.0f us of its CPU each\n",
		    tg[i].label, tg[i].rate[ci],
		    1e6 * tg[i].cpu[ci] /
		        (tg[i].rate[ci] * (SECONDS + WARMUP) * ROUNDS));
	}
	printf("  sitesys-fsp: %.2fx the trivial responder over HTTP "
	       "(fsp/trivial, at least 0.50 wanted)",
	    tg[T_FSP].rate[ci] / tg[T_TRIVIAL].rate[ci]);
	if (measured(&tg[T_FSYNC], c))
		printf(", %.1fx the fsync-per-request one",
		    tg[T_FSP].rate[ci] / tg[T_FSYNC].rate[ci]);
	printf("; at one batch per client per 15 minutes, %.0f clients (the "
	       "original: 100,000 per FSP)\n",
	    tg[T_FSP].rate[ci] * 900);
	printf("  sitesys-mp: %.2fx the trivial responder over HTTPS "
	       "(mp/trivial, at least 0.50 wanted)",
	    tg[T_MP].rate[ci] / tg[T_TRIVIAL_TLS].rate[ci]);
	if (measured(&tg[T_FSP_TLS], c))
		printf(", %.2fx the FSP's intake there",
		    tg[T_MP].rate[ci] / tg[T_FSP_TLS].rate[ci]);
	printf("; at one batch per client per 15 minutes, %.0f clients (the "
	       "original: 25,000 per MP)\n",
	    tg[T_MP].rate[ci] * 900);
}

/* Run the shell command cmd (bounded output); whether it succeeded. */
static bool
run(const char *cmd)
{
	fflush(stdout);
	return system(cmd) == 0;
}

int
main(int argc, char **argv)
{
	char cmd[1024];

	(void)argc;
	hb_setup(argv[0], dir, sizeof(dir), bindir, sizeof(bindir));
	signal(SIGPIPE, SIG_IGN);
	read_counts();
	threads = hb_env_long("THREADS", 0, 0, 1024);
	make_body();
	http_port = hb_free_port();
	https_port = hb_free_port();
	hb_tls_make(dir, GUID, &tls_files);
	tls = hb_tls_client(&tls_files);
	write_conf();
	start_all();
	register_client();
	for (int ci = 0; ci < ncounts; ci++)
		for (int r = 0; r < ROUNDS; r++)
			for (size_t i = 0; i < NTARGETS; i++)
				if (measured(&tg[i], counts[ci]))
					measure(&tg[i], ci);
	stop_all();
	SSL_CTX_free(tls);
	for (int ci = 0; ci < ncounts; ci++)
		print_rates(ci);
	/* sitesys-fsp's own account of its group commits */
	snprintf(cmd, sizeof(cmd),
	    "sed -n 's/.*sitesys-fsp\\[[0-9]*\\]: info: \\(spooled.*\\)/  "
	    "sitesys-fsp: \\1/p' %s/processes.log",
	    dir);
	if (!run(cmd))
		fprintf(stderr, "intake_http: could not read the log\n");
	/* connections to a FastCGI socket that its backlog could not hold */
	snprintf(cmd, sizeof(cmd),
	    "n=$(grep -c 'connect() to unix:.*failed' %s/nginx-error.log); "
	    "[ \"$n\" = 0 ] || { echo \"  nginx could not connect to a "
	    "FastCGI socket $n times (502); the first:\"; grep -m1 "
	    "'connect() to unix:.*failed' %s/nginx-error.log | "
	    "cut -c1-300; }",
	    dir, dir);
	if (!run(cmd))
		fprintf(stderr, "intake_http: could not read nginx's log\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return run(cmd) ? 0 : 1;
}
