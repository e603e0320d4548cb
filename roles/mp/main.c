/*
 * sitesys-mp - the management point: FastCGI behind nginx for state
 * messages, client registration and policy
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "component.h"
#include "daemon.h"
#include "group_commit.h"
#include "inbox.h"
#include "mp.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/signals.h"

static int listen_fd = -1;
static struct inbox statsys;
static atomic_ulong requests;

static const struct route {
	const char *method, *path;
	int (*fn)(struct fcgi_req *, struct mp *);
} routes[] = {
	{ "POST", "/mp/v1/statemsg", mp_statemsg },
	{ "POST", "/mp/v1/register", mp_register },
	{ "GET", "/mp/v1/policy", mp_policy },
	{ "POST", "/mp/v1/location", mp_location },
};

static int
mp_handle(struct fcgi_req *req, void *arg)
{
	const char *path = fcgi_path(req);

	atomic_fetch_add(&requests, 1);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		if (strcmp(fcgi_method(req), routes[i].method) != 0) {
			fcgi_add_header(req, "Allow", routes[i].method);
			return fcgi_error(req, 405, "%s takes %s only", path,
			    routes[i].method);
		}
		return routes[i].fn(req, arg);
	}
	return fcgi_error(req, 404, "no such endpoint: %s", path);
}

static int
mp_init(struct conf *cf)
{
	const char *sock = conf_str(cf, "mp", "fastcgi_socket");

	if (inbox_open_owned(&statsys, conf_str(cf, "site", "inbox_dir"),
	        "statsys.box", conf_str(cf, "site", "user")) == -1)
		return -1;
	if ((listen_fd = fcgi_listen(sock, 0666, 1024)) == -1)
		return -1;
	log_info("listening on %s", sock);
	return 0;
}

/* Report to the site database every minute, connecting as needed. */
static void
mp_report(
    const struct conf *cf, PGconn **db, const char *state, const struct mp *mp)
{
	struct group_commit_stats st;
	char detail[200], err[1536];

	if (*db == NULL || !db_connected(*db)) {
		if (*db != NULL)
			PQfinish(*db);
		*db = db_connect(
		    conf_str(cf, "database", "conninfo"), err, sizeof(err));
		if (*db == NULL) {
			log_error("%s", err);
			return;
		}
	}
	group_commit_stats(mp->gc, &st);
	snprintf(detail, sizeof(detail),
	    "%lu requests, %lu batches into statsys.box, boundary model "
	    "loaded %lu times",
	    atomic_load(&requests), st.items, mp_models_loads(mp->models));
	component_report(*db, state, detail);
}

static int
mp_run(struct conf **cfp)
{
	struct mp mp = { .cf = *cfp, .statsys = &statsys };
	struct fcgi_server *srv;
	PGconn *db = NULL;
	time_t last = 0;

	if ((mp.gc = group_commit_start()) == NULL)
		return 1;
	if ((mp.models = mp_models_start(*cfp)) == NULL) {
		group_commit_stop(mp.gc);
		return 1;
	}
	srv = fcgi_server_start(
	    listen_fd, (int)conf_int(*cfp, "mp", "threads"), mp_handle, &mp);
	if (srv == NULL) {
		mp_models_stop(mp.models);
		group_commit_stop(mp.gc);
		return 1;
	}
	while (!signals_stopping()) {
		if (time(NULL) - last >= 60) {
			mp_report(*cfp, &db, "running", &mp);
			last = time(NULL);
		}
		signals_sleep(1000);
		if (signals_take(SIGHUP))
			log_info("SIGHUP: sitesys-mp rereads its config only "
			         "when restarted");
	}
	fcgi_server_stop(srv);
	mp_report(*cfp, &db, "stopped", &mp);
	mp_models_stop(mp.models);
	group_commit_stop(mp.gc);
	if (db != NULL)
		PQfinish(db);
	inbox_close(&statsys);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = "sitesys-mp",
		.init = mp_init,
		.run = mp_run,
	};

	return daemon_main(argc, argv, &spec);
}
