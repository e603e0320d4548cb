/* cmd_client.c - sitectl client list|show: what the site knows of a client */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "statemsg.h"
#include "util/db.h"
#include "util/sjson.h"

/* Where a client stands with the site, as sitectl shows it. */
#define APPROVAL_SQL                                                           \
	"CASE WHEN c.guid IS NULL THEN 'unregistered' "                        \
	"WHEN c.blocked THEN 'blocked' WHEN c.approved THEN 'approved' "       \
	"ELSE 'pending' END"

/* Clients registered or heard from, with their serial tracking. */
static const char list_sql[] =
    "SELECT coalesce(c.guid, s.client), coalesce(c.name, ''), "
    "coalesce(s.next_expected_serial::text, ''), "
    "coalesce(s.messages, 0), coalesce(s.duplicates, 0), "
    "(SELECT count(*) FROM client_missing_range r "
    "  WHERE r.client = coalesce(c.guid, s.client)), "
    "CASE WHEN s.last_resync_issued_time > coalesce("
    "  s.last_resync_client_completed_time, '-infinity') "
    "  THEN 'outstanding' ELSE '' END, "
    "" APPROVAL_SQL ", coalesce(c.fingerprint, '') "
    "FROM client c FULL JOIN client_message_stats s ON s.client = c.guid "
    "ORDER BY 1";

static int
client_list(struct ctl *ctl, PGconn *db)
{
	static const char *const keys[] = { "client", "name",
		"next_expected_serial", "messages", "duplicates",
		"missing_ranges", "resync", "approval", "fingerprint" };
	PGresult *res = db_exec(db, list_sql, 0, NULL);
	json_t *list;

	if (res == NULL) {
		ctl_err("could not list clients: %s", db_error());
		return EXIT_FAIL;
	}
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		for (int k = 0; k < 9; k++) {
			const char *v = PQgetvalue(res, i, k);

			if (k < 2 || k > 5)
				sjson_set(o, keys[k], json_string(v));
			else /* no serial yet: null, not "" */
				sjson_set(o, keys[k],
				    *v ? json_integer(atoll(v)) : json_null());
		}
		sjson_append(list, o);
	}
	if (ctl->json) {
		ctl_json(list);
	} else {
		printf("%-41s %-16s %-12s %8s %9s %5s %7s  %s\n", "CLIENT",
		    "NAME", "APPROVAL", "NEXT", "MESSAGES", "DUPS", "MISSING",
		    "RESYNC");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%-41s %-16s %-12s %8s %9s %5s %7s  %s\n",
			    ctl_text(PQgetvalue(res, i, 0)),
			    ctl_text(PQgetvalue(res, i, 1)),
			    PQgetvalue(res, i, 7), PQgetvalue(res, i, 2),
			    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
			    PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
	}
	json_decref(list);
	PQclear(res);
	return EXIT_OK;
}

/* One query's rows as an array of objects named by its columns. */
static json_t *
rows_json(PGresult *res)
{
	json_t *list = json_array();

	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		for (int k = 0; k < PQnfields(res); k++) {
			const char *v = PQgetvalue(res, i, k);
			Oid t = PQftype(res, k);

			if (PQgetisnull(res, i, k))
				sjson_set(o, PQfname(res, k), json_null());
			else if (t == 20 || t == 21 || t == 23) /* int8/2/4 */
				sjson_set(
				    o, PQfname(res, k), json_integer(atoll(v)));
			else
				sjson_set(o, PQfname(res, k), json_string(v));
		}
		sjson_append(list, o);
	}
	return list;
}

