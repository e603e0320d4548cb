/* inbox_service.c - a daemon's whole life around one inbox and the database */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "component.h"
#include "daemon.h"
#include "inbox_service.h"
#include "ledger_pg.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"
#include "util/signals.h"

#define REPORT_SECONDS 60
#define DRAIN_SECONDS 10

static int
svc_process(void *arg, struct inbox_item *items, size_t n)
{
	struct inbox_service *svc = arg;

	return svc->process(svc->db, svc->arg, items, n);
}

/* Connect, run on_connect, report; false once the daemon is stopping. */
static bool
svc_connect(struct inbox_service *svc, const struct conf *cf)
{
	int wait = 1,
	    max_wait = (int)conf_int(cf, "database", "retry_max_seconds");

	while (!signals_stopping()) {
		svc->db =
		    daemon_db_connect_retry(daemon_db_conninfo(cf), max_wait);
		if (svc->db == NULL)
			return false;
		if ((svc->on_connect == NULL ||
		        svc->on_connect(svc->db, svc->arg) == 0) &&
		    component_report(svc->db, "running", "connected") == 0) {
			svc->reader.ledger_ctx = svc->db;
			return true;
		}
		PQfinish(svc->db);
		svc->db = NULL;
		/* e.g. another instance holds the role's lock: back off */
		signals_sleep(wait * 1000);
		wait = wait * 2 > max_wait ? max_wait : wait * 2;
	}
	return false;
}

/* The status line: the reader's counters and the role's own. */
static void
svc_detail(struct inbox_service *svc, char *detail, size_t len)
{
	size_t skipped = inbox_watch_skipped(&svc->reader.watch);
	int n = snprintf(detail, len, "%s: %lu files, %lu repeats, %lu corrupt",
	    svc->box, svc->reader.processed, svc->reader.repeats,
	    svc->reader.rejected);

	if (skipped > 0 && n > 0 && (size_t)n < len)
		n += snprintf(
		    detail + n, len - (size_t)n, ", %zu skipped", skipped);

	if (svc->describe != NULL && n > 0 && (size_t)n < len - 2) {
		detail[n++] = ';';
		detail[n++] = ' ';
		svc->describe(svc->arg, detail + n, len - (size_t)n);
	}
}

static void
svc_report(struct inbox_service *svc, time_t *last, int keep_days)
{
	char detail[512];
	time_t now = time(NULL);

	if (*last != 0 && now - *last < REPORT_SECONDS)
		return;
	*last = now;
	svc_detail(svc, detail, sizeof(detail));
	component_report(svc->db, "running", detail);
	if (ledger_pg_prune(svc->db, svc->box, keep_days) > 0)
		log_debug("pruned the ledger of %s", svc->box);
}

static int
svc_open(struct inbox_service *svc, const struct conf *cf, struct inbox *ib)
{
	int purged;

	if (inbox_open(ib, conf_str(cf, "site", "inbox_dir"), svc->box, true) ==
	    -1) {
		log_error("could not open inbox \"%s/%s\": %m",
		    conf_str(cf, "site", "inbox_dir"), svc->box);
		return -1;
	}
	if ((purged = inbox_recover(
	         ib, (int)conf_int(cf, "inbox", "stale_tmp_seconds"))) == -1)
		log_error("could not recover \"%s\": %m", ib->tmp);
	memset(&svc->reader, 0, sizeof(svc->reader));
	svc->reader.ib = ib;
	svc->reader.format = svc->format;
	svc->reader.ledger = &ledger_pg;
	svc->reader.validate = svc->validate;
	svc->reader.process = svc_process;
	svc->reader.arg = svc;
	svc->reader.batch_files = (size_t)conf_int(cf, "inbox", "batch_files");
	svc->reader.settle_seconds =
	    (int)conf_int(cf, "inbox", "settle_seconds");
	inbox_reader_init(&svc->reader);
	return 0;
}

/*
 * Drain until nothing is ready or DRAIN_SECONDS have passed, so that a
 * long backlog does not hold up status reports and periodic work: 0 when
 * drained, 1 when there is more, -1 if the database failed.
 */
