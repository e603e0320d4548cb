/*
 * cmd_collection.c - sitectl collection: sets of clients by rules (by
 * name, name pattern, boundary group and site), the targets of sitectl
 * notify
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location/collection.h"
#include "location/location_db.h"
#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/sjson.h"

/* The options that name rules, in the order of collection_rule.kind. */
static const char *const rule_kinds[] = { "name", "pattern", "boundary-group",
	"site" };
#define NKINDS 4

#define LIST_SQL                                                               \
	"SELECT c.name, c.description, "                                       \
	"(SELECT count(*) FROM collection_rule r "                             \
	"WHERE r.collection = c.name) AS rules, " CTL_UTC(                     \
	    "c.created") " AS created FROM collection c ORDER BY c.name"

#define RULES_SQL                                                              \
	"SELECT kind, value FROM collection_rule WHERE collection = $1 "       \
	"ORDER BY kind, value"

/* The members staged, with what the site knows of them. */
#define MEMBERS_SQL                                                            \
	"SELECT DISTINCT s.guid AS client, c.name, "                           \
	"coalesce(o.online, false) AS online, coalesce(o.server, '') "         \
	"AS server FROM member_stage s JOIN client c ON c.guid = s.guid "      \
	"LEFT JOIN client_online o ON o.guid = s.guid ORDER BY 1"

/* Check a rule's value: what it names must be a valid name, and a group
 * or site that exists; 0, or -1 with why printed. */
static int
rule_check(PGconn *db, const char *kind, const char *value)
{
	static const char *const find[NKINDS] = { NULL, NULL,
		"SELECT id FROM boundary_group WHERE name = $1",
		"SELECT code FROM site WHERE code = upper($1)" };
	char id[64];
	int k = 0;

	while (strcmp(rule_kinds[k], kind) != 0)
		k++;
	if (model_name(k == 3 ? "a site code" : "a rule's value", value) == -1)
		return -1;
	if (find[k] == NULL)
		return 0;
	return model_find(db, find[k], value,
	           k == 2 ? "boundary group" : "site", id, sizeof(id)) == 0
	    ? 0
	    : -1;
}

