/*
 * group_commit.c - the data of many threads made durable together
 *
 * Callers queue items and sleep. The committer takes the whole queue and:
 *
 *   1. makes the group's files in tmp/: the items added for one inbox and
 *      one set form go into one file (or a few, by the set's limits); an
 *      item put under its own name was written by its caller already;
 *   2. flushes the data: one file with fdatasync(2), more with one
 *      syncfs(2) per inbox's file system, which since Linux 5.8 also
 *      reports a failed write-back;
 *   3. closes and renames each file into incoming/;
 *   4. fsync(2)s each incoming/ directory once;
 *   5. wakes each caller of the group (and no other) with its result.
 *
 * While it works, the next group gathers in the queue. Measured on ext4
 * with 64 concurrent 1-KB requests: one file per request spent most of
 * the time creating inodes in one directory (its lock, and the search for
 * an inode not recently deleted), so items share files; and fdatasync(2)
 * on each of 64 files took 15 to 55 ms against 2 to 13 ms for one
 * syncfs(2), whose price is that it also waits for whatever else is dirty
 * on that file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group_commit.h"
#include "inbox.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/log.h"

struct gc_file {
	struct inbox *ib;
	char name[INBOX_NAME_MAX + 1];
	int fd; /* open while written and flushed */
	int err; /* 0, or the errno of the step that failed */
	bool renamed;
};

struct gc_item {
	struct inbox *ib;
	const struct group_commit_set *set; /* NULL: a file of its own */
	const char *key; /* add: only items of this key share its file */
	const char *name; /* put: the file's name */
	int fd; /* put: its tmp/ file, written */
	const void *data; /* add: the item */
	size_t len;
	struct gc_file *file; /* the file it went into */
	int err;
	char out[INBOX_NAME_MAX + 1]; /* add: the file's name */
	sem_t done; /* posted once by the committer: only its caller wakes */
	struct gc_item *next;
};

struct group_commit {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the committer waits for a queue */
	struct gc_item *head, **tail;
	bool stopping;
	pthread_t thread;
	struct group_commit_stats st;
};

/* Mark f failed with err; remove its tmp/ or incoming/ file. */
static void
file_fail(struct gc_file *f, int err)
{
	char path[4096];

	f->err = err;
	if (f->fd != -1) {
		close(f->fd);
		f->fd = -1;
	}
	if (fsio_join(path, sizeof(path),
	        f->renamed ? f->ib->incoming : f->ib->tmp, f->name) == 0)
		unlink(path);
}

