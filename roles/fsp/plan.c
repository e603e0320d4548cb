/*
 * plan.c - step 1 of forwarding (see forward.c): the batches of
 * fsp.box/incoming, the sources taken in turn while the throttle has room,
 * each source its oldest batches first, each file read and parsed once
 *
 * The files of fsp.box/incoming are grouped by source (source.h) and the
 * sources ordered by key. A turn gives a source an equal share of what is
 * left, ceil(left / sources with batches), or its next batch alone if that
 * is larger but fits; rounds of turns go on while there is room. Turns
 * begin where the last step's ended, so that no source is first for ever.
 * A source whose next batch does not fit what is left waits, the step
 * ends, and that source has the first turn of the next one: a batch is
 * never cut and never waits behind more than one interval of others'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsp.h"
#include "split.h"
#include "util/log.h"

/* A spool file and its source, as listed. */
struct listed {
	char key[SOURCE_KEY_MAX + 1];
	const char *name; /* the watch's listing's */
};

/* A source of this step: its files, oldest first, and the next to take. */
struct source {
	const struct listed *files;
	size_t n, next;
};

/* What a step plans with. */
struct planner {
	struct fwd *fw;
	struct listed *listed;
	struct source *src;
	size_t nsrc;
	long long left; /* messages the plan may still take */
	size_t bytes; /* read so far */
	bool empty; /* the interval was empty: a large batch may go alone */
};

enum { TURN_WAIT = -2, TURN_FAIL = -1 };

static int
listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/* List fsp.box/incoming and group it by source; 0, or -1 (logged). */
static int
list_sources(struct planner *p)
{
	struct inbox_watch *w = &p->fw->watch;
	const char *name;
	size_t n = 0;

	inbox_watch_forget(w);
	if (inbox_watch_list(w) == -1)
		return -1;
	if ((p->listed = calloc(w->n + 1, sizeof(*p->listed))) == NULL ||
	    (p->src = calloc(w->n + 1, sizeof(*p->src))) == NULL) {
		log_error("out of memory listing \"%s\"", p->fw->spool->name);
		return -1;
	}
	while ((name = inbox_watch_next(w)) != NULL) {
		p->listed[n].name = name;
		source_of(name, p->listed[n].key, sizeof(p->listed[n].key));
		n++;
	}
	qsort(p->listed, n, sizeof(*p->listed), listed_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(p->listed[i].key, p->listed[i - 1].key))
			p->src[p->nsrc++].files = &p->listed[i];
		p->src[p->nsrc - 1].n++;
	}
	return 0;
}

/* The source whose turn comes first: the cursor's, or the one after. */
static size_t
first_source(const struct planner *p)
{
	const struct fwd *fw = p->fw;

	for (size_t i = 0; i < p->nsrc; i++) {
		int c = strcmp(p->src[i].files[0].key, fw->cursor);

		if (c > 0 || (c == 0 && !fw->cursor_next))
			return i;
	}
	return 0;
}

/* The plan's entry for name, or NULL. */
static struct fwd_entry *
planned(struct fwd *fw, const char *name)
{
	for (size_t i = 0; i < fw->nplan; i++)
		if (strcmp(fw->plan[i].name, name) == 0)
			return &fw->plan[i];
	return NULL;
}

/*
 * A batch that could not be read, for why: 0 when it is gone, refused or
 * skipped (so that what sorts after it goes on), -1 to try again later.
 */
static int
read_failed(struct fwd *fw, const char *name, const char *why)
{
	if (errno == ENOENT)
		return 0;
	if (inbox_transient(errno)) {
		log_error(
		    "could not read \"%s/%s\": %s", fw->spool->name, name, why);
		return -1;
	}
	if (inbox_watch_refuse(&fw->watch, name, why) == 0)
		fwd_progress_set(fw, name, 0, 0);
	return 0;
}

/*
 * Parse and check the text read into e, keeping the document: 0, or -1
 * with why.
 */
static int
parse_batch(struct fwd_entry *e, char *why, size_t len)
{
	struct split_names sn;

	if (fwd_entry_parse(e, why, len) == -1)
		return -1;
	if (split_names_at(e->name, e->parts, &sn) == -1) {
		snprintf(
		    why, len, "its name cannot be split: %s", strerror(errno));
		return -1;
	}
	if (e->from >= split_batches(e->doc)) {
		snprintf(why, len, "has %zu batches, and %zu went already",
		    split_batches(e->doc), e->from);
		return -1;
	}
	return 0;
}

/*
 * Read and check batch file name into a new entry of the plan, from where
 * earlier steps got: the entry, with its text and document held; NULL
 * when it must be skipped for now (gone, settling, moved to corrupt/, or
 * skipped as it could not be moved) with *rc 0, or on failure (logged)
 * with *rc -1.
 */
