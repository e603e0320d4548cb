/*
 * resync.c - the periodic resynchronization check (seed 001), with the
 * history's upkeep on the same period
 */
#include <stdio.h>
#include <time.h>

#include "statesys.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"

/*
 * A client is asked to resynchronize when one of its missing ranges is
 * older than the minimum age, unless a request is outstanding and younger
 * than the reissue period. A completion (700/2) at or after the request
 * ends it.
 */
static const char resync_sql[] =
    "UPDATE client_message_stats s SET last_resync_issued_time = now() "
    "WHERE EXISTS (SELECT 1 FROM client_missing_range r "
    "  WHERE r.client = s.client "
    "  AND r.detected < now() - make_interval(mins => $1::int)) "
    "AND (s.last_resync_issued_time IS NULL "
    "  OR s.last_resync_client_completed_time >= s.last_resync_issued_time "
    "  OR s.last_resync_issued_time < now() - make_interval(days => $2::int)) "
    "RETURNING client";

static int
resync_check(PGconn *db, const struct conf *cf)
{
	char age[16], days[16];
	const char *params[2] = { age, days };
	PGresult *res;

	snprintf(age, sizeof(age), "%lld",
	    conf_int(cf, "statesys", "resync_min_age_minutes"));
	snprintf(days, sizeof(days), "%lld",
	    conf_int(cf, "statesys", "resync_reissue_days"));
	if ((res = db_exec(db, resync_sql, 2, params)) == NULL) {
		log_error("could not run the resync check: %s", db_error());
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_info("resync requested from %s: missing messages older "
		         "than %s minutes",
		    PQgetvalue(res, i, 0), age);
	PQclear(res);
	return 0;
}

int
resync_tick(PGconn *db, const struct conf *cf)
{
	static time_t last;
	time_t now = time(NULL);
	int rc;

	if (last != 0 &&
	    now - last < conf_int(cf, "statesys", "resync_check_minutes") * 60)
		return 0;
	last = now;
	rc = resync_check(db, cf);

	/* the upkeep even if the check failed, and the other way round */
	if (history_keep(db, cf) == -1)
		rc = -1;
	return rc;
}
