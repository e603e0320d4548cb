/*
 * group_commit.h - many threads hand data to inboxes by the protocol of
 * sitesys-inbox(5), and one committer makes everything that is waiting
 * durable together, with one flush of the data, one rename per file and
 * one fsync(2) of each incoming/ directory for the whole group
 *
 * Each caller blocks until its data is durable in incoming/ (or has failed
 * and left nothing there), so a request may be acknowledged as soon as its
 * call returns 0.
 *
 * group_commit_add puts the items that wait together into one file (a
 * "set"): a file costs far more than the bytes in it, in creating,
 * renaming, syncing, and for the reader, unlinking. group_commit_put
 * writes a file of its own under a name the caller chose.
 */
#ifndef SITESYS_GROUP_COMMIT_H
#define SITESYS_GROUP_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

struct inbox;
struct group_commit;

/*
 * How items become one file: head, the items with sep between them, tail.
 * A file with a single item holds that item alone, without head or tail,
 * unless wrap_one is set: when the head says something of every item
 * (where it came from), a single item is a set of one.
 */
struct group_commit_set {
	const char *ext; /* of the file's name, e.g. "smx" */
	const char *head; /* e.g. {"format":"...-set/1","batches":[ */
	const char *sep; /* e.g. "," */
	const char *tail; /* e.g. "]}" */
	size_t max_items; /* most items in one file */
	size_t max_bytes; /* a file grows past this only by one lone item */
	bool wrap_one; /* a single item too gets head and tail */
};

struct group_commit_stats {
	unsigned long groups; /* commits made */
	unsigned long items; /* items made durable */
	unsigned long files; /* files they went into */
	unsigned long failed; /* items that failed */
	unsigned long largest; /* most items in one commit */
};

/* group_commit_start - start the committer thread; NULL (logged) on failure */
struct group_commit *group_commit_start(void);

/*
 * group_commit_add - add data as one item of a file of set's form into
 * ib, with whatever other items wait for ib; return once that file is
 * durable in incoming/, with its name in name: 0, or -1 with errno and
 * nothing left behind. Thread-safe; ib and set must outlive the call.
 */
int group_commit_add(struct group_commit *gc, struct inbox *ib,
    const struct group_commit_set *set, const void *data, size_t len,
    char *name, size_t namelen);

/*
 * group_commit_add_key - group_commit_add into a file that holds only the
 * items of key, which goes into its name before set's extension
 * (NAME.KEY.EXT): key is [A-Za-z0-9-] and at most 40 characters, or NULL
 * as group_commit_add; 0, or -1 with errno (EINVAL for a bad key)
 */
int group_commit_add_key(struct group_commit *gc, struct inbox *ib,
    const struct group_commit_set *set, const char *key, const void *data,
    size_t len, char *name, size_t namelen);

/*
 * group_commit_put - write data as ib's file name (a file of its own);
 * return once it is durable in incoming/: 0, or -1 with errno and nothing
 * left behind. Thread-safe.
 */
int group_commit_put(struct group_commit *gc, struct inbox *ib,
    const char *name, const void *data, size_t len);

/* group_commit_stats - counters since the start (a consistent copy) */
void group_commit_stats(struct group_commit *gc, struct group_commit_stats *st);

/*
 * group_commit_stop - commit what is queued, stop the thread and free gc;
 * no call may be in progress or come after
 */
void group_commit_stop(struct group_commit *gc);

#endif
