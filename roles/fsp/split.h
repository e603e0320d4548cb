/*
 * split.h - a batch forwarded in parts under names derived from its own,
 * so that a forwarder repeating a step after a crash writes the same names
 * again (and the ledger drops the repeats)
 *
 * A batch NAME = STEM.EXT is forwarded whole under NAME, or in parts:
 * STEM.p1.EXT goes on and the rest stays behind as STEM.r1.EXT, which is
 * in turn forwarded whole as STEM.p2.EXT or split into STEM.p2.EXT and
 * STEM.r2.EXT, and so on.
 */
#ifndef SITESYS_SPLIT_H
#define SITESYS_SPLIT_H

#include <jansson.h>
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
 * split_count - the messages of a batch ("messages": [...]) or of a set of
 * batches ("batches": [{"messages": [...]}, ...]), counted in order
 */
size_t split_count(const json_t *doc);

/*
 * split_doc - a new document of doc's form (a batch, or a set) holding
 * messages [from, to) of doc in split_count's order: doc's members, and
 * for a set only the batches that hold them, the first and last cut to
 * fit; NULL if doc has no such messages
 */
json_t *split_doc(const json_t *doc, size_t from, size_t to);

#endif
