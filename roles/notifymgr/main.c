/*
 * sitesys-notifymgr - the notification manager: expands the actions that
 * sitectl notify records into pushes, releases them to the notification
 * servers at each task's rate, and loads what the servers report in
 * bgb.box (task status, online presence) exactly once
 */
#include <stdio.h>
#include <stdlib.h>

#include "bgb.h"
#include "daemon.h"
#include "inbox_service.h"
#include "notifymgr.h"
#include "util/db.h"
#include "util/log.h"

/* Two managers would release the same pushes twice as fast. */
#define NOTIFYMGR_LOCK "SELECT pg_try_advisory_lock(7413000011)"

/* A task's pushes are released, and new tasks expanded, this often. */
#define NOTIFYMGR_TICK_MS 1000

struct notifymgr {
	struct load_counts loaded;
	struct task_counts tasks;
};

static void
bgb_item_free(void *p)
{
	bgb_free(p);
	free(p);
}

/* A file is parsed once: the load uses what its check made. */
static int
nm_validate(void *arg, struct inbox_item *item, char *why, size_t len)
{
	struct bgb_file *f = malloc(sizeof(*f));

	(void)arg;
	if (f == NULL)
		abort();
	if (bgb_parse(item->doc, f, why, len) == -1) {
		free(f);
		return -1;
	}
	item->parsed = f;
	item->parsed_free = bgb_item_free;
	return 0;
}

static int
nm_process(PGconn *db, void *arg, struct inbox_item *items, size_t n)
{
	struct notifymgr *nm = arg;

	return load_files(db, items, n, &nm->loaded);
}

static int
nm_connect(PGconn *db, void *arg)
{
	PGresult *res = db_exec(db, NOTIFYMGR_LOCK, 0, NULL);
	int held;

	(void)arg;
	if (res == NULL) {
		log_error("could not take the notifymgr lock: %s", db_error());
		return -1;
	}
	held = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!held) {
		log_error("another sitesys-notifymgr manages this site's "
		          "notifications; waiting");
		return -1;
	}
	return load_prepare(db);
}

static int
nm_tick(PGconn *db, void *arg, const struct conf *cf)
{
	struct notifymgr *nm = arg;

	(void)cf;
	return tasks_tick(db, &nm->tasks);
}

static void
nm_describe(void *arg, char *buf, size_t len)
{
	struct notifymgr *nm = arg;

	snprintf(buf, len,
	    "%lu task events (%lu for no push), %lu presence snapshots; "
	    "tasks: %lu expanded, %lu pushes released, %lu stopped, "
	    "%lu expired, %lu done",
	    nm->loaded.events, nm->loaded.unmatched, nm->loaded.snapshots,
	    nm->tasks.expanded, nm->tasks.released, nm->tasks.stopped,
	    nm->tasks.expired, nm->tasks.done);
}

static int
nm_run(struct conf **cfp)
{
	struct notifymgr nm = { 0 };
	struct inbox_service svc = {
		.box = "bgb.box",
		.format = NULL, /* .bts or .bos: nm_validate checks */
		.validate = nm_validate,
		.process = nm_process,
		.on_connect = nm_connect,
		.tick = nm_tick,
		.tick_ms = NOTIFYMGR_TICK_MS,
		.describe = nm_describe,
		.arg = &nm,
	};

	return inbox_serve(cfp, &svc);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = "sitesys-notifymgr",
		.section = "notifymgr",
		.run = nm_run,
	};

	return daemon_main(argc, argv, &spec);
}
