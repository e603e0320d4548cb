/*
 * inbox_watch.c - an inbox's incoming/ listed, settled and waited on: the
 * one watcher of every inbox reader
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "inbox.h"
#include "inbox_watch.h"
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

int
inbox_watch_list(struct inbox_watch *w)
{
	DIR *d = opendir(w->ib->incoming);
	struct dirent *de;
	size_t cap = 0;
	int rejected = 0;

	names_clear(w);
	w->settle_ms = 0;
	if (d == NULL) {
		log_error("could not open \"%s\": %m", w->ib->incoming);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (strlen(de->d_name) <= INBOX_NAME_MAX)
			names_add(w, de->d_name, &cap);
		else if (inbox_reject(w->ib, de->d_name,
		             "name longer than the limit of 200 bytes") == 0)
			rejected++;
	}
	closedir(d);
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
