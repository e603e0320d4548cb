/*
 * cmd_notify.c - sitectl notify: start a client notification task on a
 * collection or on named clients; sitesys-notifymgr expands it into pushes
 * and every notification server pushes them to its online clients
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location/collection.h"
#include "model.h"
#include "notify_action.h"
#include "sitectl.h"
#include "util/conf.h"
#include "util/db.h"

#define MAX_CLIENTS 1000 /* named with --client in one task */

/* What sitectl notify was asked. */
struct notify_req {
	const char *action, *collection, *script, *clients;
	long rate, failures, minutes;
	char sha[72]; /* the script's SHA-256 */
};

/* "N" or "N/min", N > 0, into *out; 0, or -1 with why printed. */
static int
parse_count(const char *opt, const char *s, bool per_min, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (per_min && strcmp(end, "/min") == 0)
		end += 4;
	if (end == s || *end != '\0' || v <= 0 || v > 100000000) {
		ctl_err("--%s: \"%s\" is not a number from 1 to 100000000%s",
		    opt, ctl_text(s),
		    per_min ? " (per minute: N or N/min)" : "");
		return -1;
	}
	*out = v;
	return 0;
}

/* Each of the named clients a client id, at most MAX_CLIENTS of them;
 * 0, or -1 with why printed. */
static int
check_clients(const char *list)
{
	char *copy = strdup(list), *one, *save = NULL;
	char guid[STATEMSG_GUID_LEN + 1];
	int n = 0, rc = 0;

	if (copy == NULL)
		abort();
	for (one = strtok_r(copy, ",", &save); rc == 0 && one;
	     one = strtok_r(NULL, ",", &save))
		if (++n > MAX_CLIENTS) {
			ctl_err("more than %d clients; make a collection",
			    MAX_CLIENTS);
			rc = -1;
		} else
			rc = model_client(one, guid);
	free(copy);
	return rc;
}

/* Check what needs no database; an exit status. */
static int
notify_args(struct notify_req *r, const char *const *vals)
{
	if (!notify_action_valid(r->action)) {
		ctl_err(
		    "unknown action \"%s\"; the actions:", ctl_text(r->action));
		for (const struct notify_action *a = notify_actions; a->name;
		     a++)
			fprintf(stderr, "  %-22s %s\n", a->name, a->doc);
		return EXIT_USAGE;
	}
	if ((r->collection == NULL) == (r->clients == NULL)) {
		ctl_err("give either --collection or --client");
		return EXIT_USAGE;
	}
	if ((strcmp(r->action, "run-script") == 0) != (r->script != NULL)) {
		ctl_err(r->script ? "--script goes with the run-script action "
		                    "only"
		                  : "run-script needs --script SHA256|NAME");
		return EXIT_USAGE;
	}
	if (r->collection &&
	    model_name("a collection name", r->collection) == -1)
		return EXIT_USAGE;
	if (r->clients && check_clients(r->clients) == -1)
		return EXIT_USAGE;
	if ((vals[3] && parse_count("rate", vals[3], true, &r->rate) == -1) ||
	    (vals[4] &&
	        parse_count("stop-after-failures", vals[4], false,
	            &r->failures) == -1) ||
	    (vals[5] &&
	        parse_count("valid", vals[5], false, &r->minutes) == -1))
		return EXIT_USAGE;
	return EXIT_OK;
}

