/* statesys.h - sitesys-statesys: the state message processor's parts */
#ifndef STATESYS_H
#define STATESYS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inbox.h"
#include "util/buf.h"
#include "util/x509.h"

struct conf;
struct statemsg;

/* A run of serial numbers not seen yet, and when it was first missed. */
struct serial_range {
	int64_t first, last;
	int64_t detected_us;
};

/* One client's serial tracking, as loaded from and saved to the database. */
struct serial_track {
	char *client;
	uint32_t seq; /* its place among the batch's clients (clientmap) */
	uint32_t rank; /* its place in the GUIDs' byte order (clientmap_rank) */
	bool known; /* tracked: loaded, or seen in this batch */
	bool stored; /* had a client_message_stats row before this batch */
	int64_t next; /* next expected serial */
	int64_t highest; /* highest serial seen */
	struct serial_range *ranges; /* sorted, disjoint, all below next */
	size_t nranges, cap;
	bool ranges_changed;
	/* this batch's effects */
	long messages, duplicates, refused;
	int64_t refused_serial, refused_expected; /* the first refused */
	int64_t last_message_us; /* 0: none; never a time dated ahead */
	int64_t completed_us; /* a 700/2 in this batch: its time */
	const char *completed_time;
};

enum serial_verdict { SERIAL_FRESH, SERIAL_DUPLICATE, SERIAL_REFUSED };

/* serial_expected - the serial t expects next: 1 for a client not tracked */
int64_t serial_expected(const struct serial_track *t);

/*
 * serial_apply - account serial s (in ascending order within a batch): a
 * serial more than window beyond the expected one is refused and changes
 * nothing; a gap becomes a missing range detected at now_us; a late message
 * fills its range; a serial seen before is a duplicate
 */
enum serial_verdict serial_apply(
    struct serial_track *t, int64_t s, int64_t window, int64_t now_us);

/* serial_close_before - a resync completed at serial s: no gaps below it */
void serial_close_before(struct serial_track *t, int64_t s);

/* serial_add_range - append a range (loading: in ascending order) */
void serial_add_range(
    struct serial_track *t, int64_t first, int64_t last, int64_t detected_us);

/* A map from client GUID to its tracking, for one batch (on util/strmap). */
struct clientmap;

/* clientmap_new - an empty map */
struct clientmap *clientmap_new(void);

/* clientmap_get - the client's entry, made (zeroed) if absent */
struct serial_track *clientmap_get(struct clientmap *m, const char *client);

/* clientmap_each - call fn for every entry, in the order first seen */
void clientmap_each(
    struct clientmap *m, void (*fn)(struct serial_track *, void *), void *arg);

/*
 * clientmap_rank - number the clients in the byte order of their GUIDs
 * (serial_track.rank), so that sorting rows by client compares integers
 * and still gives the keys' order
 */
void clientmap_rank(struct clientmap *m);

/* clientmap_count - the number of clients */
size_t clientmap_count(const struct clientmap *m);

/* clientmap_free - free the map and every entry */
void clientmap_free(struct clientmap *m);

/* The current-state topics a batch's known clients have, with the serials
 * of their messages (on util/strmap). */
struct topicset;

/* topicset_new - an empty set */
struct topicset *topicset_new(void);

/* topicset_add - record (or replace) client t's topic and its message's
 * serial */
void topicset_add(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t serial);

/* topicset_find - true, with its message's serial, if t has the topic */
bool topicset_find(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t *serial);

/* topicset_free - free the set (NULL is fine) */
void topicset_free(struct topicset *s);

/* One statsys.box file's batches, parsed once, when it is validated. */
struct smfile {
	struct statemsg_batch *batches;
	size_t n;
	bool via_fsp; /* a set that a fallback status point forwarded */
	bool *held; /* via_fsp: per batch, not applied (fsp_check says) */
};

/*
 * A cache of parsed client certificates, keyed by their SHA-256
 * fingerprint (on util/strmap): a fingerprint names one certificate for
 * good, so an entry never goes stale; a client that registers anew or
 * whose identity is reset has another fingerprint, or none, in the
 * database, which is read with every batch that needs it.
 */
struct certcache;

