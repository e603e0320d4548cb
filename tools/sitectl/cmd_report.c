/*
 * cmd_report.c - sitectl report
 * resync-outstanding|state|unverified|forged|history
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/sjson.h"

/* Seed 001's two queries, as the documents write them. */
static const char outstanding_sql[] =
    "SELECT (select count(*) from SR_ClientMessageStats where "
    "LastResyncIssuedTime is not null and (LastResyncIssuedTime > "
    "LastResyncClientCompletedTime)), "
    "(select count(*) from SR_ClientMessageStats where LastResyncIssuedTime "
    "is not null and LastResyncClientCompletedTime is null)";

static int
report_outstanding(struct ctl *ctl, PGconn *db)
{
	PGresult *res = db_exec(db, outstanding_sql, 0, NULL);
	long long newer, never;

	if (res == NULL) {
		ctl_err("could not count resync requests: %s", db_error());
		return EXIT_FAIL;
	}
	newer = atoll(PQgetvalue(res, 0, 0));
	never = atoll(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (ctl->json) {
		json_t *o = json_object();

		sjson_set(
		    o, "issued_after_last_completion", json_integer(newer));
		sjson_set(o, "issued_never_completed", json_integer(never));
		ctl_json(o);
		json_decref(o);
	} else {
		printf("resync requests issued after the client's last "
		       "completion: %lld\n",
		    newer);
		printf("resync requests issued to clients that never completed "
		       "one:  %lld\n",
		    never);
	}
	return EXIT_OK;
}

/* Names of the states the documents name (REFERENCE.md), else "". */
static const char *
state_name(long type, long state)
{
	static const struct {
		long type, state;
		const char *name;
	} names[] = {
		{ 300, 1, "compliant" },
		{ 300, 2, "non-compliant" },
		{ 500, 1, "not required" },
		{ 500, 2, "required" },
		{ 500, 3, "installed" },
		{ 700, 2, "resync complete" },
		{ 1000, 1, "ok" },
		{ 1000, 2, "failed" },
	};

	if (state == 0)
		return "unknown";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type && names[i].state == state)
			return names[i].name;
	return "";
}

static int
report_state(struct ctl *ctl, PGconn *db, const char *type, const char *id)
{
	const char *params[2] = { type, id };
	PGresult *res = db_exec(db,
	    "SELECT topic_id, state_id, count(*) FROM client_state "
	    "WHERE topic_type = $1::int AND ($2::text IS NULL OR topic_id = "
	    "$2) "
	    "GROUP BY topic_id, state_id ORDER BY topic_id, state_id",
	    2, params);
	json_t *list;

	if (res == NULL) {
		ctl_err("could not count states: %s", db_error());
		return EXIT_FAIL;
	}
	list = json_array();
	if (!ctl->json)
		printf("%-32s %6s %-16s %8s\n", "TOPIC ID", "STATE", "",
		    "CLIENTS");
	for (int i = 0; i < PQntuples(res); i++) {
		long state = atol(PQgetvalue(res, i, 1));
		const char *name = state_name(atol(type), state);
		json_t *o = json_object();

		sjson_set(o, "topic_id", json_string(PQgetvalue(res, i, 0)));
		sjson_set(o, "state", json_integer(state));
		sjson_set(o, "state_name", json_string(name));
		sjson_set(
		    o, "clients", json_integer(atoll(PQgetvalue(res, i, 2))));
		sjson_append(list, o);
		if (!ctl->json)
			printf("%-32s %6ld %-16s %8s\n",
			    ctl_text(PQgetvalue(res, i, 0)), state, name,
			    PQgetvalue(res, i, 2));
	}
	if (ctl->json)
		ctl_json(list);
	else if (PQntuples(res) == 0)
		printf("(no client has reported topic type %s)\n", type);
	json_decref(list);
	PQclear(res);
	return EXIT_OK;
}

/*
 * What clients that never registered sent through a fallback status
 * point, oldest first, and the fallback status point's file it came in.
 */
static const char unverified_sql[] =
    "SELECT " CTL_UTC("received") " AS received, client, serial, " CTL_UTC(
        "msg_time") " AS time, topic_type, topic_id, topic_id_type, "
                    "state_id, criticality, details, to_json(params) AS "
                    "params, file FROM statemsg_unverified "
                    "ORDER BY received, client, serial";

static int
report_unverified(struct ctl *ctl, PGconn *db)
{
	PGresult *res = db_exec(db, unverified_sql, 0, NULL);
	json_t *list;

	if (res == NULL) {
		ctl_err(
		    "could not read the unverified messages: %s", db_error());
		return EXIT_FAIL;
	}
	list = model_rows_json(res);
	if (ctl->json) {
		ctl_json(list);
	} else {
		printf("%-20s %-41s %6s %5s %-24s %5s  %s\n", "RECEIVED",
		    "CLIENT", "SERIAL", "TYPE", "TOPIC ID", "STATE", "DETAILS");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%-20s %-41s %6s %5s %-24s %5s  %s\n",
			    PQgetvalue(res, i, 0),
			    ctl_text(PQgetvalue(res, i, 1)),
			    PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
			    ctl_text(PQgetvalue(res, i, 5)),
			    PQgetvalue(res, i, 7),
			    ctl_text(PQgetvalue(res, i, 9)));
		if (PQntuples(res) == 0)
			printf("(no unverified state messages)\n");
	}
	json_decref(list);
	PQclear(res);
	return EXIT_OK;
}