/* The script must exist and be approved; its SHA-256 into r->sha. */
static int
check_script(PGconn *db, struct notify_req *r)
{
	const char *p[1] = { r->script };
	PGresult *res = db_exec(db,
	    "SELECT sha256, approved FROM script WHERE sha256 = lower($1) "
	    "OR name = $1",
	    1, p);
	int rc = -1;

	if (res == NULL)
		return model_dberr("read the scripts"), -1;
	if (PQntuples(res) == 0)
		ctl_err("no script \"%s\"", ctl_text(r->script));
	else if (PQntuples(res) > 1)
		ctl_err("%d scripts are named \"%s\"; give its SHA-256",
		    PQntuples(res), ctl_text(r->script));
	else if (PQgetvalue(res, 0, 1)[0] != 't')
		ctl_err("script %s is not approved (sitectl script approve)",
		    PQgetvalue(res, 0, 0));
	else {
		snprintf(r->sha, sizeof(r->sha), "%s", PQgetvalue(res, 0, 0));
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Stage the named clients into member_stage, each registered. */
static int
stage_clients(PGconn *db, const char *list)
{
	char *copy = strdup(list), *one, *save = NULL;
	char guid[STATEMSG_GUID_LEN + 1];
	int rc = 0;

	if (copy == NULL)
		abort();
	if (collection_stage_reset(db) == -1)
		rc = model_dberr("stage the clients");
	for (one = strtok_r(copy, ",", &save); rc == 0 && one;
	     one = strtok_r(NULL, ",", &save)) {
		const char *p[1] = { guid };
		PGresult *res;

		statemsg_guid_lower(one, guid); /* checked by check_clients */
		if ((res = db_exec(db,
		         "INSERT INTO member_stage SELECT guid FROM client "
		         "WHERE guid = $1 RETURNING 1",
		         1, p)) == NULL)
			rc = model_dberr("stage the clients");
		else {
			if (PQntuples(res) == 0) {
				ctl_err("no client %s", guid);
				rc = -1;
			}
			PQclear(res);
		}
	}
	free(copy);
	return rc == 0 ? 0 : -1;
}

/* Record the task and its named clients; its id into id. */
static int
insert_task(PGconn *db, const struct notify_req *r, char id[32])
{
	char rate[24], fail[24], mins[24];
	const char *p[6] = { r->action, r->sha[0] ? r->sha : NULL,
		r->collection, r->rate ? rate : NULL, r->failures ? fail : NULL,
		mins };
	PGresult *res;

	snprintf(rate, sizeof(rate), "%ld", r->rate);
	snprintf(fail, sizeof(fail), "%ld", r->failures);
	snprintf(mins, sizeof(mins), "%ld", r->minutes);
	res = db_exec(db,
	    "INSERT INTO notify_task (action, script, collection, "
	    "rate_per_minute, stop_after_failures, valid_until) VALUES ($1, "
	    "$2, $3, $4, $5, now() + $6 * interval '1 minute') RETURNING id",
	    6, p);
	if (res == NULL)
		return model_dberr("start the task"), -1;
	snprintf(id, 32, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (r->clients != NULL &&
	    db_cmd(db,
	        "INSERT INTO notify_task_client SELECT DISTINCT $1::bigint, "
	        "guid FROM member_stage",
	        1, (const char *[]){ id }) == -1)
		return model_dberr("start the task"), -1;
	return 0;
}

/* Print the task and how many of its clients are online now. */
static int
print_estimate(PGconn *db, const struct notify_req *r, const char *id)
{
	PGresult *res = db_exec(db,
	    "SELECT count(DISTINCT s.guid), count(DISTINCT s.guid) FILTER "
	    "(WHERE o.online) FROM member_stage s LEFT JOIN client_online o "
	    "ON o.guid = s.guid",
	    0, NULL);

	if (res == NULL)
		return model_dberr("count the online clients");
	printf("task %s: %s to %s%s: %s clients, about %s online; valid "
	       "%ld minutes\n",
	    id, r->action, r->collection ? "collection " : "named clients",
	    r->collection ? ctl_text(r->collection) : "", PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1), r->minutes);
	PQclear(res);
	return EXIT_OK;
}

static int
notify_start(PGconn *db, struct notify_req *r)
{
	char id[32], found[300];

	if (r->script && check_script(db, r) == -1)
		return EXIT_FAIL;
	if (r->collection &&
	    (model_find(db, "SELECT name FROM collection WHERE name = $1",
	         r->collection, "collection", found, sizeof(found)) != 0 ||
	        collection_members(db, r->collection) == -1))
		return EXIT_FAIL;
	if (r->clients && stage_clients(db, r->clients) == -1)
		return EXIT_FAIL;
	if (db_cmd(db, "BEGIN", 0, NULL) == -1)
		return model_dberr("start the task");
	if (insert_task(db, r, id) == -1)
		return EXIT_FAIL;
	if (db_cmd(db, "COMMIT", 0, NULL) == -1)
		return model_dberr("start the task");
	return print_estimate(db, r, id);
}

int
cmd_notify(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "collection=", "client=+",
		"script=", "rate=", "stop-after-failures=", "valid=", NULL };
	const char *vals[6], *pos[1];
	struct notify_req r = { 0 };
	PGconn *db;
	int npos, rc;

	if (ctl_parse(ctl, argc, argv, spec, vals, pos, 1, &npos) == -1 ||
	    npos != 1)
		return ctl_usage("notify");
	r.action = pos[0];
	r.collection = vals[0];
	r.clients = vals[1];
	r.script = vals[2];
	r.minutes = conf_int(ctl->cf, "console", "notify_valid_minutes");
	if ((rc = notify_args(&r, vals)) != EXIT_OK)
		return rc;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	rc = notify_start(db, &r);
	PQfinish(db);
	return rc;
}
