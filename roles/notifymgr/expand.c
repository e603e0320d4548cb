/*
 * expand.c - a new task into its pushes: one per client it targets, its
 * named clients or its collection's members (collection_stage), each
 * marked online as the last presence snapshots say. A task without a
 * rate has its pushes released as they are inserted: one write of them,
 * not an insert and then an update of every row.
 */
#include <stdio.h>
#include <stdlib.h>

#include "location/collection.h"
#include "notifymgr.h"
#include "util/db.h"
#include "util/log.h"

static const char COLLECTION_SQL[] =
    "SELECT collection FROM notify_task WHERE id = $1 "
    "AND collection IS NOT NULL";

static const char NAMED_STAGE_SQL[] =
    "INSERT INTO member_stage SELECT guid FROM notify_task_client "
    "WHERE task = $1";

static const char PUSH_SQL[] =
    "INSERT INTO notify_push (task, guid, online, release_seq, released_at) "
    "SELECT $1, s.guid, coalesce(o.online, false), "
    "CASE WHEN t.rate_per_minute IS NULL "
    "THEN nextval('notify_release_seq') END, "
    "CASE WHEN t.rate_per_minute IS NULL THEN now() END "
    "FROM (SELECT DISTINCT guid FROM member_stage) s "
    "CROSS JOIN (SELECT rate_per_minute FROM notify_task WHERE id = $1) t "
    "LEFT JOIN client_online o ON o.guid = s.guid "
    "ON CONFLICT DO NOTHING";

static const char TASK_SQL[] =
    "UPDATE notify_task t SET state = 'pushing', expanded_at = now(), "
    "targeted = n.targeted, online_at_start = n.online FROM "
    "(SELECT count(*) AS targeted, count(*) FILTER (WHERE online) AS online "
    "FROM notify_push WHERE task = $1) n WHERE t.id = $1 "
    "RETURNING t.targeted, t.online_at_start, t.rate_per_minute IS NULL";

/* The task's clients into member_stage; 0, or -1 with why. */
static int
stage(PGconn *db, const struct loc_model *m, const char *id, char *why,
    size_t len)
{
	PGresult *res = db_exec(db, COLLECTION_SQL, 1, &id);
	int rc;

	if (res != NULL && PQntuples(res) == 1) {
		rc = collection_stage(db, m, PQgetvalue(res, 0, 0), why, len);
		PQclear(res);
		return rc;
	}
	/* no collection: the task's named clients */
	rc = res == NULL || collection_stage_reset(db) == -1 ||
	        db_cmd(db, NAMED_STAGE_SQL, 1, &id) == -1
	    ? -1
	    : 0;
	if (rc == -1)
		snprintf(why, len, "%s", db_error());
	PQclear(res);
	return rc;
}

long
expand_task(PGconn *db, const struct loc_model *m, const char *id,
    unsigned long *released)
{
	const char *params[1] = { id };
	char why[512];
	PGresult *res;
	long n;

	if (stage(db, m, id, why, sizeof(why)) == -1) {
		log_error("could not expand task %s: %s", id, why);
		return -1;
	}
	if (db_cmd(db, PUSH_SQL, 1, params) == -1 ||
	    (res = db_exec(db, TASK_SQL, 1, params)) == NULL) {
		log_error("could not expand task %s: %s", id, db_error());
		return -1;
	}
	n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	if (PQgetvalue(res, 0, 2)[0] == 't')
		*released += (unsigned long)n;
	log_info("task %s: %ld clients targeted, %s of them online%s", id, n,
	    PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2)[0] == 't' ? ", all released" : "");
	PQclear(res);
	return n;
}
