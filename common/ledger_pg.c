/* ledger_pg.c - the inbox ledger in the site database (table inbox_ledger) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_pg.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/log.h"

/* BEGIN or COMMIT (what names it in the message); 0 or -1 logged. */
static int
lg_txn(void *ctx, const char *sql, const char *what)
{
	if (db_cmd(ctx, sql, 0, NULL) == -1) {
		log_error("could not %s a batch: %s", what, db_error());
		return -1;
	}
	return 0;
}

static int
lg_begin(void *ctx)
{
	return lg_txn(ctx, "BEGIN", "begin");
}

/* The names of items (all, or only those not seen) as a text[] literal. */
static void
names_array(struct buf *b, struct inbox_item *items, size_t n)
{
	const char **names = malloc(n * sizeof(*names));

	if (names == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		names[i] = items[i].name;
	db_text_array(b, names, n);
	free(names);
}

static int
lg_seen(void *ctx, const char *box, struct inbox_item *items, size_t n)
{
	struct buf arr = { 0 };
	const char *params[2];
	PGresult *res;

	names_array(&arr, items, n);
	params[0] = box;
	params[1] = arr.p;
	res = db_exec(ctx,
	    "SELECT name FROM inbox_ledger WHERE box = $1 AND "
	    "name = ANY($2::text[])",
	    2, params);
	buf_free(&arr);
	if (res == NULL) {
		log_error(
		    "could not read the ledger of %s: %s", box, db_error());
		return -1;
	}
	for (int row = 0; row < PQntuples(res); row++)
		for (size_t i = 0; i < n; i++)
			if (strcmp(PQgetvalue(res, row, 0), items[i].name) == 0)
				items[i].seen = true;
	PQclear(res);
	return 0;
}

static int
lg_record(void *ctx, const char *box, struct inbox_item *items, size_t n)
{
	struct buf arr = { 0 };
	const char *params[2];
	int rc;

	names_array(&arr, items, n);
	params[0] = box;
	params[1] = arr.p;
	rc = db_cmd(ctx,
	    "INSERT INTO inbox_ledger (box, name) "
	    "SELECT $1, unnest($2::text[])",
	    2, params);
	buf_free(&arr);
	if (rc == -1)
		log_error(
		    "could not record a batch of %s: %s", box, db_error());
	return rc;
}

static int
lg_commit(void *ctx)
{
	return lg_txn(ctx, "COMMIT", "commit");
}

static void
lg_rollback(void *ctx)
{
	if (db_connected(ctx) && db_cmd(ctx, "ROLLBACK", 0, NULL) == -1)
		log_error("could not roll back a batch: %s", db_error());
}

const struct inbox_ledger ledger_pg = {
	.begin = lg_begin,
	.seen = lg_seen,
	.record = lg_record,
	.commit = lg_commit,
	.rollback = lg_rollback,
};

long
ledger_pg_prune(PGconn *db, const char *box, int days)
{
	char daystr[16];
	const char *params[2] = { box, daystr };
	PGresult *res;
	long n;

	snprintf(daystr, sizeof(daystr), "%d", days);
	res = db_exec(db,
	    "DELETE FROM inbox_ledger WHERE box = $1 AND "
	    "processed < now() - make_interval(days => $2::int)",
	    2, params);
	if (res == NULL) {
		log_error(
		    "could not prune the ledger of %s: %s", box, db_error());
		return -1;
	}
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}