/* Create tmp/name exclusively and write data; the fd, or -1 with errno. */
static int
write_tmp(struct inbox *ib, const char *name, const void *data, size_t len)
{
	char path[4096];
	int fd, saved;

	if (!inbox_valid_name(name)) {
		errno = EINVAL;
		return -1;
	}
	if (fsio_join(path, sizeof(path), ib->tmp, name) == -1)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	if (fsio_write_all(fd, data, len) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return fd;
}

/* True if a and b are the same key, or both none. */
static bool
same_key(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* True if it can join the set file f, which holds n items, bytes long. */
static bool
fits(const struct gc_item *it, const struct gc_item *first, size_t n,
    size_t bytes)
{
	return it->set != NULL && it->ib == first->ib &&
	    it->set == first->set && same_key(it->key, first->key) &&
	    n < it->set->max_items && bytes + it->len <= it->set->max_bytes;
}

/* Write the set file f from its items (those pointing at f); 0 or -1. */
static int
write_set(struct gc_file *f, struct gc_item *first, size_t n)
{
	const struct group_commit_set *set = first->set;
	bool wrap = n > 1 || set->wrap_one;
	char ext[64];
	struct buf b = { 0 };
	size_t i = 0;

	if (wrap)
		buf_adds(&b, set->head);
	for (struct gc_item *it = first; it != NULL; it = it->next) {
		if (it->file != f)
			continue;
		if (i++ > 0)
			buf_adds(&b, set->sep);
		buf_add(&b, it->data, it->len);
	}
	if (wrap)
		buf_adds(&b, set->tail);
	if (first->key == NULL)
		snprintf(ext, sizeof(ext), "%s", set->ext);
	else
		snprintf(ext, sizeof(ext), "%s.%s", first->key, set->ext);
	inbox_new_name(ext, f->name, sizeof(f->name));
	f->fd = write_tmp(f->ib, f->name, b.p, b.len);
	buf_free(&b);
	return f->fd == -1 ? -1 : 0;
}

/* Gather the added items that belong with first into the file f. */
static void
gather_set(struct gc_file *f, struct gc_item *first)
{
	size_t n = 0, bytes = 0;

	for (struct gc_item *it = first; it != NULL; it = it->next) {
		if (it->file != NULL || (n > 0 && !fits(it, first, n, bytes)))
			continue;
		it->file = f;
		n++;
		bytes += it->len;
	}
	if (write_set(f, first, n) == -1)
		f->err = errno;
}

/* Step 1: the group's files (at most one per item); their count, or -1. */
static long
make_files(struct gc_item *batch, struct gc_file **files)
{
	size_t n = 0, items = 0;

	for (struct gc_item *it = batch; it != NULL; it = it->next)
		items++;
	/* items point into this array: it must not move */
	if ((*files = calloc(items, sizeof(**files))) == NULL)
		return -1;
	for (struct gc_item *it = batch; it != NULL; it = it->next) {
		struct gc_file *f;

		if (it->file != NULL)
			continue;
		f = &(*files)[n++];
		*f = (struct gc_file){ .ib = it->ib, .fd = -1 };
		if (it->set == NULL) {
			it->file = f;
			f->fd = it->fd;
			snprintf(f->name, sizeof(f->name), "%s", it->name);
		} else {
			gather_set(f, it);
		}
	}
	return (long)n;
}

/* True if f is the first file of its inbox that has not failed. */
static bool
first_of_inbox(struct gc_file *files, size_t i)
{
	if (files[i].err != 0)
		return false;
	for (size_t j = 0; j < i; j++)
		if (files[j].ib == files[i].ib && files[j].err == 0)
			return false;
	return true;
}

/* Fail files[i] and the later files of the same inbox. */
static void
fail_inbox(struct gc_file *files, size_t n, size_t i, int err)
{
	struct inbox *ib = files[i].ib;

	for (; i < n; i++)
		if (files[i].ib == ib && files[i].err == 0)
			file_fail(&files[i], err);
}

/* Step 2: flush every file of the group to disk. */
static void
flush(struct gc_file *files, size_t n)
{
	if (n == 1) {
		if (files[0].err == 0 && fsio_fdatasync(files[0].fd) == -1)
			file_fail(&files[0], errno);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!first_of_inbox(files, i) || fsio_syncfs(files[i].fd) == 0)
			continue;
		log_error("could not flush the file system of \"%s\": %m",
		    files[i].ib->tmp);
		fail_inbox(files, n, i, errno);
	}
}

/* Step 3: close and rename every file not failed yet. */
static void
close_and_rename(struct gc_file *files, size_t n)
{
	char tmp[4096], dst[4096];

	for (size_t i = 0; i < n; i++) {
		struct gc_file *f = &files[i];

		if (f->err != 0)
			continue;
		if (close(f->fd) == -1) {
			f->fd = -1;
			file_fail(f, errno);
			continue;
		}
		f->fd = -1;
		if (fsio_join(tmp, sizeof(tmp), f->ib->tmp, f->name) == -1 ||
		    fsio_join(dst, sizeof(dst), f->ib->incoming, f->name) ==
		        -1 ||
		    fsio_rename(tmp, dst) == -1) {
			file_fail(f, errno);
			continue;
		}
		f->renamed = true;
	}
}

/* Step 4: fsync each incoming/ once; on failure its files fail too. */
static void
sync_dirs(struct gc_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!first_of_inbox(files, i) ||
		    fsio_sync_dir(files[i].ib->incoming) == 0)
			continue;
		log_error("could not flush directory \"%s\": %m",
		    files[i].ib->incoming);
		fail_inbox(files, n, i, errno);
	}
}

/* Steps 1 to 4 for a group; each item's err and out are set. */
static void
commit(struct group_commit *gc, struct gc_item *batch)
{
	struct gc_file *files;
	long n = make_files(batch, &files);
	unsigned long items = 0, failed = 0;

	if (n > 0) {
		flush(files, (size_t)n);
		close_and_rename(files, (size_t)n);
		sync_dirs(files, (size_t)n);
	}
	for (struct gc_item *it = batch; it != NULL; it = it->next) {
		items++;
		if (n == -1) {
			/* out of memory before any file was made */
			struct gc_file f = { .ib = it->ib, .fd = it->fd };

			if (it->set == NULL) {
				snprintf(
				    f.name, sizeof(f.name), "%s", it->name);
				file_fail(&f, ENOMEM);
			}
			it->err = ENOMEM;
		} else {
			it->err = it->file->err;
			snprintf(
			    it->out, sizeof(it->out), "%s", it->file->name);
		}
		failed += it->err != 0;
	}
	pthread_mutex_lock(&gc->mu);
	gc->st.groups++;
	gc->st.items += items - failed;
	gc->st.failed += failed;
	for (long i = 0; i < n; i++)
		gc->st.files += files[i].err == 0;
	if (items > gc->st.largest)
		gc->st.largest = items;
	pthread_mutex_unlock(&gc->mu);
	free(files);
}

