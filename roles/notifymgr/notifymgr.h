/*
 * notifymgr.h - sitesys-notifymgr, the notification manager: prototypes
 * grouped by file
 */
#ifndef SITESYS_NOTIFYMGR_H
#define SITESYS_NOTIFYMGR_H

#include <libpq-fe.h>
#include <stddef.h>

struct conf;
struct inbox_item;
struct loc_model;

/* load.c - bgb.box into the database, inside the batch's transaction */

/* What loading has done since the start, for the status line. */
struct load_counts {
	unsigned long events; /* .bts events applied */
	unsigned long unmatched; /* events for no known push */
	unsigned long snapshots; /* .bos files applied */
};

/* load_prepare - the staging tables, after each connection; 0 or -1 */
int load_prepare(PGconn *db);

/*
 * load_files - apply items, parsed .bts and .bos files (item->parsed is a
 * struct bgb_file), in name order: task events into notify_push, presence
 * snapshots into client_online; 0, or -1 (logged) to roll back
 */
int load_files(
    PGconn *db, struct inbox_item *items, size_t n, struct load_counts *counts);

/* tasks.c - tasks from new to done */

/* What the task work has done since the start, for the status line. */
struct task_counts {
	unsigned long expanded, released, stopped, expired, done;
};

/*
 * tasks_tick - expand new tasks into their pushes, release pushes at each
 * task's rate, stop tasks after their failures, expire those past their
 * validity and close those that are complete; 0, or -1 (logged)
 */
int tasks_tick(PGconn *db, struct task_counts *counts);

/* expand.c - the clients a task targets */

/*
 * expand_task - inside the caller's transaction, insert the pushes of new
 * task id (its collection's members, by m for boundary groups, or its
 * named clients, each marked online as client_online says), released at
 * once (added to *released) if the task has no rate, and set it pushing;
 * the number of pushes, or -1 (logged)
 */
long expand_task(PGconn *db, const struct loc_model *m, const char *id,
    unsigned long *released);

#endif
