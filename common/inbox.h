/*
 * inbox.h - the inbox protocol of sitesys-inbox(5): tmp/ -> incoming/ by
 * rename, exactly-once batches recorded in a ledger, corrupt/ with a .why
 */
#ifndef SITESYS_INBOX_H
#define SITESYS_INBOX_H

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "inbox_watch.h"

#define INBOX_MAX_FILE (64u * 1024 * 1024) /* a file larger is corrupt */
#define INBOX_NAME_MAX 200

struct inbox {
	char *name; /* "statsys.box" */
	char *path; /* ROOT/statsys.box */
	char *tmp; /* .../tmp */
	char *incoming; /* .../incoming */
	char *corrupt; /* .../corrupt */
	bool dirty; /* renamed into incoming/ since the last sync */
};

/* inbox_open - describe root/name; create its directories if create */
int inbox_open(
    struct inbox *ib, const char *root, const char *name, bool create);

/*
 * inbox_chown - hand the inbox and its three directories to uid:gid, so a
 * daemon that made it as root can use it after dropping privileges; 0, or
 * -1 with errno
 */
int inbox_chown(const struct inbox *ib, uid_t uid, gid_t gid);

/*
 * inbox_open_owned - open root/name, creating it; when run as root, hand
 * it to user, the one a daemon drops to; 0, or -1 (logged)
 */
int inbox_open_owned(
    struct inbox *ib, const char *root, const char *name, const char *user);

/* inbox_close - free what inbox_open allocated */
void inbox_close(struct inbox *ib);

/* inbox_valid_name - a box or file name: [A-Za-z0-9._-], not leading '.' */
bool inbox_valid_name(const char *name);

/* inbox_new_name - a unique name sorting by time: µs.host.pid.seq.ext */
void inbox_new_name(const char *ext, char *out, size_t len);

/*
 * inbox_put - write data as tmp/name, fsync, rename into incoming/; the file
 * is durable only after inbox_sync; 0, or -1 with errno (nothing left
 * behind in incoming/)
 */
int inbox_put(struct inbox *ib, const char *name, const void *data, size_t len);

/* inbox_sync - fsync incoming/ if anything was renamed into it; 0 or -1 */
int inbox_sync(struct inbox *ib);

/* inbox_recover - purge tmp/ files older than stale_seconds; the count */
int inbox_recover(struct inbox *ib, int stale_seconds);

/*
 * inbox_reject - move incoming/name to corrupt/ with name.why beside it,
 * and log it; 0, or -1 (logged; no .why is left behind)
 */
int inbox_reject(struct inbox *ib, const char *name, const char *why);

/*
 * inbox_try_reject - inbox_reject for a caller that logs a failure itself
 * (once, however often it tries): 0 moved (and logged), or -1 with errno
 * and what failed in err (nothing logged, no .why left behind)
 */
int inbox_try_reject(struct inbox *ib, const char *name, const char *why,
    char *err, size_t errlen);

/*
 * inbox_entry_refusal - why a reader refuses an entry of incoming/ named
 * name whose own type (lstat(2), not followed) is mode: a name outside the
 * protocol, or anything but a regular file; NULL if it may be read. A name
 * that starts with a dot is the caller's to ignore before asking.
 */
const char *inbox_entry_refusal(const char *name, mode_t mode);

/*
 * inbox_entry_type - the type (the S_IFMT bits) of entry de of the open
 * directory d, as the listing says or else by fstatat(2), never followed;
 * 0 if it is gone
 */
mode_t inbox_entry_type(DIR *d, const struct dirent *de);

/*
 * inbox_entry_read - read the entry name of the directory dfd (or a path,
 * with AT_FDCWD) whole,
 * looking before it reads: opened with O_NOFOLLOW and O_NONBLOCK, so that
 * neither a symbolic link is followed nor a FIFO waited on, it must be a
 * regular file of at most INBOX_MAX_FILE bytes. 0 with its text in *data
 * (to free), its length in *len and its status in *st; or -1 with errno
 * and the reason in why: ENOENT it is gone, a transient error
 * (inbox_transient) try again later, any other it cannot be read.
 */
int inbox_entry_read(int dfd, const char *name, char **data, size_t *len,
    struct stat *st, char *why, size_t whylen);

/*
 * inbox_transient - true if err, from reading an entry, says "try again
 * later" (out of descriptors or memory) rather than "this entry is bad"
 */
bool inbox_transient(int err);

struct inbox_backlog {
	long files; /* in incoming/ */
	double oldest_age; /* seconds, 0 when empty */
	long corrupt; /* files in corrupt/ (not counting .why) */
	long tmp; /* files in tmp/ */
	long skipped; /* entries of incoming/ refused (inbox_entry_refusal)
			 and still there: not in files */
};

/*
 * inbox_backlog - count an inbox's directories, never following nor
 * opening an entry; 0 or -1 with errno
 */
int inbox_backlog(const char *path, struct inbox_backlog *bl);

/* One file of a batch. */
struct inbox_item {
	char name[INBOX_NAME_MAX + 1];
	char *data;
	size_t len;
	json_t *doc;
	void *parsed; /* what validate made of doc, kept for process */
	void (*parsed_free)(void *parsed); /* frees it with the item */
	bool seen; /* already in the ledger: a repeat, not processed again */
};

/* The transaction a batch is processed in (PostgreSQL: ledger_pg.c). */
struct inbox_ledger {
	int (*begin)(void *ctx);
	/* mark items already recorded for box as seen */
	int (*seen)(
	    void *ctx, const char *box, struct inbox_item *items, size_t n);
	/* record the names of the items not seen */
	int (*record)(
	    void *ctx, const char *box, struct inbox_item *items, size_t n);
	int (*commit)(void *ctx);
	void (*rollback)(void *ctx);
};

struct inbox_reader {
	struct inbox *ib;
	const char
	    *format; /* required "format" member, e.g. sitesys.statemsg/1 */
	const struct inbox_ledger *ledger;
	void *ledger_ctx;
	/* deeper checks of one document; -1 and why: the file is corrupt */
	int (*validate)(
	    void *arg, struct inbox_item *item, char *why, size_t len);
	/* inside the transaction, for the items not seen; 0, or -1 to retry */
	int (*process)(void *arg, struct inbox_item *items, size_t n);
	void *arg;
	size_t batch_files;
	int settle_seconds;

	/* state */
	struct inbox_watch watch; /* incoming/, listed and waited on */
	char failed[INBOX_NAME_MAX +
	    1]; /* first file of the last failed batch */
	struct inbox_ahead *ahead; /* the next batch, read during a commit */
	unsigned long processed, repeats, rejected;
};

/* inbox_reader_init - zero the state of a reader whose fields are set */
void inbox_reader_init(struct inbox_reader *r);

/* inbox_reader_free - release the reader's state (not the inbox) */
void inbox_reader_free(struct inbox_reader *r);

/*
 * inbox_reader_batch - process one batch; the number of files it disposed
 * of (processed, repeats and rejects), 0 if none was ready, -1 if the
 * ledger or process failed (files are left in place for a retry)
 */
long inbox_reader_batch(struct inbox_reader *r);

/*
 * inbox_reader_wait - sleep until a file arrives in incoming/, a signal, or
 * timeout_ms (shortened while a file settles); 0 or -1
 */
int inbox_reader_wait(struct inbox_reader *r, int timeout_ms);

#endif
