/*
 * plan.c - step 1 of forwarding (see forward.c): the oldest batch files of
 * fsp.box/incoming while the throttle has room, the last one possibly
 * split between its batches, each read and parsed once
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fsp.h"
#include "split.h"
#include "util/log.h"

/*
 * The next batch file to consider: the rest of the last split or the file
 * that waited for room first, then the listing, which is renewed when it
 * is used up, once per step at most.
 */
static const char *
next_name(struct fwd *fw, bool *listed)
{
	if (fw->first[0] != '\0')
		return fw->first;
	if (!inbox_watch_pending(&fw->watch) && !*listed) {
		*listed = true;
		if (inbox_watch_list(&fw->watch) == -1)
			return NULL;
	}
	return inbox_watch_next(&fw->watch);
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

/*
 * A batch that could not be read, for why: 0 when it is gone, refused or
 * skipped (so that what sorts after it goes on), -1 to try again later.
 */
static long
read_failed(struct fwd *fw, const char *name, const char *why)
{
	if (errno == ENOENT)
		return 0;
	if (inbox_transient(errno)) {
		log_error(
		    "could not read \"%s/%s\": %s", fw->spool->name, name, why);
		return -1;
	}
	inbox_watch_refuse(&fw->watch, name, why);
	return 0;
}

/*
 * Parse and check the text read into e, keeping the document in e->doc:
 * its messages, or 0 with why.
 */
static long
parse_batch(struct fwd_entry *e, char *why, size_t len)
{
	struct split_names sn;

	if (fwd_entry_parse(e, why, len) == -1)
		return 0;
	if (split_names(e->name, &sn) == -1) {
		snprintf(
		    why, len, "its name cannot be split: %s", strerror(errno));
		return 0;
	}
	return (long)split_count(e->doc);
}

/*
 * Read and check batch e->name: its messages, with e->data and e->doc
 * held; 0 when it must be skipped for now (gone, settling, moved to
 * corrupt/, or skipped as it could not be moved); -1 on failure (logged).
 */
static long
load_batch(struct fwd *fw, struct fwd_entry *e)
{
	char why[512];
	time_t mtime;
	long n;

	if (fwd_entry_read(fw, e, &mtime, why, sizeof(why)) == -1)
		return read_failed(fw, e->name, why);
	if ((n = parse_batch(e, why, sizeof(why))) > 0)
		return n;
	fwd_entry_release(e);
	if (inbox_watch_settling(&fw->watch, mtime))
		return 0;
	inbox_watch_refuse(&fw->watch, e->name, why);
	return 0;
}

/*
 * Add the batch file loaded into e, n messages, to the plan: as many of its
 * leading batches as left allows, the first alone when the interval is
 * otherwise empty. A file that is forwarded whole and marked goes as its
 * text; the others keep their document. What stays behind goes first in
 * the next step; then, or when left is used up, false: the plan is full.
 */
static bool
take_batch(struct fwd *fw, struct fwd_entry *e, long n, long long *left)
{
	struct split_names sn;
	size_t k;

	if (split_take(e->doc, (size_t)*left, *left == fw->limit, &k) == 0) {
		snprintf(fw->first, sizeof(fw->first), "%s", e->name);
		fw->waiting = (long long)k;
		fwd_entry_release(e);
		return false;
	}
	e->n = (size_t)n;
	e->k = k;
	*left -= (long long)k;
	fw->nplan++;
	if (e->k == e->n) {
		if (split_marked(e->doc)) {
			json_decref(e->doc); /* forwarded as it was read */
			e->doc = NULL;
		}
		return *left > 0;
	}
	if (split_names(e->name, &sn) == 0) /* checked when parsed */
		snprintf(fw->first, sizeof(fw->first), "%s", sn.rest);
	return false;
}

/* Drop a plan that could not be made whole: nothing of it was written. */
static int
plan_drop(struct fwd *fw)
{
	for (size_t i = 0; i < fw->nplan; i++)
		fwd_entry_release(&fw->plan[i]);
	fw->nplan = 0;
	return -1;
}

int
fwd_plan(struct fwd *fw, long long left)
{
	size_t total = 0;
	bool listed = false, room = left > 0;
	const char *name;
	long n;

	fw->nplan = 0;
	fw->waiting = 0;
	while (room && fw->nplan < FWD_MAX_FILES && total < FWD_MAX_BYTES &&
	    (name = next_name(fw, &listed)) != NULL) {
		struct fwd_entry *e = &fw->plan[fw->nplan];

		snprintf(e->name, sizeof(e->name), "%s", name);
		if (name == fw->first)
			fw->first[0] = '\0'; /* considered once */
		if (planned(fw, e->name))
			continue;
		if ((n = load_batch(fw, e)) == -1)
			return plan_drop(fw);
		if (n > 0) {
			total += e->len;
			room = take_batch(fw, e, n, &left);
		}
	}
	return 0;
}