/* Add or remove the rules of vals[] (option values joined by commas). */
static int
rules_put(PGconn *db, const char *coll, const char *const *vals, bool add)
{
	for (int k = 0; k < NKINDS; k++) {
		char *list, *one, *save = NULL;
		int rc = 0;

		if (vals[k] == NULL)
			continue;
		if ((list = strdup(vals[k])) == NULL)
			abort();
		for (one = strtok_r(list, ",", &save); rc == 0 && one;
		     one = strtok_r(NULL, ",", &save)) {
			const char *p[3] = { coll, rule_kinds[k], one };

			if (add && rule_check(db, rule_kinds[k], one) == -1)
				rc = -1;
			else if (db_cmd(db,
			             add ? "INSERT INTO collection_rule VALUES "
			                   "($1, $2, $3) ON CONFLICT DO NOTHING"
			                 : "DELETE FROM collection_rule WHERE "
			                   "collection = $1 AND kind = $2 AND "
			                   "value = $3",
			             3, p) == -1)
				rc = model_dberr("change the rules");
		}
		free(list);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
coll_add(
    PGconn *db, const char *name, const char *descr, const char *const *rules)
{
	const char *p[2] = { name, descr ? descr : "" };
	PGresult *res;
	int n;

	if (db_cmd(db, "BEGIN", 0, NULL) == -1)
		return model_dberr("begin");
	res = db_exec(db,
	    "INSERT INTO collection (name, description) VALUES ($1, $2) "
	    "ON CONFLICT DO NOTHING RETURNING 1",
	    2, p);
	if (res == NULL)
		return model_dberr("add the collection");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		ctl_err("collection \"%s\" already exists", ctl_text(name));
	if (n == 0 || rules_put(db, name, rules, true) == -1 ||
	    db_cmd(db, "COMMIT", 0, NULL) == -1)
		return EXIT_FAIL;
	printf("added collection %s\n", ctl_text(name));
	return EXIT_OK;
}

/* Change the rules of an existing collection. */
static int
coll_rules(PGconn *db, const char *name, const char *const *rules, bool add)
{
	char id[300];

	if (model_find(db, "SELECT name FROM collection WHERE name = $1", name,
	        "collection", id, sizeof(id)) != 0)
		return EXIT_FAIL;
	if (rules_put(db, name, rules, add) == -1)
		return EXIT_FAIL;
	printf("%s rules of collection %s\n", add ? "added" : "removed",
	    ctl_text(name));
	return EXIT_OK;
}

static int
coll_remove(PGconn *db, const char *name)
{
	PGresult *res = db_exec(
	    db, "DELETE FROM collection WHERE name = $1 RETURNING 1", 1, &name);
	int n;

	if (res == NULL)
		return model_dberr("remove the collection");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err("no collection \"%s\"", ctl_text(name));
		return EXIT_FAIL;
	}
	printf("removed collection %s\n", ctl_text(name));
	return EXIT_OK;
}

/* Stage the members of collection name; 0, or -1 with why printed. */
int
collection_members(PGconn *db, const char *name)
{
	char why[512];
	struct loc_model *m = loc_db_load(db, why, sizeof(why));
	int rc;

	if (m == NULL) {
		ctl_err("could not load the boundary model: %s", why);
		return -1;
	}
	rc = collection_stage(db, m, name, why, sizeof(why));
	loc_model_free(m);
	if (rc == -1)
		ctl_err("%s", why);
	return rc;
}

#define SHOW_SQL                                                               \
	"SELECT name, description, " CTL_UTC(                                  \
	    "created") " AS created "                                          \
	               "FROM collection WHERE name = $1"

/* Print the collection, its rules and members, as one object. */
static void
coll_print(struct ctl *ctl, PGresult *row, PGresult *rules, PGresult *members)
{
	json_t *list, *o;

	if (!ctl->json) {
		model_print_rows(row);
		printf("\nrules:\n");
		model_print_rows(rules);
		printf("\nmembers: %d\n", PQntuples(members));
		model_print_rows(members);
		return;
	}
	list = model_rows_json(row);
	o = json_incref(json_array_get(list, 0));
	json_decref(list);
	sjson_set(o, "rules", model_rows_json(rules));
	sjson_set(o, "members", model_rows_json(members));
	ctl_json(o);
	json_decref(o);
}

static int
coll_show(struct ctl *ctl, PGconn *db, const char *name)
{
	PGresult *row = db_exec(db, SHOW_SQL, 1, &name), *rules, *members;

	if (row == NULL)
		return model_dberr("read the collection");
	if (PQntuples(row) == 0) {
		ctl_err("no collection \"%s\"", ctl_text(name));
		PQclear(row);
		return EXIT_FAIL;
	}
	if (collection_members(db, name) == -1) {
		PQclear(row);
		return EXIT_FAIL;
	}
	rules = db_exec(db, RULES_SQL, 1, &name);
	members = rules ? db_exec(db, MEMBERS_SQL, 0, NULL) : NULL;
	bool ok = members != NULL;

	if (ok)
		coll_print(ctl, row, rules, members);
	PQclear(row);
	PQclear(rules);
	PQclear(members);
	return ok ? EXIT_OK : model_dberr("read the collection");
}

int
cmd_collection(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "name=+", "pattern=+",
		"boundary-group=+", "site=+", "description=", NULL };
	static const char *const subs[] = { "add", "remove", "list", "show",
		"add-rule", "remove-rule", NULL };
	const char *vals[5], *pos[1], *sub = argc > 1 ? argv[1] : "";
	bool rules = false;
	PGconn *db;
	int npos, rc, i = 0;

	while (subs[i] != NULL && strcmp(subs[i], sub) != 0)
		i++;
	if (subs[i] == NULL ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 1, &npos) == -1)
		return ctl_usage("collection");
	for (int k = 0; k < NKINDS; k++)
		rules |= vals[k] != NULL;
	if (npos != (i == 2 ? 0 : 1) || (i >= 4 && !rules) ||
	    (i >= 1 && i <= 3 && (rules || vals[4])))
		return ctl_usage("collection");
	if (npos == 1 && model_name("a collection name", pos[0]) == -1)
		return EXIT_USAGE;
	if (vals[4] && model_text("a description", vals[4], 1024) == -1)
		return EXIT_USAGE;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (i == 0)
		rc = coll_add(db, pos[0], vals[4], vals);
	else if (i == 1)
		rc = coll_remove(db, pos[0]);
	else if (i == 2)
		rc = model_list(ctl, db, LIST_SQL, 0, NULL, "list collections");
	else if (i == 3)
		rc = coll_show(ctl, db, pos[0]);
	else
		rc = coll_rules(db, pos[0], vals, i == 4);
	PQfinish(db);
	return rc;
}
