/* statesys.h - sitesys-statesys: the state message processor's parts */
#ifndef STATESYS_H
#define STATESYS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inbox.h"

struct conf;

/* A run of serial numbers not seen yet, and when it was first missed. */
struct serial_range {
	int64_t first, last;
	int64_t detected_us;
};

/* One client's serial tracking, as loaded from and saved to the database. */
struct serial_track {
	char *client;
	uint32_t seq; /* its place among the batch's clients (clientmap) */
	bool known; /* tracked: loaded, or seen in this batch */
	bool stored; /* had a client_message_stats row before this batch */
	int64_t next; /* next expected serial */
	int64_t highest; /* highest serial seen */
	struct serial_range *ranges; /* sorted, disjoint, all below next */
	size_t nranges, cap;
	bool ranges_changed;
	/* this batch's effects */
	long messages, duplicates;
	int64_t last_message_us; /* 0: none */
	int64_t completed_us; /* a 700/2 in this batch: its time */
	const char *completed_time;
};

enum serial_verdict { SERIAL_FRESH, SERIAL_DUPLICATE };

/*
 * serial_apply - account serial s (in ascending order within a batch): a
 * gap becomes a missing range detected at now_us; a late message fills its
 * range; a serial seen before is a duplicate
 */
enum serial_verdict serial_apply(
    struct serial_track *t, int64_t s, int64_t now_us);

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

/* clientmap_count - the number of clients */
size_t clientmap_count(const struct clientmap *m);

/* clientmap_free - free the map and every entry */
void clientmap_free(struct clientmap *m);

/* The current-state topics a batch's known clients have, with their times
 * (on util/strmap). */
struct topicset;

/* topicset_new - an empty set */
struct topicset *topicset_new(void);

/* topicset_add - record (or replace) client t's topic and its newest message */
void topicset_add(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t time_us, int64_t serial);

/* topicset_find - true, with its message's time and serial, if t has topic */
bool topicset_find(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t *time_us, int64_t *serial);

/* topicset_free - free the set (NULL is fine) */
void topicset_free(struct topicset *s);

/* One statsys.box file's batches, parsed once, when it is validated. */
struct smfile {
	struct statemsg_batch *batches;
	size_t n;
};

/* load_prepare - per connection: temporary staging tables; 0 or -1 */
int load_prepare(PGconn *db);

/* load_batch - apply the state messages of items in the open transaction */
int load_batch(PGconn *db, struct inbox_item *items, size_t n,
    unsigned long *messages, unsigned long *duplicates);

/* resync_tick - the periodic resync check and history retention */
int resync_tick(PGconn *db, const struct conf *cf);

#endif
