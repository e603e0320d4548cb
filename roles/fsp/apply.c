/*
 * apply.c - steps 3 to 5 of forwarding (see forward.c): the plan saved in
 * forward.state carried out, with the text and document the plan read, or
 * after a restart with each batch file read and parsed once again
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsp.h"
#include "split.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"

/* Put data into ib under a name that a crashed step may have used. */
static int
put_again(struct inbox *ib, const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX];

	if (fsio_join(tmp, sizeof(tmp), ib->tmp, name) == -1)
		return -1;
	unlink(tmp);
	return inbox_put(ib, name, data, len);
}

/* The compact text of batches [from, to) of doc; NULL with why. */
static char *
slice_text(const json_t *doc, size_t from, size_t to, char *why, size_t len)
{
	json_t *part = split_doc(doc, from, to);
	char *text = NULL;

	if (part == NULL)
		snprintf(why, len, "has no batches %zu to %zu", from, to);
	else if ((text = json_dumps(part, JSON_COMPACT)) == NULL)
		snprintf(why, len, "out of memory");
	json_decref(part);
	return text;
}

/* Write the batch file of e as it is into statsys.box; 0 or -1 (logged). */
static int
put_whole(struct fwd *fw, const struct fwd_entry *e, const char *name)
{
	if (put_again(fw->out, name, e->data, e->len) == -1) {
		log_error("could not write \"%s/%s\": %m", fw->out->name, name);
		return -1;
	}
	CRASH_POINT("fwd.part");
	return 0;
}

/*
 * Write the leading batches of e that hold its first k messages into
 * statsys.box, as a set marked as the FSP's, and the other batches, if
 * any, back into fsp.box; *rest_written says if there were; 0 or -1
 * (logged).
 */
static int
put_parts(struct fwd *fw, const struct fwd_entry *e,
    const struct split_names *sn, int *rest_written)
{
	char why[512] = "", *part = NULL, *rest = NULL;
	size_t k, nb = split_batches(e->doc);
	/* k falls between batches: the plan cut there */
	size_t cut = split_take(e->doc, e->k, true, &k);
	const char *name = cut == nb ? sn->whole : sn->part;
	int rc = -1;

	if ((part = slice_text(e->doc, 0, cut, why, sizeof(why))) == NULL ||
	    (cut < nb &&
	        (rest = slice_text(e->doc, cut, nb, why, sizeof(why))) ==
	            NULL)) {
		log_error("cannot split \"%s/%s\": %s", fw->spool->name,
		    e->name, why);
		goto out;
	}
	if (put_again(fw->out, name, part, strlen(part)) == -1) {
		log_error("could not write \"%s/%s\": %m", fw->out->name, name);
		goto out;
	}
	CRASH_POINT("fwd.part");
	if (rest != NULL &&
	    put_again(fw->spool, sn->rest, rest, strlen(rest)) == -1) {
		log_error(
		    "could not write \"%s/%s\": %m", fw->spool->name, sn->rest);
		goto out;
	}
	*rest_written |= rest != NULL;
	rc = 0;
out:
	free(part);
	free(rest);
	return rc;
}

/*
 * Write entry e's part into statsys.box and, for a split, its rest into
 * fsp.box (not yet flushed); 1 done, 0 the batch file is gone (done
 * before), -1 failure (logged). A file read again (after a restart) is
 * parsed again: it goes as it is only if whole and marked.
 */
static int
forward_entry(struct fwd *fw, struct fwd_entry *e, int *rest_written)
{
	struct split_names sn;
	char why[512];
	time_t mtime;

	if (e->data == NULL) {
		if (fwd_entry_read(fw, e, &mtime, why, sizeof(why)) == -1) {
			if (errno == ENOENT)
				return 0;
			log_error("could not read \"%s/%s\": %s",
			    fw->spool->name, e->name, why);
			return -1;
		}
		if (fwd_entry_parse(e, why, sizeof(why)) == -1) {
			log_error("cannot forward \"%s/%s\": %s",
			    fw->spool->name, e->name, why);
			return -1;
		}
	}
	if (split_names(e->name, &sn) == -1) {
		log_error(
		    "cannot forward \"%s/%s\": %m", fw->spool->name, e->name);
		return -1;
	}
	if (e->k == e->n && (e->doc == NULL || split_marked(e->doc)))
		return put_whole(fw, e, sn.whole) == 0 ? 1 : -1;
	return put_parts(fw, e, &sn, rest_written) == 0 ? 1 : -1;
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

/* Flush what steps 3 and 4 wrote; 0 or -1 (logged). */
static int
flush_parts(struct fwd *fw, int rest)
{
	if (inbox_sync(fw->out) == -1) {
		log_error("could not flush \"%s\": %m", fw->out->incoming);
		return -1;
	}
	CRASH_POINT("fwd.parts");
	if (!rest)
		return 0;
	if (inbox_sync(fw->spool) == -1) {
		log_error("could not flush \"%s\": %m", fw->spool->incoming);
		return -1;
	}
	CRASH_POINT("fwd.rest");
	return 0;
}

/* Step 5 for one forwarded batch: unlink it; 0 or -1 (logged). */
static int
unlink_entry(struct fwd *fw, const struct fwd_entry *e)
{
	char path[PATH_MAX];

	if (fsio_join(path, sizeof(path), fw->spool->incoming, e->name) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT)) {
		log_error(
		    "could not remove \"%s/%s\": %m", fw->spool->name, e->name);
		return -1;
	}
	CRASH_POINT("fwd.unlinked");
	fw->files++;
	fw->messages += e->k;
	log_entry(fw, e);
	return 0;
}

/* Steps 3 to 5 of a step (see forward.c); 0 or -1 (logged). */
static int
apply_plan(struct fwd *fw)
{
	int done[FWD_MAX_FILES], rest = 0;

	for (size_t i = 0; i < fw->nplan; i++)
		if ((done[i] = forward_entry(fw, &fw->plan[i], &rest)) == -1)
			return -1;
	if (flush_parts(fw, rest) == -1)
		return -1;
	for (size_t i = 0; i < fw->nplan; i++)
		if (done[i] && unlink_entry(fw, &fw->plan[i]) == -1)
			return -1;
	if (fsio_sync_dir(fw->spool->incoming) == -1) {
		log_error("could not flush \"%s\": %m", fw->spool->incoming);
		return -1;
	}
	CRASH_POINT("fwd.done");
	return 0;
}

int
fwd_apply(struct fwd *fw)
{
	int rc = apply_plan(fw);

	/* a redo reads again what is left: a batch gone is done */
	for (size_t i = 0; i < fw->nplan; i++)
		fwd_entry_release(&fw->plan[i]);
	if (rc == 0)
		fw->nplan = 0;
	return rc;
}
