/*
 * sender.h - sitesys-sender: a site system's inboxes, kept on its own host
 * as its outbox, delivered to the site server's sitesys-receiver(8) with
 * HTTPS PUTs, oldest name first, each file until it is acknowledged
 */
#ifndef SITESYS_SENDER_H
#define SITESYS_SENDER_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "inbox.h"
#include "util/http_client.h"

#define SENDER_NAME "sitesys-sender"
#define SENDER_BOXES 4 /* most inboxes one sender delivers */
#define SENDER_RETRY_FIRST_MS 1000 /* the first wait after a failure */

/* What became of one file. */
enum send_result {
	SEND_DONE, /* acknowledged (or gone): unlinked */
	SEND_REJECTED, /* refused for what it is: moved to corrupt/ */
	SEND_WAIT, /* not settled yet, or being written: again soon */
	SEND_FAILED /* the site server did not take it: again later */
};

/* One inbox of this host, delivered by a thread of its own. */
struct outbox {
	struct inbox ib;
	struct inbox_watch watch;
	const struct http_ops *http;
	char url[1024]; /* .../inbox/v1/BOX */
	int retry_max_ms, rescan_ms;
	pthread_t thread;
	bool started;
	/* the thread's own: the kind of the last failure (an HTTP status,
	 * or 1000 + libcurl's code when there was no answer), and of the
	 * last one logged, so that a failure is logged when it changes */
	long failure, logged;

	pthread_mutex_t lock; /* the counters below, for the state file */
	unsigned long sent, rejected;
	time_t last_sent; /* 0: none yet */
	char error[700]; /* why the last attempt failed; "" after a success */
	time_t error_since; /* when the failures began */
};

/*
 * outbox_send - PUT incoming/name to o->url?name=NAME: SEND_DONE once
 * acknowledged (201) and unlinked; SEND_REJECTED when the receiver refused
 * the file itself (a bad name, too big, empty), moved to corrupt/ with the
 * reason; SEND_FAILED with why (no answer, the site server refused this
 * sender, or could not write), the file left in place
 */
enum send_result outbox_send(
    struct outbox *o, const char *name, char *why, size_t whylen);

/*
 * outbox_start - deliver o in a thread until signals_stopping(): each
 * listing oldest name first, stopping at the first failure so that the
 * order holds, and after a failure waiting (doubling up to
 * retry_max_ms) before trying the same file again; 0, or -1 logged
 */
int outbox_start(struct outbox *o);

/* sender_nap - sleep ms, or until signals_stopping(), in bounded steps */
void sender_nap(int ms);

/* outbox_join - wait for o's thread to end (after signals_stopping) */
void outbox_join(struct outbox *o);

/*
 * sender_state_write - the state of the outboxes, as sitectl status shows
 * it, written whole to path (sitesys-sender(8), "FILES"); 0, or -1 logged
 */
int sender_state_write(
    const char *path, const char *url, struct outbox *boxes, int n);

#endif
