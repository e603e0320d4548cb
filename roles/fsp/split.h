/*
 * split.h - a batch forwarded in parts under names derived from its own,
 * so that a forwarder repeating a step after a crash writes the same names
 * again (and the ledger drops the repeats)
 *
 * A batch file NAME = STEM.EXT is forwarded whole under NAME, or in parts
 * STEM.p1.EXT, STEM.p2.EXT and so on, while the file stays as it is in the
 * spool: the forwarder remembers how many of its batches went (state.c).
 * An older forwarder left the rest of a split file behind as STEM.rN.EXT,
 * whose parts are numbered on from N + 1.
 */
#ifndef SITESYS_SPLIT_H
#define SITESYS_SPLIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "inbox.h"

struct split_names {
	unsigned done; /* parts forwarded already: N of STEM.rN.EXT, else 0 */
	char whole[INBOX_NAME_MAX + 1]; /* the name if forwarded whole */
	char part[INBOX_NAME_MAX + 1]; /* the next part, if split */
	char rest[INBOX_NAME_MAX + 1]; /* what stays behind, if split */
};

/*
 * split_names - the names a batch called name is forwarded under; 0, or -1
 * with errno EINVAL (no extension) or ENAMETOOLONG
 */
int split_names(const char *name, struct split_names *out);

/*
 * split_names_at - split_names of a file of which parts parts went on
 * already: part is then the part after those, and whole the last part
 */
int split_names_at(const char *name, unsigned parts, struct split_names *out);

/*
 * A batch file is a batch or a set of batches (sitesys-statemsg(5)); it is
 * cut only between batches, never inside one, so that each batch reaches
 * statsys.box as its client signed it. A lone batch counts as a set of
 * one.
 */

/* split_count - the messages of a batch, or of all the batches of a set */
size_t split_count(const json_t *doc);

/* split_batches - the batches of a set, 1 for a lone batch */
size_t split_batches(const json_t *doc);

/*
 * split_take - how many of doc's leading batches hold at most room
 * messages together, their messages in *k; when not even the first fits,
 * the first alone if alone is true (a batch larger than a whole interval
 * must go some time), else 0 with the first one's messages in *k
 */
size_t split_take(const json_t *doc, size_t room, bool alone, size_t *k);

/* split_take_from - split_take of doc's batches from batch from on */
size_t split_take_from(
    const json_t *doc, size_t from, size_t room, bool alone, size_t *k);

/* split_count_from - the messages of doc's batches from batch from on */
size_t split_count_from(const json_t *doc, size_t from);

/*
 * split_marked - true if doc is a set that says it came through a
 * fallback status point ("via": "fsp"), and so may go on as it is
 */
bool split_marked(const json_t *doc);

/*
 * split_doc - a new set holding batches [from, to) of doc, marked "via":
 * "fsp": a set keeps its other members, a lone batch is wrapped; NULL if
 * doc has no such batches (or out of memory)
 */
json_t *split_doc(const json_t *doc, size_t from, size_t to);

#endif
