/*
 * sitesys-statesys - the state message processor: drains statsys.box into
 * the site database with serial tracking, and asks clients with old gaps
 * to resynchronize
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "inbox_service.h"
#include "statemsg.h"
#include "statesys.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"

/* Two processors would each think the other's serials are gaps. */
#define STATESYS_LOCK "SELECT pg_try_advisory_lock(7413000002)"

struct statesys {
	struct conf **cfp; /* the daemon's, made anew by a reload */
	struct load_counts loaded;
	unsigned long last_messages;
	time_t last_rate_at;
	struct certcache *certs; /* of clients that sent through an FSP */
	struct fsp_counts fsp;
};

static void
smfile_free(void *p)
{
	struct smfile *f = p;

	statemsg_free_all(f->batches, f->n);
	free(f->held);
	free(f);
}

/* A file is parsed once: the load uses what its check made. */
static int
ss_validate(void *arg, struct inbox_item *item, char *why, size_t len)
{
	struct smfile *f = calloc(1, sizeof(*f));

	(void)arg;
	if (f == NULL)
		abort();
	if (statemsg_parse_file(item->doc, &f->batches, &f->n, why, len) ==
	    -1) {
		free(f);
		return -1;
	}
	/* a set's "via" is the file's: its batches came the same way */
	f->via_fsp = f->n > 0 && f->batches[0].via_fsp;
	if (f->via_fsp && (f->held = calloc(f->n, sizeof(*f->held))) == NULL)
		abort();
	item->parsed = f;
	item->parsed_free = smfile_free;
	return 0;
}

/* The batches through an FSP checked first, then the rest applied. */
static int
ss_process(PGconn *db, void *arg, struct inbox_item *items, size_t n)
{
	struct statesys *ss = arg;
	struct fsp_run run = { 0 };
	struct load_limits lim = {
		.serial_window =
		    conf_int(*ss->cfp, "statesys", "serial_window"),
		.future_minutes =
		    conf_int(*ss->cfp, "statesys", "future_minutes"),
	};

	if (fsp_check(db, ss->certs, items, n, &run) == -1 ||
	    load_batch(db, items, n, &lim, &ss->loaded) == -1) {
		fsp_done(&run, NULL);
		return -1;
	}
	fsp_done(&run, &ss->fsp);
	return 0;
}

static int
ss_connect(PGconn *db, void *arg)
{
	PGresult *res = db_exec(db, STATESYS_LOCK, 0, NULL);
	int held;

	(void)arg;
	if (res == NULL) {
		log_error("could not take the statesys lock: %s", db_error());
		return -1;
	}
	held = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!held) {
		log_error("another sitesys-statesys is processing this site's "
		          "state messages; waiting");
		return -1;
	}
	/* a day without its partition still loads, into the default one */
	(void)history_prepare(db);
	return load_prepare(db);
}

static int
ss_tick(PGconn *db, void *arg, const struct conf *cf)
{
	(void)arg;
	return resync_tick(db, cf);
}

static void
ss_describe(void *arg, char *buf, size_t len)
{
	struct statesys *ss = arg;
	time_t now = time(NULL);
	double rate = 0;

	if (ss->last_rate_at != 0 && now > ss->last_rate_at)
		rate = (double)(ss->loaded.messages - ss->last_messages) /
		    (double)(now - ss->last_rate_at);
	ss->last_messages = ss->loaded.messages;
	ss->last_rate_at = now;
	snprintf(buf, len,
	    "%lu messages, %lu duplicates, %lu refused, %lu dated ahead, "
	    "%.0f messages/s; via FSP: %lu "
	    "signed batches, %lu forged, %lu blocked, %lu unverified "
	    "messages, %lu dropped",
	    ss->loaded.messages, ss->loaded.duplicates, ss->loaded.refused,
	    ss->loaded.ahead, rate, ss->fsp.signed_batches, ss->fsp.forged,
	    ss->fsp.blocked, ss->fsp.unverified, ss->fsp.dropped);
}

static int
ss_run(struct conf **cfp)
{
	struct statesys ss = { .cfp = cfp };
	struct inbox_service svc = {
		.box = "statsys.box",
		.format = NULL, /* a batch or a set: ss_validate checks */
		.validate = ss_validate,
		.process = ss_process,
		.on_connect = ss_connect,
		.tick = ss_tick,
		.describe = ss_describe,
		.arg = &ss,
	};

	int rc;

	ss.last_rate_at = time(NULL);
	ss.certs = certcache_new();
	rc = inbox_serve(cfp, &svc);
	certcache_free(ss.certs);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = "sitesys-statesys",
		.section = "statesys",
		.run = ss_run,
	};

	return daemon_main(argc, argv, &spec);
}
