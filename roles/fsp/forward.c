/*
 * forward.c - the spool fsp.box forwarded into statsys.box, no faster than
 * the throttle, exactly once across crashes
 *
 * A step:
 *   1. plans: takes the batch files of fsp.box/incoming while the
 *      throttle has room, the sources (client addresses, source.h) in
 *      turn, each its oldest first, a file possibly split between its
 *      batches (those that fit go, the others stay), never inside one: a
 *      batch goes as its client signed it. A batch that does not fit
 *      waits for the next interval, whose first turn is its source's, and
 *      one larger than a whole interval goes alone in an interval of its
 *      own, so nothing waits for ever (plan.c);
 *   2. writes forward.state (the throttle, how far it got into the files
 *      it forwarded in part, and the plan) by temp, fsync, rename, fsync:
 *      from here on a restart redoes the same plan;
 *   3. writes each batch (or its next part) into statsys.box by the inbox
 *      protocol under a name derived from its own (split.h), flushes
 *      statsys.box/incoming;
 *   4. unlinks the files forwarded to their end, flushes
 *      fsp.box/incoming, and remembers how far it got into the others,
 *      which stay as they are: a file is never written again.
 *
 * Redoing a step writes the same names with the same contents, because
 * the plan fixes from which batch how many messages of which file go (and
 * so after which batch it is cut), and a batch file is never changed; a
 * planned batch that is gone was fully handled. The statesys ledger drops
 * a name it has seen, so a repeat is harmless.
 *
 * What goes into statsys.box is a set marked "via": "fsp", so that
 * statesys checks its batches' signatures (sitesys-statemsg(5)): the
 * intake's sets are marked, and a file that is not (put into fsp.box by
 * other means) is marked as it goes.
 *
 * Step 1 is plan.c, steps 3 and 4 apply.c, step 2 state.c; a step reads
 * and parses each batch file once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsp.h"
#include "split.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"

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

/* The messages the plan forwards. */
static long long
plan_sum(const struct fwd *fw)
{
	long long sum = 0;

	for (size_t i = 0; i < fw->nplan; i++)
		sum += (long long)fw->plan[i].k;
	return sum;
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

	log_info("redoing the interrupted forwarding step of %zu batches",
	    fw->nplan);
	if (throttle_left(&fw->th, now, fw->limit, fw->interval_ms) ==
	    fw->limit) {
		throttle_take(&fw->th, now, plan_sum(fw), fw->interval_ms);
		if (fwd_state_save(fw) == -1)
			return -1;
	}
	return fwd_apply(fw);
}

/* Nothing goes until n messages may: wait for that, or the rescan. */
static long
fwd_hold(struct fwd *fw, int64_t now, long long n, int *wait_ms)
{
	int64_t w =
	    throttle_wait_ms(&fw->th, now, n, fw->limit, fw->interval_ms);

	log_hold(fw, w);
	fw->throttled = true;
	*wait_ms = w < fw->rescan_ms ? (int)w : fw->rescan_ms;
	return 0;
}