/* Step 5: wake each caller; an item is gone once its caller wakes. */
static void
wake(struct gc_item *batch)
{
	struct gc_item *next;

	for (struct gc_item *it = batch; it != NULL; it = next) {
		next = it->next;
		sem_post(&it->done);
	}
}

static void *
committer(void *p)
{
	struct group_commit *gc = p;
	struct gc_item *batch;

	pthread_mutex_lock(&gc->mu);
	for (;;) {
		while (gc->head == NULL && !gc->stopping)
			pthread_cond_wait(&gc->work, &gc->mu);
		if (gc->head == NULL)
			break;
		batch = gc->head;
		gc->head = NULL;
		gc->tail = &gc->head;
		pthread_mutex_unlock(&gc->mu);
		commit(gc, batch);
		wake(batch);
		pthread_mutex_lock(&gc->mu);
	}
	pthread_mutex_unlock(&gc->mu);
	return NULL;
}

struct group_commit *
group_commit_start(void)
{
	struct group_commit *gc = calloc(1, sizeof(*gc));
	int rc;

	if (gc == NULL) {
		log_error("out of memory for the group committer");
		return NULL;
	}
	pthread_mutex_init(&gc->mu, NULL);
	pthread_cond_init(&gc->work, NULL);
	gc->tail = &gc->head;
	if ((rc = pthread_create(&gc->thread, NULL, committer, gc)) != 0) {
		log_error(
		    "could not start the group committer: %s", strerror(rc));
		free(gc);
		return NULL;
	}
	return gc;
}

/* Queue it, sleep until the committer is done with it; 0 or -1. */
static int
submit(struct group_commit *gc, struct gc_item *it)
{
	sem_init(&it->done, 0, 0);
	pthread_mutex_lock(&gc->mu);
	*gc->tail = it;
	gc->tail = &it->next;
	pthread_cond_signal(&gc->work);
	pthread_mutex_unlock(&gc->mu);
	while (sem_wait(&it->done) == -1 && errno == EINTR)
		;
	sem_destroy(&it->done);
	if (it->err != 0) {
		errno = it->err;
		return -1;
	}
	return 0;
}

int
group_commit_add(struct group_commit *gc, struct inbox *ib,
    const struct group_commit_set *set, const void *data, size_t len,
    char *name, size_t namelen)
{
	return group_commit_add_key(
	    gc, ib, set, NULL, data, len, name, namelen);
}

/* True if key may go into a file's name: [A-Za-z0-9-], 1 to 40 long. */
static bool
valid_key(const char *key)
{
	size_t n = strspn(key,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

	return n > 0 && n <= 40 && key[n] == '\0';
}

int
group_commit_add_key(struct group_commit *gc, struct inbox *ib,
    const struct group_commit_set *set, const char *key, const void *data,
    size_t len, char *name, size_t namelen)
{
	/* it lives on this stack until the committer is done with it */
	struct gc_item it = { .ib = ib,
		.set = set,
		.key = key,
		.fd = -1,
		.data = data,
		.len = len };

	if (key != NULL && !valid_key(key)) {
		errno = EINVAL;
		return -1;
	}
	if (submit(gc, &it) == -1)
		return -1;
	snprintf(name, namelen, "%s", it.out);
	return 0;
}

int
group_commit_put(struct group_commit *gc, struct inbox *ib, const char *name,
    const void *data, size_t len)
{
	struct gc_item it = { .ib = ib, .name = name };

	/* written here, so that callers write in parallel */
	if ((it.fd = write_tmp(ib, name, data, len)) == -1)
		return -1;
	return submit(gc, &it);
}

void
group_commit_stats(struct group_commit *gc, struct group_commit_stats *st)
{
	pthread_mutex_lock(&gc->mu);
	*st = gc->st;
	pthread_mutex_unlock(&gc->mu);
}

void
group_commit_stop(struct group_commit *gc)
{
	if (gc == NULL)
		return;
	pthread_mutex_lock(&gc->mu);
	gc->stopping = true;
	pthread_cond_signal(&gc->work);
	pthread_mutex_unlock(&gc->mu);
	pthread_join(gc->thread, NULL);
	pthread_mutex_destroy(&gc->mu);
	pthread_cond_destroy(&gc->work);
	free(gc);
}
