/*
 * fcgi-responder - the baselines of bench/intake_http.c: a FastCGI
 * responder on the same threaded server as the roles (fcgi_server.h) that
 * reads each request's body and answers 202, either at once ("trivial") or
 * after writing the body into an inbox by itself, one file at a time:
 * write, fsync, rename, fsync incoming/ ("fsync").
 *
 *   fcgi-responder trivial|fsync SOCKET THREADS [INBOX_ROOT]
 *
 * It stops on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "inbox.h"
#include "util/fcgi_server.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"

#define MAX_BODY (1024 * 1024)

static struct inbox box;

static int
answer_trivial(struct fcgi_req *req, void *arg)
{
	char *body;
	size_t len;

	(void)arg;
	if (fcgi_read_body(req, MAX_BODY, &body, &len) == -1)
		return 0;
	free(body);
	return fcgi_reply(req, 202, "{\"accepted\":1}");
}

static int
answer_fsync(struct fcgi_req *req, void *arg)
{
	char name[INBOX_NAME_MAX + 1], *body;
	size_t len;
	int rc;

	(void)arg;
	if (fcgi_read_body(req, MAX_BODY, &body, &len) == -1)
		return 0;
	inbox_new_name("smx", name, sizeof(name));
	/* inbox_put fsyncs the file; then the directory, every time */
	rc = inbox_put(&box, name, body, len) == 0 &&
	    fsio_sync_dir(box.incoming) == 0;
	free(body);
	if (!rc)
		return fcgi_error(
		    req, 503, "could not store: %s", strerror(errno));
	return fcgi_reply(req, 202, "{\"accepted\":1}");
}

int
main(int argc, char **argv)
{
	struct fcgi_server *srv;
	fcgi_handler handle;
	int fd;

	log_init("fcgi-responder");
	if (argc < 4 || (strcmp(argv[1], "fsync") == 0 && argc != 5)) {
		fprintf(stderr,
		    "usage: fcgi-responder trivial|fsync SOCKET "
		    "THREADS [INBOX_ROOT]\n");
		return 2;
	}
	handle = strcmp(argv[1], "fsync") == 0 ? answer_fsync : answer_trivial;
	if (handle == answer_fsync &&
	    inbox_open(&box, argv[4], "bench.box", true) == -1)
		return 1; /* logged by inbox_open */
	signals_init();
	if ((fd = fcgi_listen(argv[2], 0666, (uid_t)-1, (gid_t)-1, 1024)) == -1)
		return 1;
	if ((srv = fcgi_server_start(fd, atoi(argv[3]), handle, NULL)) == NULL)
		return 1;
	while (!signals_stopping())
		signals_sleep(1000);
	fcgi_server_stop(srv);
	return 0;
}
