/*
 * inbox_watch.c - an inbox's incoming/ listed, settled and waited on: the
 * one watcher of every inbox reader
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inbox.h"
#include "inbox_watch.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"

void
inbox_watch_init(struct inbox_watch *w, struct inbox *ib, int settle_seconds)
{
	memset(w, 0, sizeof(*w));
	w->ib = ib;
	w->settle_seconds = settle_seconds;
	w->fd = -1;
}

/* Free the listing. */
static void
names_clear(struct inbox_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->names[i]);
	free(w->names);
	w->names = NULL;
	w->n = w->next = 0;
}

void
inbox_watch_free(struct inbox_watch *w)
{
	names_clear(w);
	for (size_t i = 0; i < w->nskips; i++)
		free(w->skips[i].name);
	free(w->skips);
	w->skips = NULL;
	w->nskips = w->capskips = 0;
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	w->started = false;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add name to the listing (it grows as needed). */
static void
names_add(struct inbox_watch *w, const char *name, size_t *cap)
{
	char **grown;

	if (w->n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		if ((grown = realloc(w->names, *cap * sizeof(*grown))) == NULL)
			abort();
		w->names = grown;
	}
	if ((w->names[w->n] = strdup(name)) == NULL)
		abort();
	w->n++;
}

/* The skip of name, or NULL; *at is where it is, or would go. */
static struct inbox_skip *
skip_find(const struct inbox_watch *w, const char *name, size_t *at)
{
	size_t lo = 0, hi = w->nskips;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w->skips[mid].name, name);

		if (c == 0) {
			*at = mid;
			return &w->skips[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

/* A new skip for name at its place at. */
static struct inbox_skip *
skip_add(struct inbox_watch *w, const char *name, size_t at)
{
	struct inbox_skip *grown, *sk;

	if (w->nskips == w->capskips) {
		w->capskips = w->capskips ? w->capskips * 2 : 8;
		grown = realloc(w->skips, w->capskips * sizeof(*grown));
		if (grown == NULL)
			abort();
		w->skips = grown;
	}
	memmove(&w->skips[at + 1], &w->skips[at],
	    (w->nskips - at) * sizeof(*w->skips));
	w->nskips++;
	sk = &w->skips[at];
	memset(sk, 0, sizeof(*sk));
	if ((sk->name = strdup(name)) == NULL)
		abort();
	return sk;
}

static void
skip_remove(struct inbox_watch *w, size_t at)
{
	free(w->skips[at].name);
	memmove(&w->skips[at], &w->skips[at + 1],
	    (w->nskips - at - 1) * sizeof(*w->skips));
	w->nskips--;
}

/* Forget the skipped entries that the last listing did not see. */
static void
skips_prune(struct inbox_watch *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->nskips; i++) {
		if (w->skips[i].seen)
			w->skips[n++] = w->skips[i];
		else
			free(w->skips[i].name);
	}
	w->nskips = n;
}

/* The entry incoming/name's own status (not followed); 0 or -1. */
static int
entry_stat(const struct inbox_watch *w, const char *name, struct stat *st)
{
	char path[PATH_MAX];

	if (fsio_join(path, sizeof(path), w->ib->incoming, name) == -1)
		return -1;
	return lstat(path, st);
}

int
inbox_watch_refuse(struct inbox_watch *w, const char *name, const char *why)
{
	char err[PATH_MAX + 256];
	struct inbox_skip *sk;
	struct stat st;
	size_t at;

	sk = skip_find(w, name, &at);
	if (inbox_try_reject(w->ib, name, why, err, sizeof(err)) == 0) {
		if (sk != NULL)
			skip_remove(w, at);
		return 0;
	}
	if (entry_stat(w, name, &st) == -1) {
		if (sk != NULL)
			skip_remove(w, at); /* gone: nothing to skip */
		return -1;
	}
	if (sk != NULL && sk->ino == st.st_ino) {
		sk->retry = time(NULL) + INBOX_SKIP_RETRY_SECONDS;
		sk->seen = true;
		return -1; /* logged when it was first skipped */
	}
	if (sk == NULL)
		sk = skip_add(w, name, at);
	sk->ino = st.st_ino;
	sk->retry = time(NULL) + INBOX_SKIP_RETRY_SECONDS;
	sk->seen = true;
	log_error("%s; skipping it (refused: %s) and trying again every "
	          "%d s",
	    err, why, INBOX_SKIP_RETRY_SECONDS);
	return -1;
}

size_t
inbox_watch_skipped(const struct inbox_watch *w)
{
	return w->nskips;
}

/*
 * True if name is an entry skipped before and still the same one, not yet
 * due for another try; the listing then leaves it out.
 */
static bool
skip_holds(struct inbox_watch *w, const char *name, time_t now)
{
	struct inbox_skip *sk;
	struct stat st;
	size_t at;

	if ((sk = skip_find(w, name, &at)) == NULL)
		return false;
	if (entry_stat(w, name, &st) == -1 || st.st_ino != sk->ino) {
		skip_remove(w, at); /* gone, or another entry */
		return false;
	}
	sk->seen = true;
	return now < sk->retry;
}

/* Take entry de of d into the listing, or refuse it; 1 if moved, else 0. */
static int
list_entry(struct inbox_watch *w, DIR *d, const struct dirent *de, size_t *cap,
    time_t now)
{
	const char *why;
	mode_t type;

	if (de->d_name[0] == '.' || skip_holds(w, de->d_name, now))
		return 0;
	if ((type = inbox_entry_type(d, de)) == 0)
		return 0; /* gone */
	if ((why = inbox_entry_refusal(de->d_name, type)) == NULL) {
		names_add(w, de->d_name, cap);
		return 0;
	}
	return inbox_watch_refuse(w, de->d_name, why) == 0;
}

int
inbox_watch_list(struct inbox_watch *w)
{
	DIR *d = opendir(w->ib->incoming);
	time_t now = time(NULL);
	struct dirent *de;
	size_t cap = 0;
	int rejected = 0;

	names_clear(w);
	w->settle_ms = 0;
	if (d == NULL) {
		log_error("could not open \"%s\": %m", w->ib->incoming);
		return -1;
	}
	for (size_t i = 0; i < w->nskips; i++)
		w->skips[i].seen = false;
	while ((de = readdir(d)) != NULL)
		rejected += list_entry(w, d, de, &cap, now);
	closedir(d);
	skips_prune(w);
	if (w->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(w->names, w->n, sizeof(*w->names), cmp_names);
	return rejected;
}

const char *
inbox_watch_next(struct inbox_watch *w)
{
	return w->next < w->n ? w->names[w->next++] : NULL;
}

bool
inbox_watch_pending(const struct inbox_watch *w)
{
	return w->next < w->n;
}

void
inbox_watch_forget(struct inbox_watch *w)
{
	w->next = w->n;
}

bool
inbox_watch_settling(struct inbox_watch *w, time_t mtime)
{
	time_t age = time(NULL) - mtime;
	int ms;

	/* a time ahead of ours (a file's time can be a second past time(),
	 * or come from a host whose clock is ahead) waits no longer than a
	 * file written now */
	if (age < 0)
		age = 0;
	if (age >= w->settle_seconds)
		return false;
	ms = (int)(w->settle_seconds - age) * 1000;
	if (w->settle_ms == 0 || ms < w->settle_ms)
		w->settle_ms = ms;
	return true;
}

/* Set inotify up on incoming/; without it, the rescans alone find files. */
static void
watch_start(struct inbox_watch *w)
{
	w->started = true;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd != -1 &&
	    inotify_add_watch(
	        w->fd, w->ib->incoming, IN_MOVED_TO | IN_CLOSE_WRITE) != -1)
		return;
	log_error(
	    "could not watch \"%s\", rescanning only: %m", w->ib->incoming);
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
}

int
inbox_watch_wait(struct inbox_watch *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	char events[4096];
	int rc;

	inbox_watch_forget(w);
	if (!w->started) {
		watch_start(w);
		return 0; /* a file may have come before the watch */
	}
	if (w->settle_ms > 0 && w->settle_ms < timeout_ms)
		timeout_ms = w->settle_ms;
	/* without inotify (fd -1), poll(2) only sleeps */
	if ((rc = signals_poll(&pfd, 1, timeout_ms)) > 0)
		while (read(w->fd, events, sizeof(events)) > 0)
			; /* the events only wake us; the directory is the truth */
	return rc == -1 ? -1 : 0;
}
