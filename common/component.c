/* component.c - a daemon's status row in the site database */
#include <stdio.h>
#include <unistd.h>

#include "component.h"
#include "util/db.h"
#include "util/log.h"

int
component_report(PGconn *db, const char *state, const char *detail)
{
	char host[256] = "localhost", pid[16];
	const char *params[5] = { log_progname(), host, pid, state, detail };

	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (db_cmd(db,
	        "INSERT INTO component (name, host, pid, state, detail, "
	        "started, last_report) VALUES ($1, $2, $3, $4, $5, now(), "
	        "now()) "
	        "ON CONFLICT (name, host) DO UPDATE SET pid = $3, state = $4, "
	        "detail = $5, last_report = now(), started = CASE WHEN "
	        "component.pid = $3::int THEN component.started ELSE now() END",
	        5, params) == -1) {
		log_error("could not report component status: %s", db_error());
		return -1;
	}
	return 0;
}