static struct fwd_entry *
load_batch(struct planner *p, const char *name, int *rc)
{
	struct fwd *fw = p->fw;
	struct fwd_entry *e = &fw->plan[fw->nplan];
	struct fwd_progress *pg = fwd_progress_of(fw, name);
	char why[512];
	time_t mtime;

	*rc = 0;
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->from = pg ? pg->batches : 0;
	e->parts = pg ? pg->parts : 0;
	if (fwd_entry_read(fw, e, &mtime, why, sizeof(why)) == -1) {
		*rc = read_failed(fw, name, why);
		return NULL;
	}
	p->bytes += e->len;
	if (parse_batch(e, why, sizeof(why)) == 0) {
		e->n = split_count_from(e->doc, e->from);
		fw->nplan++;
		return e;
	}
	fwd_entry_release(e);
	if (inbox_watch_settling(&fw->watch, mtime))
		return NULL;
	/* refused, or skipped if it cannot be moved: the others go on */
	if (inbox_watch_refuse(&fw->watch, name, why) == 0)
		fwd_progress_set(fw, name, 0, 0);
	return NULL;
}

/*
 * Take from e, as part of a turn that may take up to share messages more
 * and took *took already: the batches that fit, or the next alone if it
 * is larger than the share but fits what is left, or larger than a whole
 * interval that is otherwise empty; the messages taken (0: the turn is
 * over) or TURN_WAIT with the batch's messages in fw->waiting.
 */
static long long
take_from(
    struct planner *p, struct fwd_entry *e, long long share, long long took)
{
	size_t at = e->from + (e->k > 0 ? fwd_entry_cut(e) : 0), k;
	long long room = share - took < p->left ? share - took : p->left;

	if (split_take_from(e->doc, at, (size_t)room, false, &k) == 0) {
		if (took > 0)
			return 0;
		/* alone only into an interval that nothing else used */
		if ((long long)k > p->left &&
		    !(p->empty && p->left == p->fw->limit)) {
			p->fw->waiting = (long long)k;
			return TURN_WAIT;
		}
	}
	e->k += k;
	p->left = (long long)k > p->left ? 0 : p->left - (long long)k;
	return (long long)k;
}

/*
 * A source's turn: its oldest batches, share messages at most; the
 * messages taken, TURN_WAIT when its next batch must wait for room, or
 * TURN_FAIL (logged).
 */
static long long
turn(struct planner *p, struct source *s, long long share)
{
	struct fwd *fw = p->fw;
	long long took = 0, k;
	int rc;

	while (s->next < s->n && took < share && p->left > 0) {
		const char *name = s->files[s->next].name;
		struct fwd_entry *e = planned(fw, name);

		if (e == NULL) {
			if (fw->nplan == FWD_MAX_FILES ||
			    p->bytes >= FWD_MAX_BYTES)
				break;
			if ((e = load_batch(p, name, &rc)) == NULL) {
				if (rc == -1)
					return TURN_FAIL;
				s->next++;
				continue;
			}
		}
		if ((k = take_from(p, e, share, took)) == TURN_WAIT)
			return TURN_WAIT; /* took nothing in this turn */
		if (k == 0)
			break;
		took += k;
		if (e->k == e->n)
			s->next++;
	}
	return took;
}

/* True if a source has a batch not yet planned. */
static size_t
active_sources(const struct planner *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsrc; i++)
		n += p->src[i].next < p->src[i].n;
	return n;
}

/* Put the cursor at source s: its turn next, or the one after it. */
static void
cursor_at(struct fwd *fw, const struct source *s, bool next)
{
	snprintf(fw->cursor, sizeof(fw->cursor), "%s", s->files[0].key);
	fw->cursor_next = next;
}

/*
 * Rounds of turns while there is room; 0, or -1 (logged). Planned
 * entries without a message taken (a source's next file, read but not
 * reached) are dropped at the end.
 */
static int
rounds(struct planner *p)
{
	size_t active, start = first_source(p);
	long long share, k;
	bool moved = true;

	while (moved && p->left > 0 && (active = active_sources(p)) > 0) {
		share = (p->left + (long long)active - 1) / (long long)active;
		moved = false;
		for (size_t j = 0; j < p->nsrc && p->left > 0; j++) {
			struct source *s = &p->src[(start + j) % p->nsrc];

			if (s->next == s->n)
				continue;
			if ((k = turn(p, s, share)) == TURN_FAIL)
				return -1;
			if (k == TURN_WAIT) {
				cursor_at(p->fw, s, false);
				return 0;
			}
			moved |= k > 0;
			if (k > 0)
				cursor_at(p->fw, s, true);
		}
	}
	return 0;
}

/* Drop the entries that take nothing; drop the text of whole marked ones. */
static void
plan_finish(struct fwd *fw)
{
	size_t n = 0;

	for (size_t i = 0; i < fw->nplan; i++) {
		struct fwd_entry *e = &fw->plan[i];

		if (e->k == 0) {
			fwd_entry_release(e);
			continue;
		}
		if (e->from == 0 && e->k == e->n && split_marked(e->doc)) {
			json_decref(e->doc); /* forwarded as it was read */
			e->doc = NULL;
		}
		if (n != i)
			fw->plan[n] = *e;
		n++;
	}
	fw->nplan = n;
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
	struct planner p = {
		.fw = fw, .left = left, .empty = left == fw->limit
	};
	int rc = 0;

	fw->nplan = 0;
	fw->waiting = 0;
	if (left <= 0)
		return 0;
	if (list_sources(&p) == -1 || rounds(&p) == -1)
		rc = plan_drop(fw);
	else
		plan_finish(fw);
	/* the names point into the listing: it is not used again */
	inbox_watch_forget(&fw->watch);
	free(p.listed);
	free(p.src);
	return rc;
}
