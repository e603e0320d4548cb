/*
 * history.c - the state message history's day partitions: made days
 * ahead, so that a message never waits for one, and dropped whole once
 * older than [statesys] history_days (schema 009). The day is the
 * database's, as every time the loader keeps but the message's own; the
 * functions that take the loader's role no other day.
 */
#include <stdio.h>
#include <stdlib.h>

#include "statesys.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"

int
history_prepare(PGconn *db)
{
	PGresult *res =
	    db_exec(db, "SELECT statemsg_history_make_ahead()", 0, NULL);

	if (res == NULL) {
		log_error("could not make the history's partitions ahead: %s",
		    db_error());
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_info("made partition %s of the state message history",
		    PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

/* The history's days older than days dropped whole; 0 or -1 (logged). */
static int
history_drop(PGconn *db, const char *days)
{
	const char *params[1] = { days };
	PGresult *res = db_exec(db,
	    "SELECT part, row_count, estimated "
	    "FROM statemsg_history_drop_older($1::int)",
	    1, params);

	if (res == NULL) {
		log_error("could not expire the history: %s", db_error());
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_info("expired %s: %s%s state messages received more "
		         "than %s days ago",
		    PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 2)[0] == 't' ? "about " : "",
		    PQgetvalue(res, i, 1), days);
	PQclear(res);
	return 0;
}

/* The unverified messages older than days, row by row (a small table). */
static int
unverified_expire(PGconn *db, const char *days)
{
	const char *params[1] = { days };
	PGresult *res = db_exec(db,
	    "DELETE FROM statemsg_unverified WHERE received < now() - "
	    "make_interval(days => $1::int)",
	    1, params);

	if (res == NULL) {
		log_error("could not expire the unverified state messages: %s",
		    db_error());
		return -1;
	}
	if (atol(PQcmdTuples(res)) > 0)
		log_info("deleted %s unverified state messages older than %s "
		         "days",
		    PQcmdTuples(res), days);
	PQclear(res);
	return 0;
}

int
history_keep(PGconn *db, const struct conf *cf)
{
	char days[16];
	int rc = 0;

	snprintf(days, sizeof(days), "%lld",
	    conf_int(cf, "statesys", "history_days"));
	/* each step whatever became of the others */
	if (history_prepare(db) == -1)
		rc = -1;
	if (history_drop(db, days) == -1)
		rc = -1;
	if (unverified_expire(db, days) == -1)
		rc = -1;
	return rc;
}
