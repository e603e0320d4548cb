/*
 * sitesys-mp - the management point: FastCGI behind nginx for state
 * messages, client registration and policy
 */
#include <stdio.h>
#include <time.h>

#include "component.h"
#include "daemon.h"
#include "fcgi_service.h"
#include "group_commit.h"
#include "mp.h"
#include "util/db.h"
#include "util/log.h"
#include "util/signals.h"

#define REPORT_SECONDS 60

static struct mp mp; /* what the handlers share */
static PGconn *report_db; /* the main thread's, for its reports */
static time_t last_report;

/* Report state to the site database, connecting as needed. */
static void
mp_report(struct fcgi_service *svc, const char *state)
{
	struct group_commit_stats st;
	char detail[200], err[1536];

	if (report_db == NULL || !db_alive(report_db)) {
		if (report_db != NULL)
			PQfinish(report_db);
		report_db = daemon_db_connect(
		    daemon_db_conninfo(*svc->cfp), err, sizeof(err));
		if (report_db == NULL) {
			if (!daemon_db_refused())
				log_error("%s", err);
			return;
		}
	}
	group_commit_stats(svc->gc, &st);
	snprintf(detail, sizeof(detail),
	    "%lu requests, %lu batches into statsys.box, boundary model "
	    "loaded %lu times",
	    atomic_load(&svc->requests), st.items, mp_models_loads(mp.models));
	component_report(report_db, state, detail);
}

/* Load the boundary model and follow its changes; 0 or -1. */
static int
mp_start(struct fcgi_service *svc)
{
	mp.cf = *svc->cfp;
	mp.gc = svc->gc;
	mp.statsys = &svc->inbox[0];
	if ((mp.models = mp_models_start(mp.cf)) == NULL)
		return -1;
	svc->arg = &mp;
	return 0;
}

/* Report every minute; the threads do the rest. */
static void
mp_work(struct fcgi_service *svc)
{
	if (time(NULL) - last_report >= REPORT_SECONDS) {
		mp_report(svc, "running");
		last_report = time(NULL);
	}
	signals_sleep(1000);
}

/* Report the stop; release the model and the connection. */
static void
mp_stop(struct fcgi_service *svc)
{
	mp_report(svc, "stopped");
	mp_models_stop(mp.models);
	if (report_db != NULL)
		PQfinish(report_db);
	report_db = NULL;
}

int
main(int argc, char **argv)
{
	static const struct fcgi_route routes[] = {
		{ "POST", "/mp/v1/statemsg", mp_statemsg },
		{ "POST", "/mp/v1/register", mp_register },
		{ "GET", "/mp/v1/policy", mp_policy },
		{ "POST", "/mp/v1/location", mp_location },
	};
	static const struct fcgi_role role = {
		.name = "sitesys-mp",
		.section = "mp",
		.inboxes = { "statsys.box" },
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.start = mp_start,
		.work = mp_work,
		.stop = mp_stop,
	};

	return fcgi_service_main(argc, argv, &role);
}
