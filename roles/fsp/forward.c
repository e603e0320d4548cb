/*
 * forward.c - the spool fsp.box forwarded into statsys.box, no faster than
 * the throttle, exactly once across crashes
 *
 * A step:
 *   1. plans: takes the oldest batches of fsp.box/incoming while the
 *      throttle has room, the last one possibly split (its first k
 *      messages go, the rest stays);
 *   2. writes forward.state (the throttle and the plan) by temp, fsync,
 *      rename, fsync: from here on a restart redoes the same plan;
 *   3. writes each batch (or its first part) into statsys.box by the inbox
 *      protocol under a name derived from its own (split.h), flushes
 *      statsys.box/incoming;
 *   4. writes the rest of a split batch into fsp.box under its derived
 *      name, flushes fsp.box/incoming;
 *   5. unlinks the planned batches, flushes fsp.box/incoming.
 *
 * Redoing a step writes the same names with the same contents, because
 * the plan fixes how many messages of which file go, and a batch file is
 * never changed; a planned batch that is gone was fully handled. The
 * statesys ledger drops a name it has seen, so a repeat is harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsp.h"
#include "split.h"
#include "statemsg.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"
#include "util/sjson.h"

static int
path_of(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Read spool/incoming/name whole; -1 with errno (ENOENT: gone). */
static int
read_batch(struct fwd *fw, const char *name, char **data, size_t *len)
{
	char path[4096];

	if (path_of(path, sizeof(path), fw->spool->incoming, name) == -1)
		return -1;
	return fsio_read_file(path, INBOX_MAX_FILE, data, len);
}

/* --- carrying out a plan -------------------------------------------- */

/* Put data into ib under a name that a crashed step may have used. */
static int
put_again(struct inbox *ib, const char *name, const char *data, size_t len)
{
	char tmp[4096];

	if (path_of(tmp, sizeof(tmp), ib->tmp, name) == -1)
		return -1;
	unlink(tmp);
	return inbox_put(ib, name, data, len);
}

/* The compact text of messages [from, to) of the batch data; NULL: why. */
static char *
slice_text(const char *data, size_t len, size_t from, size_t to, char *why,
    size_t whylen)
{
	json_t *doc = sjson_parse(data, len, why, whylen), *part;
	char *text = NULL;

	if (doc == NULL)
		return NULL;
	if ((part = split_doc(doc, from, to)) == NULL)
		snprintf(why, whylen, "has no messages %zu to %zu", from, to);
	else if ((text = json_dumps(part, JSON_COMPACT)) == NULL)
		snprintf(why, whylen, "out of memory");
	json_decref(part);
	json_decref(doc);
	return text;
}

/*
 * Write entry e's part into statsys.box and, for a split, its rest into
 * fsp.box (not yet flushed); 1 done, 0 the batch is gone (done before),
 * -1 failure (logged).
 */
