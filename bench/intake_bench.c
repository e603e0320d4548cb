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

#include "httpbench.h"
#include "util/clock.h"

#define CLIENTS 64
#define ROUNDS 3 /* the targets take turns, so that a busy moment */
#define SECONDS 2.0 /* of the machine falls on all of them alike */
#define WARMUP 0.3
#define BATCH_BYTES 1024

static char dir[64], bindir[PATH_MAX], body[BATCH_BYTES + 1];
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

static void
write_conf(void)
{
	char conf[1024], path[256];

	snprintf(path, sizeof(path), "%s/sitesys.conf", dir);
	snprintf(conf, sizeof(conf),
	    "[site]\ninbox_dir = %s/inbox\n"
	    "[fsp]\nfastcgi_socket = %s/fsp.sock\nthreads = %d\n"
	    "[mp]\nfastcgi_socket = %s/mp.sock\nthreads = %d\n",
	    dir, dir, CLIENTS, dir, CLIENTS);
	hb_write_file(path, conf);
}

/* Requests per second answered 202 during SECONDS after a warm-up. */
static double
measure(const char *path)
{
	struct hb_load load = { .port = port,
		.path = path,
		.body = body,
		.len = BATCH_BYTES,
		.want = 202,
		.clients = CLIENTS,
		.seconds = SECONDS,
		.warmup = WARMUP };

	return hb_measure(&load);
}

/* Stop what this program started, by pid. */
static void
stop_all(void)
{
	hb_stop(nginx, SIGQUIT);
	nginx = 0;
	for (size_t i = 0; i < NTARGETS; i++) {
		hb_stop(tg[i].pid, SIGTERM);
		tg[i].pid = 0;
	}
}

static void
start_all(void)
{
	char sock[PATH_MAX], inbox[PATH_MAX], fsp[PATH_MAX], mp[PATH_MAX],
	    resp[PATH_MAX], conf[PATH_MAX], log[PATH_MAX], threads[16];

	snprintf(threads, sizeof(threads), "%d", CLIENTS);
	hb_path(fsp, sizeof(fsp), bindir, "../sitesys-fsp");
	hb_path(mp, sizeof(mp), bindir, "../sitesys-mp");
	hb_path(resp, sizeof(resp), bindir, "../tests/fcgi-responder");
	hb_path(log, sizeof(log), dir, "processes.log");
	hb_path(inbox, sizeof(inbox), dir, "inbox");
	hb_path(conf, sizeof(conf), dir, "sitesys.conf");
	hb_path(sock, sizeof(sock), dir, "fsync.sock");
	tg[0].pid = hb_trivial(bindir, dir, CLIENTS, log);
	tg[1].pid = hb_spawn(
	    (char *[]){ resp, "fsync", sock, threads, inbox, NULL }, log);
	tg[2].pid = hb_spawn((char *[]){ fsp, "-f", "-c", conf, NULL }, log);
	tg[3].pid = hb_spawn((char *[]){ mp, "-f", "-c", conf, NULL }, log);
	nginx = hb_nginx(dir, port,
	    (const char *[]){ "/trivial/", "/fsync/", "/fsp/v1/", "/mp/v1/" },
	    4, log);
	for (size_t i = 0; i < NTARGETS; i++) {
		if (hb_wait_ready(port, tg[i].path) == -1) {
			fprintf(stderr,
			    "intake_bench: %s does not answer; see %s\n",
			    tg[i].path, dir);
			stop_all();
			exit(1);
		}
	}
}

int
main(int argc, char **argv)
{
	char cmd[1024];

	(void)argc;
	hb_setup(argv[0], dir, sizeof(dir), bindir, sizeof(bindir));
	signal(SIGPIPE, SIG_IGN);
	make_body();
	port = hb_free_port();
	write_conf();
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
