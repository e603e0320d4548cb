/*
 * tasks.c - a task's life: new (expand it into pushes, released at once
 * if it has no rate), pushing (release them at its rate; stop after its
 * failures), then done when every push has its result, or expired at its
 * validity. Each step is one transaction, so a release and its NOTIFY
 * sitesys_push go out together.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "location/location_db.h"
#include "notifymgr.h"
#include "util/db.h"
#include "util/log.h"

static const char NEW_SQL[] =
    "SELECT id FROM notify_task WHERE state = 'new' ORDER BY id LIMIT 16";

/* Tasks with a rate and pushes still held: how many they may have out. */
static const char RATED_SQL[] =
    "SELECT t.id, t.rate_per_minute, "
    "extract(epoch FROM now() - t.expanded_at), "
    "(SELECT count(*) FROM notify_push p WHERE p.task = t.id "
    "AND p.release_seq IS NOT NULL) FROM notify_task t "
    "WHERE t.state = 'pushing' AND t.rate_per_minute IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM notify_push p WHERE p.task = t.id "
    "AND p.release_seq IS NULL)";

/* The next n of a task: online clients first, so they go out first. */
static const char RELEASE_SOME_SQL[] =
    "UPDATE notify_push p SET release_seq = nextval('notify_release_seq'), "
    "released_at = now() WHERE p.task = $1 AND p.guid IN "
    "(SELECT guid FROM notify_push WHERE task = $1 AND release_seq IS NULL "
    "ORDER BY online DESC, guid LIMIT $2)";

static const char STOP_SQL[] =
    "UPDATE notify_task t SET state = 'stopped' WHERE t.state = 'pushing' "
    "AND t.stop_after_failures IS NOT NULL AND (SELECT count(*) FROM "
    "notify_push p WHERE p.task = t.id AND p.status = 'failed') >= "
    "t.stop_after_failures RETURNING t.id, t.stop_after_failures";

static const char DONE_SQL[] =
    "UPDATE notify_task t SET state = 'done', finished_at = now() "
    "WHERE t.state = 'pushing' AND NOT EXISTS (SELECT 1 FROM notify_push p "
    "WHERE p.task = t.id AND p.status IS NULL) RETURNING t.id";

/* Past their validity: what has no result by now never will. */
static const char EXPIRE_SQL[] =
    "WITH e AS (UPDATE notify_task SET finished_at = now(), state = "
    "CASE WHEN state = 'pushing' THEN 'expired' ELSE state END "
    "WHERE state IN ('pushing', 'stopped') AND finished_at IS NULL "
    "AND valid_until <= now() RETURNING id), "
    "x AS (UPDATE notify_push p SET status = 'expired' FROM e "
    "WHERE p.task = e.id AND p.status IS NULL) SELECT id FROM e";

static int
tx(PGconn *db, const char *sql)
{
	if (db_cmd(db, sql, 0, NULL) == -1) {
		log_error("could not %s a transaction: %s",
		    sql[0] == 'B' ? "begin" : "commit", db_error());
		return -1;
	}
	return 0;
}

/* Expand each new task in its own transaction, against one snapshot of
 * the boundary model (read before, in a transaction of its own). */
static int
expand_new(PGconn *db, struct task_counts *c)
{
	PGresult *res = db_exec(db, NEW_SQL, 0, NULL);
	struct loc_model *m = NULL;
	char why[256];
	int rc = 0;

	if (res == NULL) {
		log_error("could not read the new tasks: %s", db_error());
		return -1;
	}
	if (PQntuples(res) > 0 &&
	    (m = loc_db_load(db, why, sizeof(why))) == NULL) {
		log_error("could not load the boundary model: %s", why);
		rc = -1;
	}
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		unsigned long released = 0;

		if ((rc = tx(db, "BEGIN")) == -1)
			break;
		if (expand_task(db, m, PQgetvalue(res, i, 0), &released) ==
		    -1) {
			db_cmd(db, "ROLLBACK", 0, NULL);
			rc = -1;
		} else if ((rc = tx(db, "COMMIT")) == 0) {
			c->expanded++;
			c->released += released;
		}
	}
	if (m != NULL)
		loc_model_free(m);
	PQclear(res);
	return rc;
}

/* Release what each rated task may have out by now: rate per minute
 * since its expansion, the first at once. */
static int
release(PGconn *db, struct task_counts *c)
{
	PGresult *res = db_exec(db, RATED_SQL, 0, NULL);
	char lim[32];

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		double rate = atof(PQgetvalue(res, i, 1)),
		       secs = atof(PQgetvalue(res, i, 2));
		long out = atol(PQgetvalue(res, i, 3));
		long allowed = (long)floor(rate * secs / 60.0) + 1 - out;
		const char *params[2] = { PQgetvalue(res, i, 0), lim };
		PGresult *up;

		if (allowed <= 0)
			continue;
		snprintf(lim, sizeof(lim), "%ld", allowed);
		if ((up = db_exec(db, RELEASE_SOME_SQL, 2, params)) == NULL) {
			PQclear(res);
			return -1;
		}
		c->released += strtoul(PQcmdTuples(up), NULL, 10);
		PQclear(up);
	}
	PQclear(res);
	return 0;
}

/* Stop, finish and expire; each task's change logged. */
static int
close_tasks(PGconn *db, struct task_counts *c)
{
	PGresult *res;

	if ((res = db_exec(db, STOP_SQL, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++, c->stopped++)
		log_warn("task %s stopped: %s results failed",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	if ((res = db_exec(db, DONE_SQL, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++, c->done++)
		log_info("task %s done: every client answered",
		    PQgetvalue(res, i, 0));
	PQclear(res);
	if ((res = db_exec(db, EXPIRE_SQL, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++, c->expired++)
		log_info("task %s expired", PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

int
tasks_tick(PGconn *db, struct task_counts *c)
{
	if (expand_new(db, c) == -1 || tx(db, "BEGIN") == -1)
		return -1;
	if (release(db, c) == -1 || close_tasks(db, c) == -1) {
		log_error("could not move the tasks on: %s", db_error());
		db_cmd(db, "ROLLBACK", 0, NULL);
		return -1;
	}
	return tx(db, "COMMIT");
}
