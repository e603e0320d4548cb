/*
 * cmd_db.c - sitectl db init|upgrade|status: the schema migrations and the
 * programs' roles (db_roles.c), as the administrator
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrations.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/sjson.h"

/* Taken inside each transaction so two upgrades never interleave. */
#define SCHEMA_LOCK "SELECT pg_advisory_xact_lock(7413000001)"

static int
latest_version(void)
{
	int v = 0;

	for (const struct migration *m = migrations; m->name != NULL; m++)
		v = m->version;
	return v;
}

/* The applied version: 0 if uninitialized, -1 on error. */
static int
current_version(PGconn *db)
{
	PGresult *res = db_exec(db,
	    "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN -1 "
	    "ELSE 0 END",
	    0, NULL);
	int v;

	if (res == NULL)
		goto fail;
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (v == -1)
		return 0;
	if ((res = db_exec(db,
	         "SELECT coalesce(max(version), 0) FROM "
	         "schema_version",
	         0, NULL)) == NULL)
		goto fail;
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
fail:
	ctl_err("could not read the schema version: %s", db_error());
	return -1;
}

static int
apply_one(PGconn *db, const struct migration *m)
{
	char ver[16];
	const char *params[2] = { ver, m->name };

	if (db_script(db, m->sql) == -1) {
		ctl_err("migration %03d_%s failed: %s", m->version, m->name,
		    db_error());
		return -1;
	}
	snprintf(ver, sizeof(ver), "%d", m->version);
	if (db_cmd(db,
	        "INSERT INTO schema_version (version, name) "
	        "VALUES ($1, $2)",
	        2, params) == -1) {
		ctl_err("could not record migration %s: %s", ver, db_error());
		return -1;
	}
	printf("applied %03d_%s\n", m->version, m->name);
	return 0;
}

/*
 * Apply every migration above the current version, then the programs'
 * roles and grants, in one transaction.
 */
static int
migrate(struct ctl *ctl, PGconn *db, bool need_init)
{
	int cur, latest = latest_version(), n = 0;

	if (db_cmd(db, "BEGIN", 0, NULL) == -1 ||
	    db_cmd(db, SCHEMA_LOCK, 0, NULL) == -1) {
		ctl_err("%s", db_error());
		return EXIT_FAIL;
	}
	if ((cur = current_version(db)) == -1)
		goto fail;
	if (cur > latest) {
		ctl_err("the database schema is at version %d, newer than "
		        "this sitectl knows (%d): upgrade sitesys first",
		    cur, latest);
		goto fail;
	}
	if (need_init && cur == 0) {
		ctl_err("the database is not initialized: "
		        "run \"sitectl db init\"");
		goto fail;
	}
	if (db_cmd(db,
	        "CREATE TABLE IF NOT EXISTS schema_version ("
	        "version integer PRIMARY KEY, name text NOT NULL, "
	        "applied timestamptz NOT NULL DEFAULT now())",
	        0, NULL) == -1) {
		ctl_err("%s", db_error());
		goto fail;
	}
	for (const struct migration *m = migrations; m->name != NULL; m++) {
		if (m->version <= cur)
			continue;
		if (apply_one(db, m) == -1)
			goto fail;
		n++;
	}
	if (db_roles_apply(ctl, db) == -1)
		goto fail;
	if (db_cmd(db, "COMMIT", 0, NULL) == -1) {
		ctl_err("could not commit: %s", db_error());
		return EXIT_FAIL;
	}
	if (n == 0)
		printf("schema is up to date at version %d\n", cur);
	else
		printf("schema is now at version %d\n", latest);
	return EXIT_OK;
fail:
	db_cmd(db, "ROLLBACK", 0, NULL);
	return EXIT_FAIL;
}

static int
db_status(struct ctl *ctl, PGconn *db)
{
	int cur = current_version(db), latest = latest_version();
	json_t *doc, *pending;

	if (cur == -1)
		return EXIT_FAIL;
	doc = json_object();
	pending = json_array();
	sjson_set(doc, "database", json_string(PQdb(db)));
	sjson_set(doc, "version", json_integer(cur));
	sjson_set(doc, "latest", json_integer(latest));
	for (const struct migration *m = migrations; m->name != NULL; m++) {
		char name[128];

		if (m->version <= cur)
			continue;
		snprintf(name, sizeof(name), "%03d_%s", m->version, m->name);
		sjson_append(pending, json_string(name));
	}
	sjson_set(doc, "pending", pending);
	sjson_set(doc, "state",
	    json_string(cur == 0   ? "uninitialized"
	            : cur > latest ? "newer than this sitectl"
	            : cur < latest ? "upgrade needed"
	                           : "up to date"));
	if (ctl->json) {
		ctl_json(doc);
	} else {
		printf("database:  %s\nversion:   %d\nlatest:    %d\nstate:    "
		       " %s\n",
		    PQdb(db), cur, latest,
		    json_string_value(json_object_get(doc, "state")));
		for (size_t i = 0; i < json_array_size(pending); i++)
			printf("pending:   %s\n",
			    json_string_value(json_array_get(pending, i)));
	}
	json_decref(doc);
	return cur > latest ? EXIT_FAIL : EXIT_OK;
}

int
cmd_db(struct ctl *ctl, int argc, char **argv)
{
	const char *pos[1], *vals[1];
	PGconn *db;
	int npos, rc;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 0, &npos) == -1)
		return ctl_usage("db");
	if (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "upgrade") != 0 &&
	    strcmp(argv[1], "status") != 0)
		return ctl_usage("db");
	if ((db = ctl_db_admin(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(argv[1], "status") == 0)
		rc = db_status(ctl, db);
	else
		rc = migrate(ctl, db, strcmp(argv[1], "upgrade") == 0);
	PQfinish(db);
	return rc;
}