static int
forward_entry(struct fwd *fw, const struct fwd_entry *e, int *rest_written)
{
	struct split_names sn;
	char why[512] = "", *data, *part = NULL, *rest = NULL;
	size_t len;
	int rc = -1;

	if (read_batch(fw, e->name, &data, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		log_error(
		    "could not read \"%s/%s\": %m", fw->spool->name, e->name);
		return -1;
	}
	if (split_names(e->name, &sn) == -1) {
		log_error(
		    "cannot forward \"%s/%s\": %m", fw->spool->name, e->name);
		goto out;
	}
	if (e->k == e->n) {
		if (put_again(fw->out, sn.whole, data, len) == -1) {
			log_error("could not write \"%s/%s\": %m",
			    fw->out->name, sn.whole);
			goto out;
		}
		CRASH_POINT("fwd.part");
		rc = 1;
		goto out;
	}
	if ((part = slice_text(data, len, 0, e->k, why, sizeof(why))) == NULL ||
	    (rest = slice_text(data, len, e->k, e->n, why, sizeof(why))) ==
	        NULL) {
		log_error("cannot split \"%s/%s\": %s", fw->spool->name,
		    e->name, why);
		goto out;
	}
	if (put_again(fw->out, sn.part, part, strlen(part)) == -1) {
		log_error(
		    "could not write \"%s/%s\": %m", fw->out->name, sn.part);
		goto out;
	}
	CRASH_POINT("fwd.part");
	if (put_again(fw->spool, sn.rest, rest, strlen(rest)) == -1) {
		log_error(
		    "could not write \"%s/%s\": %m", fw->spool->name, sn.rest);
		goto out;
	}
	*rest_written = 1;
	rc = 1;
out:
	free(data);
	free(part);
	free(rest);
	return rc;
}

/* Log one line for a batch forwarded by the plan. */
static void
log_entry(const struct fwd *fw, const struct fwd_entry *e)
{
	struct split_names sn;

	if (split_names(e->name, &sn) == -1)
		return;
	if (e->k == e->n)
		log_info("forwarded %s into %s as %s (messages: %zu)", e->name,
		    fw->out->name, sn.whole, e->n);
	else
		log_info("forwarded %s into %s as %s (messages: %zu of %zu; "
		         "the rest waits in %s as %s)",
		    e->name, fw->out->name, sn.part, e->k, e->n,
		    fw->spool->name, sn.rest);
}

/* Steps 3 to 5 of a step (see the top); 0 or -1 (logged, redone later). */
static int
fwd_apply(struct fwd *fw)
{
	int done[FWD_MAX_FILES], rest = 0;
	char path[4096];

	for (size_t i = 0; i < fw->nplan; i++)
		if ((done[i] = forward_entry(fw, &fw->plan[i], &rest)) == -1)
			return -1;
	if (inbox_sync(fw->out) == -1) {
		log_error("could not flush \"%s\": %m", fw->out->incoming);
		return -1;
	}
	CRASH_POINT("fwd.parts");
	if (rest && inbox_sync(fw->spool) == -1) {
		log_error("could not flush \"%s\": %m", fw->spool->incoming);
		return -1;
	}
	if (rest)
		CRASH_POINT("fwd.rest");
	for (size_t i = 0; i < fw->nplan; i++) {
		if (!done[i])
			continue;
		if (path_of(path, sizeof(path), fw->spool->incoming,
		        fw->plan[i].name) == -1 ||
		    (unlink(path) == -1 && errno != ENOENT)) {
			log_error("could not remove \"%s/%s\": %m",
			    fw->spool->name, fw->plan[i].name);
			return -1;
		}
		CRASH_POINT("fwd.unlinked");
		fw->files++;
		fw->messages += fw->plan[i].k;
		log_entry(fw, &fw->plan[i]);
	}
	if (fsio_sync_dir(fw->spool->incoming) == -1) {
		log_error("could not flush \"%s\": %m", fw->spool->incoming);
		return -1;
	}
	CRASH_POINT("fwd.done");
	fw->nplan = 0;
	return 0;
}

/* --- planning ------------------------------------------------------- */

/*
 * The next batch to consider: the rest of the last split first, then the
 * listing, which is renewed when it is used up, once per step at most.
 */
static const char *
next_name(struct fwd *fw, bool *listed)
{
	if (fw->rest[0] != '\0')
		return fw->rest;
	if (!inbox_watch_pending(&fw->watch) && !*listed) {
		*listed = true;
		if (inbox_watch_list(&fw->watch) == -1)
			return NULL;
	}
	return inbox_watch_next(&fw->watch);
}

/* Done with name: the rest of the last split is considered once. */
static void
consume(struct fwd *fw, const char *name)
{
	if (name == fw->rest)
		fw->rest[0] = '\0';
}

/* True when a file that fails to parse may still be being copied. */
static bool
settling(struct fwd *fw, const char *name)
{
	char path[4096];
	struct stat st;

	return path_of(path, sizeof(path), fw->spool->incoming, name) == 0 &&
	    stat(path, &st) == 0 &&
	    inbox_watch_settling(&fw->watch, st.st_mtime);
}

/*
 * How many messages batch name holds: > 0, 0 when it must be skipped for
 * now (gone, settling, or moved to corrupt/), -1 on failure.
 */
static long
count_messages(struct fwd *fw, const char *name, size_t *bytes)
{
	char why[512], *data;
	struct statemsg_batch *b;
	struct split_names sn;
	size_t nb;
	json_t *doc;
	long n = 0;

	if (read_batch(fw, name, &data, bytes) == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno != EFBIG) {
			log_error("could not read \"%s/%s\": %m",
			    fw->spool->name, name);
			return -1;
		}
		snprintf(
		    why, sizeof(why), "larger than %u bytes", INBOX_MAX_FILE);
		return inbox_reject(fw->spool, name, why) == 0 ? 0 : -1;
	}
	doc = sjson_parse(data, *bytes, why, sizeof(why));
	free(data);
	if (doc != NULL &&
	    statemsg_parse_file(doc, &b, &nb, why, sizeof(why)) == 0) {
		n = (long)split_count(doc);
		statemsg_free_all(b, nb);
	}
	json_decref(doc);
	if (n > 0 && split_names(name, &sn) == -1) {
		snprintf(why, sizeof(why), "its name cannot be split: %s",
		    strerror(errno));
		n = 0;
	} else if (n > 0) {
		return n;
	}
	if (settling(fw, name))
		return 0;
	return inbox_reject(fw->spool, name, why) == 0 ? 0 : -1;
}