#define TS(col)                                                                \
	"to_char(" col " AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *const show_sql[] = {
	"SELECT guid AS client, name, array_to_string(addresses, ' ') AS "
	"addresses, site_code AS site, " TS("first_seen") " AS first_seen, " TS(
	    "last_seen") " AS last_seen, " APPROVAL_SQL " AS approval, "
	                 "fingerprint, " TS("bound_at") " AS bound_at, "
	                                                "forged_batches, " TS(
	                                                    "last_forged") " AS"
	                                                                   " la"
	                                                                   "st_"
	                                                                   "for"
	                                                                   "ged"
	                                                                   " FR"
	                                                                   "OM "
	                                                                   "cli"
	                                                                   "ent"
	                                                                   " c "
	                                                                   "WHE"
	                                                                   "RE "
	                                                                   "gui"
	                                                                   "d "
	                                                                   "= "
	                                                                   "$1",
	"SELECT next_expected_serial, highest_serial, messages, "
	"duplicates, " TS("last_message_time") " AS last_message_time, " TS(
	    "la"
	    "st"
	    "_r"
	    "es"
	    "yn"
	    "c_"
	    "is"
	    "su"
	    "ed"
	    "_t"
	    "im"
	    "e") " AS last_resync_issued_time, " TS("last_resync_client_"
	                                            "completed_time") " AS "
	                                                              "last_"
	                                                              "resync_"
	                                                              "client_"
	                                                              "complete"
	                                                              "d_"
	                                                              "time "
	                                                              "FROM "
	                                                              "client_"
	                                                              "message_"
	                                                              "stats "
	                                                              "WHERE "
	                                                              "client "
	                                                              "= $1",
	"SELECT first_serial, last_serial, " TS(
	    "detected") " AS detected "
	                "FROM client_missing_range WHERE client = $1 ORDER BY "
	                "first_serial",
	"SELECT topic_type, topic_id, state_id, criticality, " TS(
	    "msg_time") " AS time, serial FROM client_state WHERE client = $1 "
	                "ORDER BY topic_type, topic_id",
};
static const char *const show_names[] = { "registration", "serials",
	"missing_ranges", "states" };

/* "title:" then one line per row, "key=value" for each column. */
static void
print_section(const char *title, json_t *rows)
{
	json_t *row, *f;
	const char *k;
	size_t i;

	printf("%s:%s\n", title, json_array_size(rows) ? "" : " (none)");
	json_array_foreach(rows, i, row)
	{
		printf(" ");
		json_object_foreach(row, k, f)
		{
			if (json_is_integer(f))
				printf(" %s=%lld", k,
				    (long long)json_integer_value(f));
			else
				printf(" %s=%s", k,
				    json_is_null(f)
				        ? "-"
				        : ctl_text(json_string_value(f)));
		}
		printf("\n");
	}
}

static int
client_show(struct ctl *ctl, PGconn *db, const char *guid)
{
	const char *params[1] = { guid };
	json_t *doc = json_object();
	bool known = false;

	for (size_t q = 0; q < 4; q++) {
		PGresult *res = db_exec(db, show_sql[q], 1, params);

		if (res == NULL) {
			ctl_err(
			    "could not read client %s: %s", guid, db_error());
			json_decref(doc);
			return EXIT_FAIL;
		}
		known = known || PQntuples(res) > 0;
		sjson_set(doc, show_names[q], rows_json(res));
		PQclear(res);
	}
	if (!known) {
		ctl_err("no client %s is known to the site", guid);
		json_decref(doc);
		return EXIT_FAIL;
	}
	if (ctl->json) {
		sjson_set(doc, "client", json_string(guid));
		ctl_json(doc);
	} else {
		printf("client %s\n", guid);
		for (size_t q = 0; q < 4; q++)
			print_section(
			    show_names[q], json_object_get(doc, show_names[q]));
	}
	json_decref(doc);
	return EXIT_OK;
}

int
cmd_client(struct ctl *ctl, int argc, char **argv)
{
	const char *pos[1], *vals[1];
	char guid[STATEMSG_GUID_LEN + 1];
	PGconn *db;
	int npos, rc;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 1, &npos) == -1)
		return ctl_usage("client");
	if (strcmp(argv[1], "list") == 0 && npos == 0) {
		pos[0] = NULL;
	} else if ((strcmp(argv[1], "show") != 0 &&
	               !client_identity_verb(argv[1])) ||
	    npos != 1) {
		return ctl_usage("client");
	} else if (model_client(pos[0], guid) == -1) {
		return EXIT_USAGE;
	} else {
		pos[0] = guid;
	}
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (pos[0] == NULL)
		rc = client_list(ctl, db);
	else if (strcmp(argv[1], "show") == 0)
		rc = client_show(ctl, db, pos[0]);
	else
		rc = client_identity(db, argv[1], pos[0]);
	PQfinish(db);
	return rc;
}
