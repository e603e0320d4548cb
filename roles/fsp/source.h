/*
 * source.h - who sent what the FSP spools: a source is a client address
 * as nginx passes it (REMOTE_ADDR), an IPv6 address counted by its /64;
 * its key names the spool files that hold its batches, and the quota
 * counts the messages each source has waiting
 *
 * The address, not the batch's client id: an anonymous sender chooses the
 * client id of every batch freely, but not (over TCP) its address, and
 * one end site gets a whole IPv6 /64.
 */
#ifndef SITESYS_FSP_SOURCE_H
#define SITESYS_FSP_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strmap.h"

#define SOURCE_KEY_MAX 18 /* "s6" and 16 hex digits */

/*
 * source_key - the key of client address addr: "s4" and the 8 hex digits
 * of an IPv4 address, "s6" and the 16 of an IPv6 address's /64, "s0" for
 * what is no address (NULL, or a unix socket's peer); key holds
 * SOURCE_KEY_MAX + 1
 */
void source_key(const char *addr, char *key, size_t len);

/*
 * source_of - the source key in a spool file's name, STEM.KEY.EXT or
 * STEM.KEY.rN.EXT, into key; "" when it has none (a file put into the
 * spool by other means)
 */
void source_of(const char *name, char *key, size_t len);

/* What each source has waiting in the spool, shared by every thread. */
struct source_quota {
	pthread_mutex_t mu;
	struct strmap count; /* key -> messages waiting */
	struct source_key_list *keys; /* the map's keys, owned */
	long long max; /* [fsp] source_max_messages, 0: limit */
	long long limit; /* [fsp] throttle_messages */
	int64_t interval_ms; /* [fsp] throttle_seconds */
	int64_t end_ms; /* when the forwarder's interval ends; 0: none */
};

/* quota_init - an empty quota */
void quota_init(struct source_quota *q);

/* quota_free - release what the quota holds */
void quota_free(struct source_quota *q);

/* quota_configure - take the cap and the throttle (thread-safe) */
void quota_configure(struct source_quota *q, long long max, long long limit,
    int64_t interval_ms);

/*
 * quota_admit - reserve n messages for key: 0 if it had nothing waiting
 * or stays within the cap, else (nothing reserved) the seconds after
 * which the forwarder will have taken enough of it: what is left of the
 * throttle's interval, and one interval more per limit messages beyond
 * the first over the cap. Thread-safe.
 */
long quota_admit(struct source_quota *q, const char *key, long long n);

/* quota_add - count n more messages of key as waiting (thread-safe) */
void quota_add(struct source_quota *q, const char *key, long long n);

/* quota_release - n messages of key are no longer waiting (thread-safe) */
void quota_release(struct source_quota *q, const char *key, long long n);

/* quota_waiting - the messages key has waiting (thread-safe) */
long long quota_waiting(struct source_quota *q, const char *key);

/* quota_interval - the forwarder's interval now ends at end_ms */
void quota_interval(struct source_quota *q, int64_t end_ms);

#endif
