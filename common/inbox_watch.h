/*
 * inbox_watch.h - what waits in an inbox's incoming/, for a reader that
 * takes its files oldest first (sitesys-inbox(5)): the directory listed
 * and sorted, files that may still be being copied in left to settle, and
 * a wait that ends on inotify, on a signal, when a file has settled, or
 * for the periodic rescan
 *
 * inotify only wakes the reader; the listing is the truth. A reader lists,
 * takes the names one by one, and when they are used up waits and lists
 * again. One thread at a time may use a watch.
 */
#ifndef SITESYS_INBOX_WATCH_H
#define SITESYS_INBOX_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct inbox;

/* How often a reader tries again to move an entry it had to skip. */
#define INBOX_SKIP_RETRY_SECONDS 60

/* An entry of incoming/ that was refused but could not be moved. */
struct inbox_skip {
	char *name;
	ino_t ino; /* the entry it was; another under its name is new */
	time_t retry; /* not tried again before */
	bool seen; /* still there at the last listing */
};

struct inbox_watch {
	struct inbox *ib;
	int settle_seconds; /* a file younger than this may be incomplete */
	int fd; /* inotify on incoming/; -1 before the first wait, or none */
	bool started; /* inotify was set up, or could not be (rescans only) */
	char **names; /* incoming/ as last listed, oldest name first */
	size_t n, next; /* how many were listed, and the next to take */
	int settle_ms; /* > 0: a listed file settles in that many ms */
	struct inbox_skip *skips; /* sorted by name */
	size_t nskips, capskips;
};

/* inbox_watch_init - watch ib's incoming/; nothing listed or open yet */
void inbox_watch_init(
    struct inbox_watch *w, struct inbox *ib, int settle_seconds);

/* inbox_watch_free - release the listing and the inotify descriptor */
void inbox_watch_free(struct inbox_watch *w);

/*
 * inbox_watch_list - list incoming/ afresh, oldest name first, looking at
 * each entry without opening it: hidden names are left out, and whatever
 * a reader refuses (inbox_entry_refusal: a name outside the protocol, or
 * not a regular file) is refused with inbox_watch_refuse; how many were
 * moved to corrupt/, or -1 (logged)
 */
int inbox_watch_list(struct inbox_watch *w);

/*
 * inbox_watch_refuse - move entry name of incoming/ to corrupt/ with why;
 * if it cannot be moved, skip it: log that once, leave it out of the
 * listings while it stays the same entry, try again every
 * INBOX_SKIP_RETRY_SECONDS, and count it in inbox_watch_skipped. 0 moved,
 * -1 skipped (or gone).
 */
int inbox_watch_refuse(
    struct inbox_watch *w, const char *name, const char *why);

/* inbox_watch_skipped - how many entries of incoming/ are skipped */
size_t inbox_watch_skipped(const struct inbox_watch *w);

/* inbox_watch_next - take the next listed name; NULL when all are taken */
const char *inbox_watch_next(struct inbox_watch *w);

/* inbox_watch_pending - true while listed names remain to be taken */
bool inbox_watch_pending(const struct inbox_watch *w);

/* inbox_watch_forget - drop the names not taken; the next list has them */
void inbox_watch_forget(struct inbox_watch *w);

/*
 * inbox_watch_settling - true if a file last changed at mtime may still be
 * being copied in (it is younger than settle_seconds); the next wait then
 * ends when it has settled
 */
bool inbox_watch_settling(struct inbox_watch *w, time_t mtime);

/*
 * inbox_watch_wait - forget the names not taken and wait until a file
 * arrives in incoming/, a signal, a listed file has settled, or timeout_ms
 * (the rescan); the first call sets inotify up and returns at once, as a
 * file may have come before the watch; 0, or -1 with errno
 */
int inbox_watch_wait(struct inbox_watch *w, int timeout_ms);

#endif
