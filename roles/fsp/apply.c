/*
 * apply.c - steps 3 and 4 of forwarding (see forward.c): the plan saved in
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
 * Write the batches of e from e->from on that hold its k messages into
 * statsys.box, as a set marked as the FSP's; the file itself stays as it
 * is; 0 or -1 (logged).
 */
static int
put_part(
    struct fwd *fw, const struct fwd_entry *e, const struct split_names *sn)
{
	char why[512] = "", *part = NULL;
	/* k falls between batches: the plan cut there */
	size_t cut = fwd_entry_cut(e);
	const char *name = e->k == e->n ? sn->whole : sn->part;
	int rc = -1;

	if (cut == 0) {
		log_error(
		    "cannot split \"%s/%s\": no batches from batch %zu on "
		    "hold %zu messages",
		    fw->spool->name, e->name, e->from, e->k);
		return -1;
	}
	if ((part = slice_text(
	         e->doc, e->from, e->from + cut, why, sizeof(why))) == NULL) {
		log_error("cannot split \"%s/%s\": %s", fw->spool->name,
		    e->name, why);
		return -1;
	}
	if (put_again(fw->out, name, part, strlen(part)) == -1)
		log_error("could not write \"%s/%s\": %m", fw->out->name, name);
	else
		rc = 0;
	free(part);
	if (rc == 0)
		CRASH_POINT("fwd.part");
	return rc;
}

/*
 * Write entry e's part into statsys.box (not yet flushed); 1 done, 0 the
 * batch file is gone (done before), -1 failure (logged). A file read
 * again (after a restart) is parsed again: it goes as it is only if whole
 * and marked.
 */
static int
forward_entry(struct fwd *fw, struct fwd_entry *e)
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
	if (split_names_at(e->name, e->parts, &sn) == -1) {
		log_error(
		    "cannot forward \"%s/%s\": %m", fw->spool->name, e->name);
		return -1;
	}
	if (e->from == 0 && e->k == e->n &&
	    (e->doc == NULL || split_marked(e->doc)))
		return put_whole(fw, e, sn.whole) == 0 ? 1 : -1;
	return put_part(fw, e, &sn) == 0 ? 1 : -1;
}

/* Log one line for a batch forwarded by the plan. */
static void
log_entry(const struct fwd *fw, const struct fwd_entry *e)
{
	struct split_names sn;

	if (split_names_at(e->name, e->parts, &sn) == -1)
		return;
	if (e->k < e->n)
		log_info("forwarded %s into %s as %s (messages: %zu of %zu; "
		         "%zu wait in %s)",
		    e->name, fw->out->name, sn.part, e->k, e->n, e->n - e->k,
		    fw->spool->name);
	else if (e->from > 0)
		log_info("forwarded %s into %s as %s (messages: %zu, the last "
		         "of the file)",
		    e->name, fw->out->name, sn.whole, e->k);
	else
		log_info("forwarded %s into %s as %s (messages: %zu)", e->name,
		    fw->out->name, sn.whole, e->n);
}

/* Flush what step 3 wrote; 0 or -1 (logged). */
static int
flush_parts(struct fwd *fw)
{
	if (inbox_sync(fw->out) == -1) {
		log_error("could not flush \"%s\": %m", fw->out->incoming);
		return -1;
	}
	CRASH_POINT("fwd.parts");
	return 0;
}

/*
 * Step 4 for one forwarded batch file: unlink it if all of it went, else
 * remember how far it went; 0 or -1 (logged).
 */
static int
finish_entry(struct fwd *fw, const struct fwd_entry *e)
{
	char path[PATH_MAX], key[SOURCE_KEY_MAX + 1];

	if (e->k < e->n) {
		if (fwd_progress_set(fw, e->name, e->from + fwd_entry_cut(e),
		        e->parts + 1) == -1)
			return -1;
	} else {
		if (fsio_join(path, sizeof(path), fw->spool->incoming,
		        e->name) == -1 ||
		    (unlink(path) == -1 && errno != ENOENT)) {
			log_error("could not remove \"%s/%s\": %m",
			    fw->spool->name, e->name);
			return -1;
		}
		CRASH_POINT("fwd.unlinked");
		fwd_progress_set(fw, e->name, 0, 0);
		fw->files++;
	}
	fw->messages += e->k;
	if (fw->quota != NULL) {
		source_of(e->name, key, sizeof(key));
		quota_release(fw->quota, key, (long long)e->k);
	}
	log_entry(fw, e);
	return 0;
}

/* Steps 3 and 4 of a step (see forward.c); 0 or -1 (logged). */
static int
apply_plan(struct fwd *fw)
{
	int done[FWD_MAX_FILES];

	for (size_t i = 0; i < fw->nplan; i++)
		if ((done[i] = forward_entry(fw, &fw->plan[i])) == -1)
			return -1;
	if (flush_parts(fw) == -1)
		return -1;
	for (size_t i = 0; i < fw->nplan; i++)
		if (done[i] && finish_entry(fw, &fw->plan[i]) == -1)
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
	bool partial = false;

	/* a redo reads again what is left: a batch gone is done */
	for (size_t i = 0; i < fw->nplan; i++) {
		partial |= fw->plan[i].k < fw->plan[i].n;
		fwd_entry_release(&fw->plan[i]);
	}
	if (rc == -1)
		return -1;
	fw->nplan = 0;
	/*
	 * how far the files in part went; if this fails, a restart redoes
	 * the step, which writes the same names
	 */
	if (partial)
		fwd_state_save(fw);
	return 0;
}