/* True if name is in the plan already (a listing may show it again). */
static bool
planned(const struct fwd *fw, const char *name)
{
	for (size_t i = 0; i < fw->nplan; i++)
		if (strcmp(fw->plan[i].name, name) == 0)
			return true;
	return false;
}

/* Fill fw->plan with what may go now (left messages at most). */
static int
fwd_plan(struct fwd *fw, long long left)
{
	size_t bytes, total = 0;
	bool listed = false;
	const char *name;
	long n;

	fw->nplan = 0;
	while (left > 0 && fw->nplan < FWD_MAX_FILES && total < FWD_MAX_BYTES &&
	    (name = next_name(fw, &listed)) != NULL) {
		struct fwd_entry *e = &fw->plan[fw->nplan];

		if (planned(fw, name)) {
			consume(fw, name);
			continue;
		}
		if ((n = count_messages(fw, name, &bytes)) == -1)
			return -1;
		if (n > 0) {
			snprintf(e->name, sizeof(e->name), "%s", name);
			e->n = (size_t)n;
			e->k = (long long)n <= left ? (size_t)n : (size_t)left;
			left -= (long long)e->k;
			total += bytes;
			fw->nplan++;
		}
		consume(fw, name);
		if (n > 0 && e->k < e->n) {
			struct split_names sn;

			split_names(e->name, &sn);
			snprintf(fw->rest, sizeof(fw->rest), "%s", sn.rest);
		}
	}
	return 0;
}

/* --- the public face ------------------------------------------------ */

/* Log, once per interval, that the throttle holds batches back. */
static void
log_hold(struct fwd *fw, int64_t wait_ms)
{
	struct inbox_backlog bl;

	if (fw->held_logged_ms == fw->th.start_ms)
		return;
	if (inbox_backlog(fw->spool->path, &bl) == -1 || bl.files == 0)
		return;
	fw->held_logged_ms = fw->th.start_ms;
	log_info("throttle holds back %s (files: %ld, oldest: %.0f s): "
	         "%lld messages forwarded in this interval, the limit is "
	         "%lld per %lld s; the next interval begins in %.1f s",
	    fw->spool->name, bl.files, bl.oldest_age, fw->th.used, fw->limit,
	    (long long)(fw->interval_ms / 1000), (double)wait_ms / 1000);
}

/*
 * Redo a step that a crash or a failure interrupted, with the same plan;
 * account it anew if its interval is over, so that it counts against the
 * interval in which it really goes.
 */
