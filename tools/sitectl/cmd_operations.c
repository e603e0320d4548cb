/*
 * cmd_operations.c - sitectl operations: what became of each client
 * notification task, as the original's Client Operations node shows it,
 * live with --watch
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/sjson.h"

#define WATCH_SECONDS 2

/* Each task with its counts; $1: one task, or NULL for all. */
static const char OPS_SQL[] =
    "SELECT t.id AS task, t.action, coalesce(t.collection, "
    "(SELECT count(*) FROM notify_task_client c WHERE c.task = t.id) "
    "|| ' clients') AS target, t.state, coalesce(t.targeted, 0) "
    "AS targeted, coalesce(t.online_at_start, 0) AS online, "
    "count(p.pushed_at) AS pushed, count(p.received_at) AS received, "
    "count(*) FILTER (WHERE p.status = 'succeeded') AS succeeded, "
    "count(*) FILTER (WHERE p.status = 'failed') AS failed, "
    "count(*) FILTER (WHERE p.status = 'unsupported') AS unsupported, "
    "count(*) FILTER (WHERE p.status = 'expired') AS expired, "
    "" CTL_UTC(
        "t.created") " AS created, "
                     "" CTL_UTC(
                         "t.valid_until") " AS valid_until "
                                          "FROM notify_task t LEFT JOIN "
                                          "notify_push p ON p.task = t.id "
                                          "WHERE $1::bigint IS NULL OR t.id = "
                                          "$1::bigint "
                                          "GROUP BY t.id ORDER BY t.id";

/* Whether any task of res is still new or pushing. */
static bool
any_open(PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		const char *st = PQgetvalue(res, i, 3);

		if (strcmp(st, "new") == 0 || strcmp(st, "pushing") == 0)
			return true;
	}
	return false;
}

/* The rows as one string, to tell whether anything changed. */
static char *
rows_text(PGresult *res)
{
	size_t len = 1;
	char *s, *p;

	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < PQnfields(res); k++)
			len += (size_t)PQgetlength(res, i, k) + 1;
	if ((s = p = malloc(len)) == NULL)
		abort();
	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < PQnfields(res); k++)
			p += sprintf(p, "%s|", PQgetvalue(res, i, k));
	*p = '\0';
	return s;
}

static void
print_ops(struct ctl *ctl, PGresult *res)
{
	json_t *list;

	if (!ctl->json) {
		model_print_rows(res);
		fflush(stdout);
		return;
	}
	list = model_rows_json(res);
	ctl_json(list);
	json_decref(list);
}

/* Print again on every change until no task shown is new or pushing. */
static int
watch(struct ctl *ctl, PGconn *db, const char *const *params)
{
	char *last = NULL, *now;
	PGresult *res;
	bool open = true;

	while (open) {
		if ((res = db_exec(db, OPS_SQL, 1, params)) == NULL) {
			free(last);
			return model_dberr("read the tasks");
		}
		now = rows_text(res);
		if (last == NULL || strcmp(now, last) != 0) {
			time_t t = time(NULL);
			char stamp[32];

			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ",
			    gmtime(&t));
			if (!ctl->json)
				printf("%s%s\n", last ? "\n" : "", stamp);
			print_ops(ctl, res);
		}
		free(last);
		last = now;
		open = any_open(res);
		PQclear(res);
		if (open)
			sleep(WATCH_SECONDS);
	}
	free(last);
	return EXIT_OK;
}

int
cmd_operations(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "watch", NULL };
	const char *vals[1], *pos[1], *params[1] = { NULL };
	PGconn *db;
	PGresult *res;
	char *end;
	int npos, rc = EXIT_OK;

	if (ctl_parse(ctl, argc, argv, spec, vals, pos, 1, &npos) == -1)
		return ctl_usage("operations");
	if (npos == 1) {
		if (strtoll(pos[0], &end, 10) <= 0 || *end != '\0') {
			ctl_err("\"%s\" is not a task id", ctl_text(pos[0]));
			return EXIT_USAGE;
		}
		params[0] = pos[0];
	}
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (vals[0] != NULL)
		rc = watch(ctl, db, params);
	else if ((res = db_exec(db, OPS_SQL, 1, params)) == NULL)
		rc = model_dberr("read the tasks");
	else {
		if (params[0] && PQntuples(res) == 0) {
			ctl_err("no task %s", params[0]);
			rc = EXIT_FAIL;
		} else
			print_ops(ctl, res);
		PQclear(res);
	}
	PQfinish(db);
	return rc;
}
