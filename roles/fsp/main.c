/*
 * main.c - sitesys-fsp, the fallback status point: state messages over
 * plain HTTP (nginx, FastCGI) spooled durably into fsp.box and forwarded
 * into statsys.box no faster than the throttle
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fsp.h"
#include "group_commit.h"
#include "intake.h"
#include "util/conf.h"
#include "util/crash.h"
#include "util/fcgi_server.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"

#define FSP_PATH "/fsp/v1/statemsg"

static struct inbox spool, out;
static int listen_fd = -1;

/* POST /fsp/v1/statemsg, and nothing else. */
static int
fsp_handle(struct fcgi_req *req, void *arg)
{
	struct group_commit *gc = arg;
	const char *path = fcgi_path(req);

	if (strcmp(path, FSP_PATH) != 0)
		return fcgi_error(req, 404, "no such endpoint: %s", path);
	if (strcmp(fcgi_method(req), "POST") != 0) {
		fcgi_add_header(req, "Allow", "POST");
		return fcgi_error(req, 405, "%s takes POST only", path);
	}
	return intake_statemsg(req, gc, &spool);
}

static int
fsp_init(struct conf *cf)
{
	const char *root = conf_str(cf, "site", "inbox_dir");
	const char *sock = conf_str(cf, "fsp", "fastcgi_socket");
	const char *user = conf_str(cf, "site", "user");

	if (inbox_open_owned(&spool, root, FSP_SPOOL, user) == -1 ||
	    inbox_open_owned(&out, root, FSP_OUT, user) == -1)
		return -1;
	/* nginx's workers run as another user: anyone may connect, as
	 * anyone may reach the FSP over HTTP */
	if ((listen_fd = fcgi_listen(sock, 0666, 1024)) == -1)
		return -1;
	log_info("listening on %s", sock);
	return 0;
}

/* The forwarder's loop, until SIGTERM; SIGHUP rereads the throttle. */
static void
fsp_forward(struct conf **cfp, struct fwd *fw)
{
	int wait_ms;

	while (!signals_stopping()) {
		if (signals_take(SIGHUP) && daemon_reload(cfp))
			fwd_configure(fw, *cfp);
		if (fwd_step(fw, &wait_ms) > 0)
			continue;
		fwd_wait(fw, wait_ms);
	}
}

static void
fsp_log_stats(const struct fwd *fw, struct group_commit *gc)
{
	struct group_commit_stats st;

	group_commit_stats(gc, &st);
	log_info("spooled %lu batches into %lu files in %lu group commits "
	         "(at most %lu at once, %lu failed); forwarded %lu messages "
	         "from %lu files",
	    st.items, st.files, st.groups, st.largest, st.failed, fw->messages,
	    fw->files);
}

static int
fsp_run(struct conf **cfp)
{
	struct group_commit *gc;
	struct fcgi_server *srv;
	struct fwd fw;

	if (fwd_open(&fw, &spool, &out, *cfp) == -1)
		return 1;
	if ((gc = group_commit_start()) == NULL) {
		fwd_close(&fw);
		return 1;
	}
	srv = fcgi_server_start(
	    listen_fd, (int)conf_int(*cfp, "fsp", "threads"), fsp_handle, gc);
	if (srv == NULL) {
		group_commit_stop(gc);
		fwd_close(&fw);
		return 1;
	}
	log_info("forwarding %s to \"%s\", at most %lld messages per %lld s",
	    spool.name, out.name, fw.limit, (long long)fw.interval_ms / 1000);
	fsp_forward(cfp, &fw);
	fcgi_server_stop(srv);
	fsp_log_stats(&fw, gc);
	group_commit_stop(gc);
	fwd_close(&fw);
	inbox_close(&spool);
	inbox_close(&out);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = "sitesys-fsp",
		.init = fsp_init,
		.run = fsp_run,
	};

	/* inbox.c still reports its steps (put.created...) to this hook:
	 * let SITESYS_CRASH_AT stop at them too */
	inbox_crash_hook = crash_point;
	return daemon_main(argc, argv, &spec);
}
