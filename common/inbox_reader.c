/*
 * inbox_reader.c - the exactly-once batch reader: list incoming/, parse,
 * process and record in one transaction, unlink only after the commit
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inbox.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

/*
 * While one batch's transaction runs in the database, a thread reads and
 * parses the next: the two halves of the work overlap on two cores.
 */
struct inbox_ahead {
	pthread_t thread;
	struct inbox_item *items;
	size_t n;
	long rejected;
};

static size_t batch_fill(
    struct inbox_reader *r, struct inbox_item *items, long *rejected);
static void item_clear(struct inbox_item *it);

static void *
ahead_run(void *arg)
{
	struct inbox_reader *r = arg;

	r->ahead->n = batch_fill(r, r->ahead->items, &r->ahead->rejected);
	return NULL;
}

/* Start reading the batch after this one, if its files are listed. */
static void
ahead_start(struct inbox_reader *r)
{
	int err;

	if (!inbox_watch_pending(&r->watch))
		return;
	if ((r->ahead = calloc(1, sizeof(*r->ahead))) == NULL ||
	    (r->ahead->items =
	            calloc(r->batch_files, sizeof(struct inbox_item))) == NULL)
		abort();
	if ((err = pthread_create(&r->ahead->thread, NULL, ahead_run, r)) !=
	    0) {
		log_warn(
		    "could not start the read-ahead thread: %s", strerror(err));
		free(r->ahead->items);
		free(r->ahead);
		r->ahead = NULL;
	}
}

/* Wait for the read-ahead; its batch stays in r->ahead for the next call. */
static void
ahead_join(struct inbox_reader *r)
{
	if (r->ahead != NULL)
		pthread_join(r->ahead->thread, NULL);
}

/* Drop a joined read-ahead's batch (the files stay for a later batch). */
static void
ahead_drop(struct inbox_reader *r)
{
	if (r->ahead == NULL)
		return;
	for (size_t i = 0; i < r->ahead->n; i++)
		item_clear(&r->ahead->items[i]);
	free(r->ahead->items);
	free(r->ahead);
	r->ahead = NULL;
}

/* Take a joined read-ahead's batch: its items and how many. */
static struct inbox_item *
ahead_take(struct inbox_reader *r, size_t *n, long *rejected)
{
	struct inbox_item *items = r->ahead->items;

	*n = r->ahead->n;
	*rejected = r->ahead->rejected;
	free(r->ahead);
	r->ahead = NULL;
	return items;
}

void
inbox_reader_init(struct inbox_reader *r)
{
	inbox_watch_init(&r->watch, r->ib, r->settle_seconds);
	r->processed = r->repeats = r->rejected = 0;
	r->ahead = NULL;
	if (r->batch_files == 0)
		r->batch_files = 256;
}

void
inbox_reader_free(struct inbox_reader *r)
{
	ahead_drop(r);
	inbox_watch_free(&r->watch);
}

/*
 * Load and check one file. 1: ready; 0: skip for now (gone, unparsable
 * but still changing, or a transient error); -1: refused, with the reason
 * in why.
 */
static int
item_load(struct inbox_reader *r, int dfd, struct inbox_item *it, char *why,
    size_t whylen)
{
	struct stat st;
	char perr[512];

	if (inbox_entry_read(
	        dfd, it->name, &it->data, &it->len, &st, why, whylen) == -1) {
		if (errno == ENOENT)
			return 0;
		if (!inbox_transient(errno))
			return -1;
		log_error("%s/%s: %s", r->ib->name, it->name, why);
		return 0;
	}
	it->doc = sjson_parse(it->data, it->len, perr, sizeof(perr));
	if (it->doc == NULL) {
		if (inbox_watch_settling(&r->watch, st.st_mtime))
			return 0; /* perhaps still being copied in */
		snprintf(why, whylen, "%s", perr);
		return -1;
	}
	if (r->format != NULL &&
	    sjson_format(it->doc, r->format, why, whylen) == -1)
		return -1;
	if (r->validate != NULL && r->validate(r->arg, it, why, whylen) == -1)
		return -1;
	return 1;
}

static void
item_clear(struct inbox_item *it)
{
	free(it->data);
	if (it->parsed_free != NULL)
		it->parsed_free(it->parsed);
	if (it->doc != NULL)
		json_decref(it->doc);
	memset(it, 0, sizeof(*it));
}

