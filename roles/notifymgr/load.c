/*
 * load.c - bgb.box into the database: task events (.bts) into the push
 * queue, presence snapshots (.bos) into client_online; COPY into staging
 * tables, then one set-based statement each, inside the batch's
 * transaction
 */
#include <stdio.h>
#include <string.h>

#include "bgb.h"
#include "inbox.h"
#include "notifymgr.h"
#include "statemsg.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/db.h"
#include "util/log.h"

static const char STAGE_SQL[] =
    "CREATE TEMP TABLE IF NOT EXISTS bts_stage (task bigint, guid text, "
    "kind text, at timestamptz, status text, exit_code integer, "
    "output text, server text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS bos_stage (guid text, via text, "
    "since timestamptz) ON COMMIT DELETE ROWS";

/* The earliest of each kind of event wins; a result replaces "expired"
 * (the client did run it, late). */
static const char *const BTS_APPLY[] = {
	"UPDATE notify_push p SET pushed_at = s.at, pushed_by = s.server "
	"FROM (SELECT DISTINCT ON (task, guid) task, guid, at, server "
	"FROM bts_stage WHERE kind = 'pushed' ORDER BY task, guid, at) s "
	"WHERE p.task = s.task AND p.guid = s.guid "
	"AND (p.pushed_at IS NULL OR p.pushed_at > s.at)",

	"UPDATE notify_push p SET received_at = s.at "
	"FROM (SELECT task, guid, min(at) AS at FROM bts_stage "
	"WHERE kind = 'received' GROUP BY task, guid) s "
	"WHERE p.task = s.task AND p.guid = s.guid "
	"AND (p.received_at IS NULL OR p.received_at > s.at)",

	"UPDATE notify_push p SET result_at = s.at, status = s.status, "
	"exit_code = s.exit_code, output = s.output "
	"FROM (SELECT DISTINCT ON (task, guid) * FROM bts_stage "
	"WHERE kind = 'result' ORDER BY task, guid, at) s "
	"WHERE p.task = s.task AND p.guid = s.guid "
	"AND (p.status IS NULL OR p.status = 'expired')",
};

/* Events whose push is unknown (a task deleted, a client not targeted). */
static const char UNMATCHED_SQL[] =
    "SELECT count(*) FROM bts_stage s WHERE NOT EXISTS (SELECT 1 FROM "
    "notify_push p WHERE p.task = s.task AND p.guid = s.guid)";

/* A snapshot: its clients online on its server's worker (unless a later
 * snapshot of another has them), the rest of that worker's offline. */
static const char BOS_ONLINE_SQL[] =
    "INSERT INTO client_online AS c (guid, server, worker, online, via, "
    "since, reported) SELECT guid, $1, $3, true, via, since, $2 "
    "FROM bos_stage ON CONFLICT (guid) DO UPDATE SET "
    "server = EXCLUDED.server, worker = EXCLUDED.worker, online = true, "
    "via = EXCLUDED.via, since = EXCLUDED.since, "
    "reported = EXCLUDED.reported WHERE c.reported <= EXCLUDED.reported";
static const char BOS_OFFLINE_SQL[] =
    "UPDATE client_online c SET online = false, reported = $2 "
    "WHERE c.server = $1 AND c.worker = $3 AND c.online "
    "AND c.reported <= $2 "
    "AND NOT EXISTS (SELECT 1 FROM bos_stage s WHERE s.guid = c.guid)";

int
load_prepare(PGconn *db)
{
	if (db_script(db, STAGE_SQL) == -1) {
		log_error("could not make the staging tables: %s", db_error());
		return -1;
	}
	return 0;
}

static void
add_guid(struct buf *b, const char *guid)
{
	char low[STATEMSG_GUID_LEN + 1];

	statemsg_guid_lower(guid, low);
	buf_adds(b, low);
}