static int
svc_drain(struct inbox_service *svc)
{
	time_t until = time(NULL) + DRAIN_SECONDS;
	long n = 0;

	while (
	    !signals_stopping() && (n = inbox_reader_batch(&svc->reader)) > 0) {
		log_debug("%s: batch of %ld files", svc->box, n);
		if (time(NULL) >= until)
			return 1;
	}
	return signals_stopping() ? 0 : (int)n;
}

/*
 * A batch failed while the connection stayed up: some file may be one the
 * database refuses. Retry one file at a time; a file refused alone goes to
 * corrupt/ with the database's reason, so it cannot hold up the rest.
 */
static void
svc_isolate(struct inbox_service *svc, size_t batch_files)
{
	struct inbox_reader *r = &svc->reader;
	long n;

	log_warn("%s: a batch failed with the database up; retrying its "
	         "files one by one",
	    svc->box);
	r->batch_files = 1;
	for (size_t i = 0; i < batch_files && !signals_stopping(); i++) {
		if ((n = inbox_reader_batch(r)) == 0)
			break;
		if (n > 0)
			continue;
		if (!db_connected(svc->db))
			break;
		char why[1200];
		snprintf(why, sizeof(why), "the database refused it: %s",
		    db_error());
		inbox_reject(r->ib, r->failed, why);
		r->rejected++;
	}
	r->batch_files = batch_files;
}

/* Forget a failed connection; the next round reconnects and reports. */
static void
svc_disconnect(struct inbox_service *svc, time_t *last_report)
{
	PQfinish(svc->db);
	svc->db = NULL;
	*last_report = 0;
}

int
inbox_serve(struct conf **cfp, struct inbox_service *svc)
{
	struct inbox ib;
	time_t last_report = 0; /* report at once, then every minute */
	int backoff = 1, max_wait, rescan, more, wait_ms;

	if (svc_open(svc, *cfp, &ib) == -1)
		return 1;
	while (!signals_stopping()) {
		max_wait = (int)conf_int(*cfp, "database", "retry_max_seconds");
		/* closed by a server restart while idle: make it again
		 * before a batch fails on it */
		if (svc->db != NULL && !db_alive(svc->db)) {
			log_info("connection to the site database lost; "
			         "reconnecting");
			svc_disconnect(svc, &last_report);
		}
		if (svc->db == NULL && !svc_connect(svc, *cfp))
			break;
		if ((more = svc_drain(svc)) == -1) {
			if (db_connected(svc->db)) {
				svc_isolate(svc, svc->reader.batch_files);
				continue;
			}
			log_error(
			    "lost the database; files stay in %s", ib.incoming);
			svc_disconnect(svc, &last_report);
			signals_sleep(backoff * 1000);
			backoff =
			    backoff * 2 > max_wait ? max_wait : backoff * 2;
			continue;
		}
		backoff = 1;
		if (svc->tick != NULL &&
		    svc->tick(svc->db, svc->arg, *cfp) == -1 &&
		    !db_connected(svc->db)) {
			svc_disconnect(svc, &last_report);
			continue;
		}
		svc_report(svc, &last_report,
		    (int)conf_int(*cfp, "inbox", "ledger_keep_days"));
		if (signals_take(SIGHUP))
			daemon_reload(cfp);
		if (more)
			continue; /* a backlog: straight back to it */
		rescan = (int)conf_int(*cfp, "inbox", "rescan_seconds");
		wait_ms =
		    (rescan < REPORT_SECONDS ? rescan : REPORT_SECONDS) * 1000;
		if (svc->tick_ms > 0 && svc->tick_ms < wait_ms)
			wait_ms = svc->tick_ms;
		inbox_reader_wait(&svc->reader, wait_ms);
	}
	if (svc->db != NULL) {
		char detail[512];

		svc_detail(svc, detail, sizeof(detail));
		component_report(svc->db, "stopped", detail);
		PQfinish(svc->db);
	}
	inbox_reader_free(&svc->reader);
	inbox_close(&ib);
	return 0;
}