static int
fwd_redo(struct fwd *fw)
{
	int64_t now = clock_now_us() / 1000;
	long long sum = 0;

	for (size_t i = 0; i < fw->nplan; i++)
		sum += (long long)fw->plan[i].k;
	log_info("redoing the interrupted forwarding step of %zu batches",
	    fw->nplan);
	if (throttle_left(&fw->th, now, fw->limit, fw->interval_ms) ==
	    fw->limit) {
		throttle_take(&fw->th, now, sum, fw->interval_ms);
		if (fwd_state_save(fw) == -1)
			return -1;
	}
	return fwd_apply(fw);
}

long
fwd_step(struct fwd *fw, int *wait_ms)
{
	int64_t now = clock_now_us() / 1000;
	long long left =
	    throttle_left(&fw->th, now, fw->limit, fw->interval_ms);
	long long sum = 0;

	*wait_ms = fw->rescan_ms;
	fw->throttled = false;
	if (fw->nplan > 0) {
		/* a step that failed: the same plan, never a new one */
		for (size_t i = 0; i < fw->nplan; i++)
			sum += (long long)fw->plan[i].k;
		if (fwd_redo(fw) == 0)
			return (long)sum;
		*wait_ms = 5000;
		return -1;
	}
	if (left == 0) {
		int64_t w =
		    throttle_wait_ms(&fw->th, now, fw->limit, fw->interval_ms);

		log_hold(fw, w);
		fw->throttled = true;
		*wait_ms = w < fw->rescan_ms ? (int)w : fw->rescan_ms;
		return 0;
	}
	if (fwd_plan(fw, left) == -1)
		return -1;
	if (fw->nplan == 0)
		return 0;
	for (size_t i = 0; i < fw->nplan; i++)
		sum += (long long)fw->plan[i].k;
	throttle_take(&fw->th, now, sum, fw->interval_ms);
	if (fwd_state_save(fw) == -1 || fwd_apply(fw) == -1) {
		/* the plan stays; fwd_open redoes it after a restart */
		*wait_ms = 5000;
		return -1;
	}
	return (long)sum;
}

void
fwd_configure(struct fwd *fw, const struct conf *cf)
{
	fw->limit = conf_int(cf, "fsp", "throttle_messages");
	fw->interval_ms = conf_int(cf, "fsp", "throttle_seconds") * 1000;
	fw->rescan_ms = (int)conf_int(cf, "inbox", "rescan_seconds") * 1000;
	fw->watch.settle_seconds = (int)conf_int(cf, "inbox", "settle_seconds");
}

/* Keep the entries of the loaded plan whose batch is still spooled. */
static void
pending_only(struct fwd *fw)
{
	char path[4096];
	size_t n = 0;

	for (size_t i = 0; i < fw->nplan; i++)
		if (path_of(path, sizeof(path), fw->spool->incoming,
		        fw->plan[i].name) == 0 &&
		    access(path, F_OK) == 0)
			fw->plan[n++] = fw->plan[i];
	fw->nplan = n;
}

int
fwd_open(struct fwd *fw, struct inbox *spool, struct inbox *out,
    const struct conf *cf)
{
	memset(fw, 0, sizeof(*fw));
	fw->spool = spool;
	fw->out = out;
	inbox_watch_init(&fw->watch, spool, 0);
	fwd_configure(fw, cf);
	if (path_of(fw->state_path, sizeof(fw->state_path), spool->path,
	        FSP_STATE) == -1 ||
	    path_of(fw->state_tmp, sizeof(fw->state_tmp), spool->tmp,
	        FSP_STATE) == -1) {
		log_error("the path of \"%s\" is too long", spool->path);
		return -1;
	}
	if (fwd_state_load(fw) == -1)
		return -1;
	pending_only(fw);
	/* if it fails now, fwd_step tries again */
	if (fw->nplan > 0)
		fwd_redo(fw);
	return 0;
}

void
fwd_wait(struct fwd *fw, int ms)
{
	/* held back by the throttle: new batches need not wake us */
	if (fw->throttled) {
		signals_sleep(ms);
		inbox_watch_forget(&fw->watch);
		return;
	}
	/* whatever wakes us, incoming/ is listed afresh */
	inbox_watch_wait(&fw->watch, ms);
}

void
fwd_close(struct fwd *fw)
{
	inbox_watch_free(&fw->watch);
}