long
fwd_step(struct fwd *fw, int *wait_ms)
{
	int64_t now = clock_now_us() / 1000;
	long long left =
	    throttle_left(&fw->th, now, fw->limit, fw->interval_ms);
	long long sum;

	*wait_ms = fw->rescan_ms;
	fw->throttled = false;
	if (fw->nplan > 0) {
		/* a step that failed: the same plan, never a new one */
		sum = plan_sum(fw);
		if (fwd_redo(fw) == 0)
			return (long)sum;
		*wait_ms = 5000;
		return -1;
	}
	if (left == 0)
		return fwd_hold(fw, now, 1, wait_ms);
	if (fwd_plan(fw, left) == -1)
		return -1;
	if (fw->nplan == 0)
		return fw->waiting > 0 ? fwd_hold(fw, now, fw->waiting, wait_ms)
		                       : 0;
	sum = plan_sum(fw);
	throttle_take(&fw->th, now, sum, fw->interval_ms);
	if (fw->quota != NULL)
		quota_interval(fw->quota, fw->th.start_ms + fw->interval_ms);
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

/* 1 if the spool holds name, 0 if not, -1 (logged) if unknown. */
static int
spooled(const struct fwd *fw, const char *name)
{
	char path[PATH_MAX];

	if (fsio_join(path, sizeof(path), fw->spool->incoming, name) == -1) {
		log_error(
		    "could not check \"%s/%s\": %m", fw->spool->name, name);
		return -1;
	}
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/*
 * Drop the entries of the loaded plan whose batch is gone (done), and the
 * progress of files gone; 0 or -1 (logged).
 */
static int
pending_only(struct fwd *fw)
{
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < fw->nplan; i++) {
		if ((rc = spooled(fw, fw->plan[i].name)) == -1)
			return -1;
		if (rc == 1)
			fw->plan[n++] = fw->plan[i];
	}
	fw->nplan = n;
	for (size_t i = 0; i < fw->nprog;) {
		if ((rc = spooled(fw, fw->prog[i].name)) == -1)
			return -1;
		if (rc == 0)
			fwd_progress_set(fw, fw->prog[i].name, 0, 0);
		else
			i++;
	}
	return 0;
}

/*
 * Count into q the messages each source has waiting: each file of the
 * spool with a source in its name, read and parsed, from where earlier
 * steps got; 0 or -1 (logged). A file that cannot be read or parsed is
 * left for the forwarder to deal with.
 */
static int
count_sources(struct fwd *fw, struct source_quota *q)
{
	char key[SOURCE_KEY_MAX + 1], why[512];
	struct fwd_entry e;
	struct fwd_progress *pg;
	const char *name;
	time_t mtime;
	long files = 0;

	inbox_watch_forget(&fw->watch);
	if (inbox_watch_list(&fw->watch) == -1)
		return -1;
	while ((name = inbox_watch_next(&fw->watch)) != NULL) {
		source_of(name, key, sizeof(key));
		if (key[0] == '\0')
			continue;
		memset(&e, 0, sizeof(e));
		snprintf(e.name, sizeof(e.name), "%s", name);
		if (fwd_entry_read(fw, &e, &mtime, why, sizeof(why)) == 0 &&
		    fwd_entry_parse(&e, why, sizeof(why)) == 0) {
			pg = fwd_progress_of(fw, name);
			quota_add(q, key,
			    (long long)split_count_from(
			        e.doc, pg != NULL ? pg->batches : 0));
			files++;
		}
		fwd_entry_release(&e);
	}
	inbox_watch_forget(&fw->watch);
	if (files > 0)
		log_info("counted the messages waiting in %ld files of %s",
		    files, fw->spool->name);
	return 0;
}

int
fwd_open(struct fwd *fw, struct inbox *spool, struct inbox *out,
    struct source_quota *quota, const struct conf *cf)
{
	memset(fw, 0, sizeof(*fw));
	fw->spool = spool;
	fw->out = out;
	inbox_watch_init(&fw->watch, spool, 0);
	fwd_configure(fw, cf);
	if (fsio_join(fw->state_path, sizeof(fw->state_path), spool->path,
	        FSP_STATE) == -1 ||
	    fsio_join(fw->state_tmp, sizeof(fw->state_tmp), spool->tmp,
	        FSP_STATE) == -1) {
		log_error("could not name \"%s\" in \"%s\": %m", FSP_STATE,
		    spool->path);
		return -1;
	}
	if (fwd_state_load(fw) == -1 || pending_only(fw) == -1)
		return -1;
	/* if it fails now, fwd_step tries again */
	if (fw->nplan > 0)
		fwd_redo(fw);
	if (quota != NULL) {
		if (count_sources(fw, quota) == -1)
			return -1;
		quota_interval(quota, fw->th.start_ms + fw->interval_ms);
		fw->quota = quota;
	}
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
	for (size_t i = 0; i < fw->nplan; i++)
		fwd_entry_release(&fw->plan[i]);
	free(fw->prog);
	fw->prog = NULL;
	fw->nprog = fw->capprog = 0;
	inbox_watch_free(&fw->watch);
}
