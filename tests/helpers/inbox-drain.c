/*
 * inbox-drain - a test daemon on the shared skeleton: drains test.box into
 * the table test_processed (one row per file) through the real inbox
 * service and ledger, connected as [statesys] conninfo says (daemon.bats
 * makes the table and grants it to that role).
 * SITESYS_CRASH_AT=POINT[:N] (util/crash.h) kills it, as a kill -9 would,
 * the Nth time the inbox code passes POINT.
 */
#include <stdio.h>

#include "daemon.h"
#include "inbox_service.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/log.h"

/* One row per file, by COPY as a real role loads its rows. */
static int
drain_process(PGconn *db, void *arg, struct inbox_item *items, size_t n)
{
	struct buf rows = { 0 };
	int rc;

	(void)arg;
	for (size_t i = 0; i < n; i++) {
		const char *body =
		    json_string_value(json_object_get(items[i].doc, "body"));

		db_copy_field(&rows, items[i].name);
		buf_addc(&rows, '\t');
		db_copy_field(&rows, body ? body : "");
		buf_addc(&rows, '\n');
	}
	rc = db_copy_begin(db, "COPY test_processed (name, body) FROM STDIN");
	if (rc == 0)
		rc = db_copy_put(db, rows.p, rows.len);
	if (db_copy_end(db) == -1 && rc == 0)
		rc = -1;
	if (rc == -1)
		log_error("could not load %zu files: %s", n, db_error());
	buf_free(&rows);
	return rc;
}

static int
drain_validate(void *arg, struct inbox_item *item, char *why, size_t len)
{
	(void)arg;
	if (!json_is_string(json_object_get(item->doc, "body"))) {
		snprintf(
		    why, len, "member \"body\" is missing or not a string");
		return -1;
	}
	return 0;
}

static int
drain_run(struct conf **cfp)
{
	struct inbox_service svc = {
		.box = "test.box",
		.format = "sitesys.test/1",
		.validate = drain_validate,
		.process = drain_process,
	};

	return inbox_serve(cfp, &svc);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = "inbox-drain",
		.section = "statesys",
		.run = drain_run,
	};

	return daemon_main(argc, argv, &spec);
}