/* certcache_new - an empty cache */
struct certcache *certcache_new(void);

/*
 * certcache_get - the certificate whose fingerprint is fp: cached, or
 * parsed from pem and checked against fp; NULL with why
 */
X509 *certcache_get(struct certcache *c, const char *fp, const char *pem,
    char *why, size_t len);

/* certcache_free - free the cache and its certificates (NULL is fine) */
void certcache_free(struct certcache *c);

/* What became of the batches that came through an FSP, since the start. */
struct fsp_counts {
	unsigned long signed_batches; /* verified: applied as from an MP */
	unsigned long forged; /* a registered client's, not signed by it */
	unsigned long blocked; /* a blocked client's, signed: refused */
	unsigned long unverified; /* messages of unregistered clients kept */
	unsigned long dropped; /* theirs of other topic types, dropped */
};

/* The checks of one batch of files: fsp_check fills it, fsp_done logs it. */
struct fsp_run {
	struct fsp_counts counts;
	struct buf warnings, infos; /* log lines, each ending in '\n' */
};

/*
 * fsp_check - in the open transaction, check the batches of items that
 * came through an FSP against their clients' certificates, and set each
 * file's held[] for those that must not be applied: a registered client's
 * batch counts only if signed by its key, else it is forged (counted on
 * the client), and only if the client is approved (a blocked client's is
 * refused); an unregistered or unapproved client's messages of the FSP's
 * topic types go into statemsg_unverified and the rest are dropped. Files not via an
 * FSP cost nothing. 0, or -1 (logged) if the database failed.
 */
int fsp_check(PGconn *db, struct certcache *certs, struct inbox_item *items,
    size_t n, struct fsp_run *run);

/*
 * fsp_done - the load succeeded: log run's notes (forged batches as
 * warnings) and add its counts to total; with total NULL (it failed, and
 * will be retried), neither; free run
 */
void fsp_done(struct fsp_run *run, struct fsp_counts *total);

/* load_prepare - per connection: temporary staging tables; 0 or -1 */
int load_prepare(PGconn *db);

/* What load_batch is to refuse or keep from the current state. */
struct load_limits {
	int64_t serial_window; /* [statesys] serial_window */
	int64_t future_minutes; /* [statesys] future_minutes */
};

/* What the loads applied, repeated, refused and dated ahead, since start. */
struct load_counts {
	unsigned long messages; /* applied: history, and state if due */
	unsigned long duplicates; /* serials seen before: not applied */
	unsigned long refused; /* serials beyond the window: not applied */
	unsigned long ahead; /* applied to the history only: dated ahead */
};

/*
 * load_batch - apply the state messages of items in the open transaction,
 * but for the batches their files hold (fsp_check): each client's messages
 * in serial order, a topic's current state its highest serial's message;
 * a serial more than lim->serial_window beyond the client's expected one
 * is refused (not applied: no history, no gap), a message dated more than
 * lim->future_minutes ahead of now goes to the history only. On success
 * adds to *counts and logs the refused (per client) and those dated ahead
 * (once); 0, or -1 (logged) and *counts untouched
 */
int load_batch(PGconn *db, struct inbox_item *items, size_t n,
    const struct load_limits *lim, struct load_counts *counts);

/*
 * load_message_fields - a message's columns for COPY, as statemsg_history
 * has them from client to params, tab-separated, without a line end; tmp
 * is scratch space
 */
void load_message_fields(struct buf *b, struct buf *tmp, const char *client,
    const struct statemsg *m);

/* load_copy - COPY the rows in b with sql; 0 or -1 */
int load_copy(PGconn *db, const char *sql, const struct buf *b);

/* resync_tick - the periodic resync check and history upkeep; 0 or -1 */
int resync_tick(PGconn *db, const struct conf *cf);

/*
 * history_prepare - the history's partitions of today and the next days
 * (the database's UTC day) made if missing, and logged; 0 or -1 (logged)
 */
int history_prepare(PGconn *db);

/*
 * history_keep - history_prepare, then the history's days older than
 * [statesys] history_days dropped whole and the unverified messages as old
 * deleted, each logged; 0 or -1 (logged)
 */
int history_keep(PGconn *db, const struct conf *cf);

#endif
