/* inbox_service.h - a daemon's whole life around one inbox and the database */
#ifndef SITESYS_INBOX_SERVICE_H
#define SITESYS_INBOX_SERVICE_H

#include <libpq-fe.h>

#include "inbox.h"

struct conf;

struct inbox_service {
	const char *box; /* "statsys.box" */
	const char *format; /* required format of its files */
	/* optional deeper check of one file: -1 and why makes it corrupt */
	int (*validate)(
	    void *arg, struct inbox_item *item, char *why, size_t len);
	/* inside the batch's transaction: 0, or -1 to roll back and retry */
	int (*process)(
	    PGconn *db, void *arg, struct inbox_item *items, size_t n);
	/* after each (re)connection, e.g. to prepare statements: 0 or -1 */
	int (*on_connect)(PGconn *db, void *arg);
	/* between batches, for the role's periodic work: 0, or -1 if the
	 * database failed (the service reconnects) */
	int (*tick)(PGconn *db, void *arg, const struct conf *cf);
	/* the longest wait between two ticks, in ms; 0: the rescan
	 * interval (at most a minute) */
	int tick_ms;
	/* add to the status line reported to the database */
	void (*describe)(void *arg, char *buf, size_t len);
	void *arg;

	/* state, for the callbacks and the status line */
	PGconn *db;
	struct inbox_reader reader;
};

/*
 * inbox_serve - create and recover the inbox, then until the daemon stops:
 * connect (with back-off), drain batches, wait on inotify or the rescan
 * interval, prune the ledger, report status. Files stay in place while the
 * database is down. Returns the daemon's exit status.
 */
int inbox_serve(struct conf **cfp, struct inbox_service *svc);

#endif
