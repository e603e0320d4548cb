/*
 * handshake_bench - full TLS handshakes per second with a client
 * certificate: nginx's HTTPS server as it is configured for the MP (two
 * workers, ssl_verify_client optional_no_ca, a shared session cache; see
 * hb_nginx) beside a bare "openssl s_server -verify 1", which asks for a
 * client certificate the same way, measured in the same run by the same
 * client code.
 *
 * How to read it: every connection is a full TLS 1.3 handshake (the
 * client keeps no session, so none is resumed: key exchange, the server's
 * certificate and signature, the client's certificate and signature, all
 * ECDSA P-256), then one GET /health, then close; a rate is connections
 * answered 200 per second, the mean of ROUNDS rounds in which the two take
 * turns. s_server serves one connection at a time in one process, waiting
 * idle while the connector does its half of each handshake; nginx has two
 * workers and overlaps connections, so the ratio of the rates says little
 * of what a handshake costs. What compares like with like is the second
 * figure: the server's CPU time (user and system, from /proc, its workers
 * included) per handshake (s_server's includes writing five lines of its
 * verify callback to the log each time, a few writes in a millisecond). The connectors do as much public-key work as
 * the server, on the same cores: absolute figures are the machine's;
 * keep-alive (one handshake per agent connection, see intake.sh) is what
 * makes them matter little.
 *
 * CONNECTORS threads connect back to back for SECONDS per server and
 * round. Everything lives in a temporary directory under /tmp, which is
 * also s_server's: it serves the file "health" from there. The processes
 * it starts are stopped by their pids.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "httpbench.h"

#define CONNECTORS 16
#define ROUNDS 3
#define SECONDS 2.0
#define WARMUP                                                                 \
	0.0 /* nothing to warm: each connection starts afresh, so
                      a round's server CPU time is all its handshakes' */
#define CLIENT_CN "GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff"

static char dir[64], bindir[PATH_MAX];
static pid_t nginx, s_server;

/* Stop what this program started, by pid. */
static void
stop_all(void)
{
	hb_stop(nginx, SIGQUIT);
	hb_stop(s_server, SIGTERM);
	nginx = s_server = 0;
}

/* nginx on port a and s_server on port b, both answering GET /health. */
static void
start_all(const struct hb_tls_files *f, int a, int b, SSL_CTX *tls)
{
	char log[PATH_MAX], health[PATH_MAX], accept[32];
	const struct hb_server srv = { a, f->cert, f->key, NULL, 0 };

	hb_path(log, sizeof(log), dir, "processes.log");
	hb_path(health, sizeof(health), dir, "health");
	hb_write_file(health, "ok\n");
	snprintf(accept, sizeof(accept), "127.0.0.1:%d", b);
	nginx = hb_nginx(dir, &srv, 1, log);
	/* -WWW: GET /health is the file "health" in its working directory */
	s_server =
	    hb_spawn((char *[]){ "openssl", "s_server", "-accept", accept,
	                 "-cert", (char *)f->cert, "-key", (char *)f->key,
	                 "-verify", "1", "-WWW", "-quiet", NULL },
	        log);
	if (hb_wait_ready(a, tls, "/health") == -1 ||
	    hb_wait_ready(b, tls, "/health") == -1) {
		fprintf(stderr, "handshake_bench: no answer; see %s\n", dir);
		stop_all();
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct hb_tls_files f;
	struct hb_load load = { .path = "/health",
		.want = 200,
		.clients = CONNECTORS,
		.seconds = SECONDS,
		.warmup = WARMUP,
		.reconnect = true };
	double rate[2] = { 0, 0 }, cpu[2] = { 0, 0 };
	int port[2], rc = 0;
	char cmd[128];

	(void)argc;
	hb_setup(argv[0], dir, sizeof(dir), bindir, sizeof(bindir));
	if (chdir(dir) == -1)
		hb_die(dir);
	signal(SIGPIPE, SIG_IGN);
	hb_tls_make(dir, CLIENT_CN, &f);
	load.tls = hb_tls_client(&f);
	port[0] = hb_free_port();
	port[1] = hb_free_port();
	start_all(&f, port[0], port[1], load.tls);
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < 2; i++) {
			pid_t pid = i == 0 ? nginx : s_server;
			double t0 = hb_cpu(pid);

			load.port = port[i];
			rate[i] += hb_measure(&load) / ROUNDS;
			cpu[i] += hb_cpu(pid) - t0;
		}
	stop_all();
	SSL_CTX_free(load.tls);

	printf("handshake_bench: full TLS 1.3 handshakes with a client "
	       "certificate (ECDSA P-256), %d connectors, %d rounds of %.0f s "
	       "each, one GET /health per connection\n",
	    CONNECTORS, ROUNDS, SECONDS);
	for (int i = 0; i < 2; i++)
		printf(
		    "  %-42s %9.0f handshakes/s %6.2f ms of server CPU each\n",
		    i == 0 ? "nginx, as configured for the MP (2 workers)"
		           : "openssl s_server -verify 1 (one process)",
		    rate[i], 1000 * cpu[i] / (rate[i] * SECONDS * ROUNDS));
	printf("  nginx: %.2fx s_server's rate, %.2fx its CPU time per "
	       "handshake\n",
	    rate[0] / rate[1], (cpu[0] / rate[0]) / (cpu[1] / rate[1]));
	if (chdir("/") == -1)
		rc = 1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
