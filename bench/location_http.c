/*
 * location_http - complete location answers through nginx and sitesys-mp
 * (POST /mp/v1/location), beside a trivial libfcgi responder behind the
 * same nginx server, measured in the same run. bench/location_mp.sh gives
 * it a site database holding a realistic boundary model (PGHOST and the
 * rest of libpq's environment) and a request body, whose client must be
 * GUID below: the client whose certificate the requests present.
 *
 *   location_http REQUEST_FILE
 *
 * CLIENTS keep-alive HTTPS connections (TLS 1.3, one self-signed client
 * certificate, registered first) post the request back to back, for
 * SECONDS per target and round, the two taking turns for ROUNDS rounds.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpbench.h"
#include "util/fsio.h"

#define CLIENTS 64
#define ROUNDS 3
#define SECONDS 2.0
#define WARMUP 0.3
#define GUID "GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff"

static char dir[64], bindir[PATH_MAX];
static int port;
static struct hb_tls_files tls_files;
static SSL_CTX *tls;
static pid_t nginx, responder, mp;

static void
write_conf(void)
{
	char conf[1024], path[256];

	snprintf(conf, sizeof(conf),
	    "[site]\ninbox_dir = %s/inbox\nfastcgi_group = %s\n"
	    "[mp]\nfastcgi_socket = %s/mp.sock\nthreads = %d\n",
	    dir, hb_web_group(), dir, CLIENTS);
	snprintf(path, sizeof(path), "%s/sitesys.conf", dir);
	hb_write_file(path, conf);
}

static void
stop_all(void)
{
	hb_stop(nginx, SIGQUIT);
	hb_stop(responder, SIGTERM);
	hb_stop(mp, SIGTERM);
	nginx = responder = mp = 0;
}

static void
start_all(void)
{
	char log[PATH_MAX], conf[PATH_MAX], mpbin[PATH_MAX];
	const struct hb_server srv = { port, tls_files.cert, tls_files.key,
		(const char *[]){ "/trivial/", "/mp/v1/" }, 2 };

	hb_path(mpbin, sizeof(mpbin), bindir, "../sitesys-mp");
	hb_path(log, sizeof(log), dir, "processes.log");
	hb_path(conf, sizeof(conf), dir, "sitesys.conf");
	responder = hb_trivial(bindir, dir, CLIENTS, log);
	mp = hb_spawn((char *[]){ mpbin, "-f", "-c", conf, NULL }, log);
	nginx = hb_nginx(dir, &srv, 1, log);
	if (hb_wait_ready(port, tls, "/trivial/") == -1 ||
	    hb_wait_ready(port, tls, "/mp/v1/location") == -1) {
		fprintf(stderr, "location_http: no answer; see %s\n", dir);
		stop_all();
		exit(1);
	}
}

/* The benchmark's certificate registered with the MP: the status. */
static int
register_client(void)
{
	static const char reg[] = "{\"format\":\"sitesys.register/1\","
	                          "\"client\":\"" GUID "\",\"name\":\"bench\","
	                          "\"addresses\":[\"10.0.42.17/24\"]}";

	return hb_request(
	    port, tls, "POST", "/mp/v1/register", reg, sizeof(reg) - 1);
}

/* The mean rate of path over the rounds, counting answers of status want. */
static void
measure_both(const char *body, size_t len, double *trivial, double *loc)
{
	struct hb_load t = { port, tls, "/trivial/", body, len, 202, CLIENTS,
		SECONDS, WARMUP, false };
	struct hb_load l = { port, tls, "/mp/v1/location", body, len, 200,
		CLIENTS, SECONDS, WARMUP, false };

	*trivial = *loc = 0;
	for (int r = 0; r < ROUNDS; r++) {
		*trivial += hb_measure(&t) / ROUNDS;
		*loc += hb_measure(&l) / ROUNDS;
	}
}

int
main(int argc, char **argv)
{
	char cmd[1024], *body;
	size_t len;
	double trivial, loc;
	int status, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: location_http REQUEST_FILE\n");
		return 2;
	}
	if (fsio_read_file(argv[1], HB_MAX_BODY, &body, &len) == -1)
		hb_die(argv[1]);
	hb_setup(argv[0], dir, sizeof(dir), bindir, sizeof(bindir));
	signal(SIGPIPE, SIG_IGN);
	port = hb_free_port();
	hb_tls_make(dir, GUID, &tls_files);
	tls = hb_tls_client(&tls_files);
	write_conf();
	start_all();
	if ((status = register_client()) != 200) {
		fprintf(stderr,
		    "location_http: the MP did not register the client (%d); "
		    "see %s\n",
		    status, dir);
		stop_all();
		return 1;
	}
	/* the model loads after the MP answers; a wrong answer must not pass
	 * for a fast one */
	for (int i = 0; i < 100; i++) {
		status =
		    hb_request(port, tls, "POST", "/mp/v1/location", body, len);
		if (status != 503)
			break;
		usleep(100000);
	}
	if (status != 200) {
		fprintf(stderr, "location_http: the MP answered %d; see %s\n",
		    status, dir);
		stop_all();
		return 1;
	}
	measure_both(body, len, &trivial, &loc);
	stop_all();
	SSL_CTX_free(tls);
	printf("  %-44s %9.0f requests/s\n",
	    "trivial libfcgi responder (baseline)", trivial);
	printf("  %-44s %9.0f requests/s   %.0f%% of the baseline\n",
	    "sitesys-mp, complete location answers", loc, 100 * loc / trivial);
	/* how long a reload takes: the bound on seeing a change */
	snprintf(cmd, sizeof(cmd),
	    "sed -n 's/.*sitesys-mp\\[[0-9]*\\]: info: \\(boundary model "
	    "loaded.*\\)/  sitesys-mp: \\1/p' %s/processes.log",
	    dir);
	fflush(stdout);
	if (system(cmd) != 0)
		rc = 1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	free(body);
	return rc;
}