/* One event as a row of bts_stage. */
static void
add_event(struct buf *b, const char *server, const struct bgb_event *e)
{
	buf_addf(b, "%lld\t", e->task);
	add_guid(b, e->client);
	buf_addf(b, "\t%s\t", bgb_event_name(e->kind));
	db_copy_time(b, e->at_us);
	if (e->kind == BGB_RESULT) {
		buf_addf(b, "\t%s\t", bgb_status_name(e->status));
		if (e->has_exit)
			buf_addf(b, "%d", e->exit_code);
		else
			buf_adds(b, "\\N");
		buf_addc(b, '\t');
		db_copy_field(b, e->output);
	} else
		buf_adds(b, "\t\\N\t\\N\t\\N");
	buf_addc(b, '\t');
	db_copy_field(b, server);
	buf_addc(b, '\n');
}

static int
copy_rows(PGconn *db, const char *sql, const struct buf *b)
{
	int rc;

	if (db_copy_begin(db, sql) == -1)
		return -1;
	rc = b->len ? db_copy_put(db, b->p, b->len) : 0;
	return db_copy_end(db) == -1 ? -1 : rc;
}

/* Every .bts of the batch, at once. */
static int
load_events(
    PGconn *db, struct inbox_item *items, size_t n, struct load_counts *counts)
{
	struct buf b = { 0 };
	unsigned long events = 0;
	PGresult *res;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct bgb_file *f = items[i].parsed;

		if (items[i].seen || f->presence)
			continue;
		for (size_t j = 0; j < f->n; j++)
			add_event(&b, f->server, &f->events[j]);
		events += f->n;
	}
	if (events == 0)
		goto out;
	rc = copy_rows(db, "COPY bts_stage FROM STDIN", &b);
	for (size_t i = 0;
	     rc == 0 && i < sizeof(BTS_APPLY) / sizeof(*BTS_APPLY); i++)
		rc = db_cmd(db, BTS_APPLY[i], 0, NULL);
	if (rc == 0 && (res = db_exec(db, UNMATCHED_SQL, 0, NULL)) != NULL) {
		counts->unmatched += strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	} else
		rc = -1;
	if (rc == -1)
		log_error("could not load task status: %s", db_error());
	else
		counts->events += events;
	rc = rc == 0 ? db_cmd(db, "TRUNCATE bts_stage", 0, NULL) : -1;
out:
	buf_free(&b);
	return rc;
}

/* One .bos: a whole snapshot of one server's clients. */
static int
load_snapshot(PGconn *db, const struct bgb_file *f)
{
	struct buf b = { 0 };
	char at[CLOCK_RFC3339_LEN], worker[16];
	const char *params[3] = { f->server,
		clock_rfc3339(at, sizeof(at), f->at_us, 6), worker };
	int rc;

	snprintf(worker, sizeof(worker), "%d", f->worker);
	for (size_t i = 0; i < f->n; i++) {
		add_guid(&b, f->online[i].client);
		buf_addf(&b, "\t%s\t", f->online[i].via);
		db_copy_time(&b, f->online[i].since_us);
		buf_addc(&b, '\n');
	}
	rc = copy_rows(db, "COPY bos_stage FROM STDIN", &b);
	if (rc == 0)
		rc = db_cmd(db, BOS_ONLINE_SQL, 3, params);
	if (rc == 0)
		rc = db_cmd(db, BOS_OFFLINE_SQL, 3, params);
	if (rc == 0)
		rc = db_cmd(db, "TRUNCATE bos_stage", 0, NULL);
	if (rc == -1)
		log_error("could not load the presence of \"%s\": %s",
		    f->server, db_error());
	buf_free(&b);
	return rc;
}

int
load_files(
    PGconn *db, struct inbox_item *items, size_t n, struct load_counts *counts)
{
	if (load_events(db, items, n, counts) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct bgb_file *f = items[i].parsed;

		if (items[i].seen || !f->presence)
			continue;
		if (load_snapshot(db, f) == -1)
			return -1;
		counts->snapshots++;
	}
	return 0;
}