/* The clients in whose name forged batches came, the latest first. */
static const char forged_sql[] =
    "SELECT guid AS client, forged_batches, " CTL_UTC(
        "last_forged") " AS last_forged FROM client "
                       "WHERE forged_batches > 0 "
                       "ORDER BY last_forged DESC, guid";

static int
report_forged(struct ctl *ctl, PGconn *db)
{
	PGresult *res = db_exec(db, forged_sql, 0, NULL);
	json_t *list;

	if (res == NULL) {
		ctl_err("could not read the forged batches: %s", db_error());
		return EXIT_FAIL;
	}
	list = model_rows_json(res);
	if (ctl->json) {
		ctl_json(list);
	} else {
		printf("%-41s %8s  %s\n", "CLIENT", "FORGED", "LAST FORGED");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%-41s %8s  %s\n",
			    ctl_text(PQgetvalue(res, i, 0)),
			    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		if (PQntuples(res) == 0)
			printf("(no forged batches)\n");
	}
	json_decref(list);
	PQclear(res);
	return EXIT_OK;
}

/*
 * The history's partitions, oldest day first, the default one last: the
 * rows in each (COUNT: PostgreSQL's statistics, which lag a load by up to
 * some seconds, or an exact count, which reads the whole history) and the
 * bytes on disk, indexes included.
 */
#define HISTORY_SQL(COUNT)                                                     \
	"SELECT CASE WHEN c.relname ~ '^statemsg_history_[0-9]{8}$' "          \
	"THEN to_char(to_date(substr(c.relname, 18), 'YYYYMMDD'), "            \
	"'YYYY-MM-DD') ELSE 'default' END AS day, "                            \
	"c.relname AS partition, " COUNT " AS messages, "                      \
	"pg_total_relation_size(c.oid) AS bytes, "                             \
	"pg_size_pretty(pg_total_relation_size(c.oid)) AS size "               \
	"FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "            \
	"LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid "                \
	"WHERE i.inhparent = 'statemsg_history'::regclass "                    \
	"ORDER BY c.relname = 'statemsg_history_default', c.relname"

static const char history_sql[] = HISTORY_SQL("coalesce(st.n_live_tup, 0)");
static const char history_exact_sql[] = HISTORY_SQL(
    "(SELECT count(*) FROM statemsg_history h WHERE h.tableoid = c.oid)");

static int
report_history(struct ctl *ctl, PGconn *db, bool exact)
{
	PGresult *res =
	    db_exec(db, exact ? history_exact_sql : history_sql, 0, NULL);
	json_t *list;

	if (res == NULL) {
		ctl_err(
		    "could not read the history's partitions: %s", db_error());
		return EXIT_FAIL;
	}
	list = model_rows_json(res);
	if (ctl->json) {
		ctl_json(list);
	} else {
		printf("%-10s %14s %10s  %s\n", "DAY", "MESSAGES", "SIZE",
		    "PARTITION");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%-10s %14s %10s  %s\n", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
			    PQgetvalue(res, i, 1));
	}
	json_decref(list);
	PQclear(res);
	return EXIT_OK;
}

/* A topic type: a whole number 0..65535. */
static int
topic_type_ok(const char *s)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : -1;

	return s != NULL && *s != '\0' && *end == '\0' && v >= 0 && v <= 65535;
}

int
cmd_report(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "topic-type=", "topic-id=", "exact",
		NULL };
	const char *vals[3], *pos[1];
	PGconn *db;
	int npos, rc;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 0, &npos) == -1)
		return ctl_usage("report");
	if (strcmp(argv[1], "state") == 0 && !topic_type_ok(vals[0])) {
		ctl_err("report state needs --topic-type T, a "
		        "whole number from 0 to 65535");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "state") != 0 &&
	    (vals[0] != NULL || vals[1] != NULL))
		return ctl_usage("report");
	if (strcmp(argv[1], "history") != 0 && vals[2] != NULL)
		return ctl_usage("report");
	if (strcmp(argv[1], "state") != 0 &&
	    strcmp(argv[1], "resync-outstanding") != 0 &&
	    strcmp(argv[1], "unverified") != 0 &&
	    strcmp(argv[1], "forged") != 0 && strcmp(argv[1], "history") != 0)
		return ctl_usage("report");
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(argv[1], "state") == 0)
		rc = report_state(ctl, db, vals[0], vals[1]);
	else if (strcmp(argv[1], "unverified") == 0)
		rc = report_unverified(ctl, db);
	else if (strcmp(argv[1], "forged") == 0)
		rc = report_forged(ctl, db);
	else if (strcmp(argv[1], "history") == 0)
		rc = report_history(ctl, db, vals[2] != NULL);
	else
		rc = report_outstanding(ctl, db);
	PQfinish(db);
	return rc;
}
