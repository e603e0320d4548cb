/*
 * group_commit.h - many threads put files into inboxes by the protocol of
 * sitesys-inbox(5), and one committer makes all the files that are waiting
 * durable together: one flush of each file back to back, one rename each,
 * one fsync(2) of each incoming/ directory, for the whole group
 *
 * Each caller blocks until its own file is durable in incoming/ (or has
 * failed and left nothing there), so a request may be acknowledged as soon
 * as group_commit_put returns 0.
 */
#ifndef SITESYS_GROUP_COMMIT_H
#define SITESYS_GROUP_COMMIT_H

#include <stddef.h>

struct inbox;
struct group_commit;

struct group_commit_stats {
	unsigned long groups; /* commits made */
	unsigned long files; /* files made durable */
	unsigned long failed; /* files that failed */
	unsigned long largest; /* most files in one group */
};

/* group_commit_start - start the committer thread; NULL (logged) on failure */
struct group_commit *group_commit_start(void);

/*
 * group_commit_put - write data as ib's tmp/name, then wait until the
 * committer has flushed it, renamed it into incoming/ and flushed
 * incoming/; 0, or -1 with errno and nothing left behind. ib must stay
 * open, unchanged, until every put into it has returned. Thread-safe.
 */
int group_commit_put(struct group_commit *gc, struct inbox *ib,
    const char *name, const void *data, size_t len);

/* group_commit_stats - counters since the start (a consistent copy) */
void group_commit_stats(struct group_commit *gc, struct group_commit_stats *st);

/*
 * group_commit_stop - commit what is queued, stop the thread and free gc;
 * no put may be in progress or come after
 */
void group_commit_stop(struct group_commit *gc);

#endif
