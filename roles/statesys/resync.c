/*
 * resync.c - the periodic resynchronization check (seed 001) and the
 * history's retention
 */
#include <stdio.h>
#include <stdlib.h>
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

/* Delete table's rows received more than days ago; 0 or -1 (logged). */
static int
expire(PGconn *db, const char *table, const char *what, const char *days)
{
	char sql[160];
	const char *params[1] = { days };
	PGresult *res;

	snprintf(sql, sizeof(sql),
	    "DELETE FROM %s WHERE received < now() - "
	    "make_interval(days => $1::int)",
	    table);
	if ((res = db_exec(db, sql, 1, params)) == NULL) {
		log_error("could not expire the %s: %s", what, db_error());
		return -1;
	}
	if (atol(PQcmdTuples(res)) > 0)
		log_info("deleted %s %s older than %s days", PQcmdTuples(res),
		    what, days);
	PQclear(res);
	return 0;
}

/* The history, and the unverified messages with it. */
static int
history_expire(PGconn *db, const struct conf *cf)
{
	char days[16];

	snprintf(days, sizeof(days), "%lld",
	    conf_int(cf, "statesys", "history_days"));
	if (expire(db, "statemsg_history", "state messages", days) == -1 ||
	    expire(db, "statemsg_unverified", "unverified state messages",
	        days) == -1)
		return -1;
	return 0;
}

int
resync_tick(PGconn *db, const struct conf *cf)
{
	static time_t last;
	time_t now = time(NULL);

	if (last != 0 &&
	    now - last < conf_int(cf, "statesys", "resync_check_minutes") * 60)
		return 0;
	last = now;
	if (resync_check(db, cf) == -1 || history_expire(db, cf) == -1)
		return -1;
	return 0;
}
