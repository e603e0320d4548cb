/*
 * receiver.h - sitesys-receiver, the inboxes of the site server over
 * HTTPS: what a site system on another host may put where
 */
#ifndef SITESYS_RECEIVER_H
#define SITESYS_RECEIVER_H

#include <pthread.h>
#include <stddef.h>

#define RECEIVER_PATH "/inbox/v1/" /* followed by the inbox's name */

/*
 * receiver_admits - NULL if a site system of role (its certificate's
 * organizationalUnitName) may put files into box, else why not
 */
const char *receiver_admits(const char *box, const char *role);

/*
 * receiver_name - the file name a PUT into box names in its query
 * (name=NAME, URL-encoded or not), into name (len bytes): 0, or -1 with
 * why. The name must be the protocol's, sitesys-inbox(5):
 * <unix-µs>.<host>.<pid>.<seq>[.<word>...].<ext> (at most three words, as
 * a group commit's key and the FSP's part number), with an ext that box
 * takes.
 */
int receiver_name(const char *box, const char *query, char *name, size_t len,
    char *why, size_t whylen);

/* The names being written (inflight.c); PTHREAD_MUTEX_INITIALIZER. */
struct inflight {
	pthread_mutex_t lock;
	char **names;
	size_t n, cap;
};

/*
 * inflight_take - mark name as being written: 0, or -1 with errno EBUSY
 * when another request is writing it (ENOMEM when out of memory)
 */
int inflight_take(struct inflight *f, const char *name);

/* inflight_give - name is written (or failed): no longer in flight */
void inflight_give(struct inflight *f, const char *name);

#endif
