/*
 * outbox.c - one inbox of this host delivered in a thread of its own:
 * the names in order, each until it is acknowledged, so that the site
 * server receives them in the order they were written here
 */
#include <stdio.h>
#include <string.h>

#include "sender.h"
#include "util/log.h"
#include "util/signals.h"

/* Note a failure: logged when its kind changes, kept for the state. */
static void
failed(struct outbox *o, const char *name, const char *why)
{
	bool changed = o->failure != o->logged;

	o->logged = o->failure;
	pthread_mutex_lock(&o->lock);
	if (o->error_since == 0)
		o->error_since = time(NULL);
	snprintf(o->error, sizeof(o->error), "%s", why);
	pthread_mutex_unlock(&o->lock);
	if (changed)
		log_warn("%s: could not deliver %s, kept here to be sent "
		         "again: %s",
		    o->ib.name, name, why);
}

/*
 * Send what is listed, oldest first: SEND_DONE when all of it went,
 * SEND_WAIT when a file must settle, SEND_FAILED at the first failure.
 */
static enum send_result
send_listed(struct outbox *o)
{
	const char *name;
	char why[700];

	while (!signals_stopping() &&
	    (name = inbox_watch_next(&o->watch)) != NULL) {
		enum send_result r = outbox_send(o, name, why, sizeof(why));

		if (r == SEND_FAILED) {
			failed(o, name, why);
			return r;
		}
		if (r == SEND_WAIT)
			return r;
	}
	return SEND_DONE;
}

/* The thread: list, send, wait; back off after a failure. */
static void *
outbox_run(void *arg)
{
	struct outbox *o = arg;
	int backoff = SENDER_RETRY_FIRST_MS;

	while (!signals_stopping()) {
		enum send_result r = SEND_DONE;

		if (inbox_watch_list(&o->watch) >= 0)
			r = send_listed(o);
		if (r == SEND_FAILED) {
			inbox_watch_forget(&o->watch);
			sender_nap(backoff);
			backoff = backoff * 2 > o->retry_max_ms
			    ? o->retry_max_ms
			    : backoff * 2;
			continue;
		}
		backoff = SENDER_RETRY_FIRST_MS;
		o->logged = 0;
		/* bounded, so that a stop seen by another thread ends it */
		inbox_watch_wait(
		    &o->watch, o->rescan_ms < 1000 ? o->rescan_ms : 1000);
	}
	http_thread_done();
	return NULL;
}

/* A signal wakes one thread: the others see the stop within a second. */
void
sender_nap(int ms)
{
	while (ms > 0 && !signals_stopping()) {
		signals_sleep(ms < 1000 ? ms : 1000);
		ms -= 1000;
	}
}

int
outbox_start(struct outbox *o)
{
	int err;

	pthread_mutex_init(&o->lock, NULL);
	if ((err = pthread_create(&o->thread, NULL, outbox_run, o)) != 0) {
		log_error("could not start the thread of %s: %s", o->ib.name,
		    strerror(err));
		return -1;
	}
	o->started = true;
	return 0;
}

void
outbox_join(struct outbox *o)
{
	if (o->started)
		pthread_join(o->thread, NULL);
	o->started = false;
}