/* Take up to batch_files ready files; rejects the corrupt ones. */
static size_t
batch_fill(struct inbox_reader *r, struct inbox_item *items, long *rejected)
{
	int dfd = open(r->ib->incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *name;
	size_t n = 0;
	char why[1024];

	if (dfd == -1) {
		log_error("could not open \"%s\": %m", r->ib->incoming);
		return 0;
	}
	while (n < r->batch_files && (name = inbox_watch_next(&r->watch))) {
		struct inbox_item *it = &items[n];
		int rc;

		memset(it, 0, sizeof(*it));
		snprintf(it->name, sizeof(it->name), "%s", name);
		rc = item_load(r, dfd, it, why, sizeof(why));
		if (rc == 1) {
			n++;
			continue;
		}
		if (rc == -1 &&
		    inbox_watch_refuse(&r->watch, it->name, why) == 0)
			(*rejected)++;
		item_clear(it);
	}
	close(dfd);
	return n;
}

/* The transaction: skip repeats, process the rest, record them. */
static int
batch_commit(struct inbox_reader *r, struct inbox_item *items, size_t n)
{
	const struct inbox_ledger *lg = r->ledger;
	struct inbox_item *fresh;
	size_t nfresh = 0;
	int rc = -1;

	if (lg->begin(r->ledger_ctx) == -1)
		return -1;
	CRASH_POINT("batch.begun");
	if (lg->seen(r->ledger_ctx, r->ib->name, items, n) == -1)
		goto fail;
	/* processors see only fresh items, packed at the front */
	if ((fresh = malloc(n * sizeof(*fresh))) == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!items[i].seen)
			fresh[nfresh++] = items[i];
	if (nfresh > 0 && r->process(r->arg, fresh, nfresh) == -1) {
		free(fresh);
		goto fail;
	}
	CRASH_POINT("batch.processed");
	rc = nfresh > 0 ? lg->record(r->ledger_ctx, r->ib->name, fresh, nfresh)
	                : 0;
	free(fresh);
	if (rc == -1)
		goto fail;
	CRASH_POINT("batch.recorded");
	if (lg->commit(r->ledger_ctx) == -1)
		return -1; /* a failed COMMIT has rolled back by itself */
	CRASH_POINT("batch.committed");
	return 0;
fail:
	lg->rollback(r->ledger_ctx);
	return -1;
}

/* After the commit: the files are done; a failed unlink is only a repeat. */
static void
batch_unlink(struct inbox_reader *r, struct inbox_item *items, size_t n)
{
	int dfd = open(r->ib->incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (size_t i = 0; i < n; i++) {
		if (items[i].seen)
			r->repeats++;
		else
			r->processed++;
		if (dfd != -1 && unlinkat(dfd, items[i].name, 0) == -1 &&
		    errno != ENOENT)
			log_error("could not unlink \"%s/%s\": %m",
			    r->ib->incoming, items[i].name);
		if (items[i].seen)
			log_info("%s/%s was already processed, removed",
			    r->ib->name, items[i].name);
		item_clear(&items[i]);
		CRASH_POINT("batch.unlinked_one");
	}
	if (dfd != -1)
		close(dfd);
	CRASH_POINT("batch.unlinked");
}

/* This call's batch: read ahead by the last call, or read now. */
static struct inbox_item *
batch_take(struct inbox_reader *r, size_t *n, long *rejected)
{
	struct inbox_item *items;
	int listed;

	if (r->ahead != NULL)
		return ahead_take(r, n, rejected);
	if (!inbox_watch_pending(&r->watch)) {
		if ((listed = inbox_watch_list(&r->watch)) == -1)
			return NULL;
		r->rejected += (unsigned long)listed;
		CRASH_POINT("batch.listed");
	}
	if ((items = calloc(r->batch_files, sizeof(*items))) == NULL)
		abort();
	*n = batch_fill(r, items, rejected);
	return items;
}

long
inbox_reader_batch(struct inbox_reader *r)
{
	struct inbox_item *items;
	long rejected = 0;
	size_t n = 0;

	if ((items = batch_take(r, &n, &rejected)) == NULL)
		return -1;
	r->rejected += (unsigned long)rejected;
	if (n == 0) {
		free(items);
		return rejected;
	}
	CRASH_POINT("batch.parsed");
	ahead_start(r);
	if (batch_commit(r, items, n) == -1) {
		ahead_join(r);
		ahead_drop(r);
		snprintf(r->failed, sizeof(r->failed), "%s", items[0].name);
		for (size_t i = 0; i < n; i++)
			item_clear(&items[i]);
		free(items);
		inbox_watch_forget(&r->watch); /* rescan before the retry */
		return -1;
	}
	batch_unlink(r, items, n);
	ahead_join(r);
	free(items);
	return (long)n + rejected;
}

int
inbox_reader_wait(struct inbox_reader *r, int timeout_ms)
{
	if (inbox_watch_pending(&r->watch))
		return 0; /* listed files are still waiting */
	return inbox_watch_wait(&r->watch, timeout_ms);
}
