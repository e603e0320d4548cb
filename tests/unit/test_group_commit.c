/*
 * test_group_commit.c - many threads putting files into inboxes at once:
 * every put that returns 0 left its file whole in incoming/, every failed
 * put left nothing behind, and the committer served them in groups
 *
 * To line callers up behind the committer, a test holds it in the flush
 * of a group of one file: this file's fdatasync(2), which the library's
 * calls reach instead of libc's, waits at a gate while the test says so.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fail_fixture.h"
#include "group_commit.h"
#include "inbox.h"
#include "util/fsio.h"

#define THREADS 32
#define PER_THREAD 20

static char root[64];
static struct inbox box_a, box_b;
static struct group_commit *gc;

struct worker {
	int id;
	int failures;
};

/* --- the gate ---------------------------------------------------------- */

static atomic_bool gate_shut;
static sem_t gate_reached, gate_open;

/* Wait for sem, at most 10 s; 0 or -1. */
static int
sem_wait_10s(sem_t *sem)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (sem_timedwait(sem, &until) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* The flush of a group of one file: held at the gate while it is shut. */
int
fdatasync(int fd)
{
	if (atomic_exchange(&gate_shut, false)) {
		sem_post(&gate_reached);
		sem_wait_10s(&gate_open);
	}
	return (int)syscall(SYS_fdatasync, fd);
}

/* The threads lined up behind the gate, by thread id (0: not yet known). */
static atomic_int lined[THREADS];
static atomic_size_t nlined;

/* Say that this thread is about to queue behind the gate. */
static void
line_up(void)
{
	size_t i = atomic_fetch_add(&nlined, 1);

	if (i >= THREADS)
		abort(); /* more than a test lines up */
	atomic_store(&lined[i], (int)gettid());
}

/* True if thread tid sleeps (state S in /proc). */
static bool
thread_sleeps(int tid)
{
	char path[64], line[512], *paren;
	FILE *fp;
	bool sleeps = false;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    (paren = strrchr(line, ')')) != NULL)
		sleeps = paren[1] == ' ' && paren[2] == 'S';
	fclose(fp);
	return sleeps;
}

/*
 * True once n threads lined up and all of them sleep. A caller sleeps
 * only in the queue, on its own semaphore: the lock it takes to queue is
 * never held by a sleeping thread, and the committer does not hold it
 * while it flushes.
 */
static bool
all_queued(size_t n)
{
	if (atomic_load(&nlined) < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&lined[i]) == 0 ||
		    !thread_sleeps(atomic_load(&lined[i])))
			return false;
	return true;
}

/* One add into ib, lined up behind the gate. */
struct caller {
	pthread_t thread;
	struct inbox *ib;
	const struct group_commit_set *set;
	const char *key; /* group_commit_add_key's, or NULL */
	char data[32];
	char name[INBOX_NAME_MAX + 1];
	int rc, err;
};

static void *
caller_add(void *p)
{
	struct caller *c = p;

	c->rc = group_commit_add_key(gc, c->ib, c->set, c->key, c->data,
	    strlen(c->data), c->name, sizeof(c->name));
	c->err = errno;
	return NULL;
}

static void *
caller_run(void *p)
{
	line_up();
	return caller_add(p);
}

/* Shut the gate and send one item of set into box_a up to it. */
static void
gate_hold(struct caller *holder, const struct group_commit_set *set)
{
	*holder = (struct caller){ .ib = &box_a, .set = set };
	snprintf(holder->data, sizeof(holder->data), "%s", "99999");
	assert_int_equal(sem_init(&gate_reached, 0, 0), 0);
	assert_int_equal(sem_init(&gate_open, 0, 0), 0);
	atomic_store(&nlined, 0);
	for (size_t i = 0; i < THREADS; i++)
		atomic_store(&lined[i], 0);
	atomic_store(&gate_shut, true);
	assert_int_equal(
	    pthread_create(&holder->thread, NULL, caller_add, holder), 0);
	assert_int_equal(sem_wait_10s(&gate_reached), 0);
}

/* Wait until n threads wait in the queue (polled at most 1000 times). */
static void
wait_queued(size_t n)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	int tries = 0;

	while (!all_queued(n) && tries++ < 1000)
		nanosleep(&ms, NULL);
	assert_true(all_queued(n));
}

/*
 * Open the gate once n threads wait in the queue, so that the committer
 * takes them as one group; let the holder go.
 */
static void
gate_release(struct caller *holder, size_t n)
{
	wait_queued(n);
	sem_post(&gate_open);
	pthread_join(holder->thread, NULL);
	assert_int_equal(holder->rc, 0);
	sem_destroy(&gate_reached);
	sem_destroy(&gate_open);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/sitesys-gc-XXXXXX");
	if (mkdtemp(root) == NULL ||
	    inbox_open(&box_a, root, "a.box", true) == -1 ||
	    inbox_open(&box_b, root, "b.box", true) == -1 ||
	    (gc = group_commit_start()) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	group_commit_stop(gc);
	inbox_close(&box_a);
	inbox_close(&box_b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
content_of(int id, int i, char *out, size_t len)
{
	snprintf(out, len, "{\"format\":\"sitesys.test/1\",\"body\":\"%d-%d\"}",
	    id, i);
}

static void *
put_many(void *p)
{
	struct worker *w = p;
	char name[64], data[128];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(name, sizeof(name), "w%02d.%03d.json", w->id, i);
		content_of(w->id, i, data, sizeof(data));
		if (group_commit_put(gc, w->id % 2 ? &box_b : &box_a, name,
		        data, strlen(data)) == -1)
			w->failures++;
	}
	return NULL;
}

static void
test_many_threads_every_file_whole(void **state)
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	struct group_commit_stats st;
	struct inbox_backlog bl;

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(
		    pthread_create(&t[i], NULL, put_many, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	for (int id = 0; id < THREADS; id++)
		for (int i = 0; i < PER_THREAD; i++) {
			char path[512], want[128], *data;
			size_t len;

			snprintf(path, sizeof(path), "%s/w%02d.%03d.json",
			    id % 2 ? box_b.incoming : box_a.incoming, id, i);
			content_of(id, i, want, sizeof(want));
			assert_int_equal(
			    fsio_read_file(path, 1024, &data, &len), 0);
			assert_string_equal(data, want);
			free(data);
		}
	assert_int_equal(inbox_backlog(box_a.path, &bl), 0);
	assert_int_equal(bl.files, THREADS / 2 * PER_THREAD);
	assert_int_equal(bl.tmp, 0);
	group_commit_stats(gc, &st);
	assert_int_equal(st.files, THREADS * PER_THREAD);
	assert_int_equal(st.failed, 0);
	assert_true(st.groups <= st.files);
	assert_true(st.largest >= 1);
}

/* Items are JSON numbers; a set is a JSON array of at most 3. */
static const struct group_commit_set nums = {
	.ext = "json",
	.head = "[",
	.sep = ",",
	.tail = "]",
	.max_items = 3,
	.max_bytes = 1 << 20,
};

struct adder {
	int id;
	int failures;
	char names[PER_THREAD][INBOX_NAME_MAX + 1];
};

static void *
add_many(void *p)
{
	struct adder *a = p;
	char data[32];

	line_up();
	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(data, sizeof(data), "%d", a->id * 1000 + i);
		if (group_commit_add(gc, &box_a, &nums, data, strlen(data),
		        a->names[i], sizeof(a->names[i])) == -1)
			a->failures++;
	}
	return NULL;
}

/* True if the file name in ib holds the number v (alone or in a set). */
static bool
holds(const struct inbox *ib, const char *name, long v, size_t *items)
{
	char path[512];
	json_t *doc, *e;
	bool found = false;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", ib->incoming, name);
	if ((doc = json_load_file(path, JSON_DECODE_ANY, NULL)) == NULL)
		return false;
	if (json_is_integer(doc)) {
		found = json_integer_value(doc) == v;
		*items = 1;
	} else {
		json_array_foreach(doc, i, e) found |=
		    json_integer_value(e) == v;
		*items = json_array_size(doc);
	}
	json_decref(doc);
	return found;
}

/*
 * The first item of each of the THREADS adders waits behind the gate, so
 * they go in one group: its files hold nums.max_items items each, but for
 * the last. Then all add at once.
 */
static void
test_added_items_share_files(void **state)
{
	pthread_t t[THREADS];
	static struct adder a[THREADS];
	struct group_commit_stats before, after;
	struct inbox_backlog bl;
	struct caller holder;
	size_t shared = 0;

	(void)state;
	group_commit_stats(gc, &before);
	gate_hold(&holder, &nums);
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct adder){ .id = i };
		assert_int_equal(
		    pthread_create(&t[i], NULL, add_many, &a[i]), 0);
	}
	gate_release(&holder, THREADS);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	for (int id = 0; id < THREADS; id++)
		for (int i = 0; i < PER_THREAD; i++) {
			size_t items = 0;

			assert_true(holds(
			    &box_a, a[id].names[i], id * 1000 + i, &items));
			assert_in_range(items, 1, nums.max_items);
			shared += items > 1;
		}
	/* each of the THREADS first items shares its file with another */
	assert_true(shared >= THREADS);
	group_commit_stats(gc, &after);
	assert_int_equal(after.items - before.items, THREADS * PER_THREAD + 1);
	assert_true(after.largest >= THREADS);
	assert_true(after.files - before.files < THREADS * PER_THREAD);
	assert_int_equal(inbox_backlog(box_a.path, &bl), 0);
	assert_int_equal(bl.tmp, 0);
}

static void
test_failed_put_leaves_nothing(void **state)
{
	struct inbox gone;
	struct inbox_backlog bl;
	char path[512];

	(void)state;
	assert_int_equal(inbox_open(&gone, root, "gone.box", true), 0);
	/* incoming/ vanishes: the rename fails, tmp/ is cleaned */
	assert_int_equal(rmdir(gone.incoming), 0);
	assert_int_equal(group_commit_put(gc, &gone, "x.json", "{}", 2), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(path, sizeof(path), "%s/x.json", gone.tmp);
	assert_int_equal(access(path, F_OK), -1);
	/* a name the protocol refuses */
	assert_int_equal(group_commit_put(gc, &box_a, "../x", "{}", 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(group_commit_put(gc, &box_a, ".hidden", "{}", 2), -1);
	assert_int_equal(inbox_backlog(box_a.path, &bl), 0);
	assert_int_equal(bl.tmp, 0);
	inbox_close(&gone);
}

/* Files in ib's incoming/, after checking that tmp/ is empty. */
static long
files_in(const struct inbox *ib)
{
	struct inbox_backlog bl;

	assert_int_equal(inbox_backlog(ib->path, &bl), 0);
	assert_int_equal(bl.tmp, 0);
	return bl.files;
}

/*
 * When a step of a commit fails (writing the file, flushing the one file
 * of the group, renaming it, flushing incoming/), the caller gets its
 * errno and nothing is left behind; the next commit is whole.
 */
static void
test_failed_step_fails_the_caller(void **state)
{
	static const struct fail_case fails[] = { { "write:1:ENOSPC", ENOSPC },
		{ "fdatasync:1:EIO", EIO }, { "rename:1:EIO", EIO },
		{ "fsync:1:EIO", EIO } };
	char name[INBOX_NAME_MAX + 1];
	long files = files_in(&box_a);
	size_t items;

	(void)state;
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		assert_int_equal(fsio_fail_arm(fails[i].spec), 0);
		errno = 0;
		assert_int_equal(
		    group_commit_put(gc, &box_a, "f.json", "{}", 2), -1);
		assert_int_equal(errno, fails[i].err);
		assert_int_equal(files_in(&box_a), files);
		assert_int_equal(fsio_fail_arm(fails[i].spec), 0);
		errno = 0;
		assert_int_equal(group_commit_add(gc, &box_a, &nums, "7", 1,
		                     name, sizeof(name)),
		    -1);
		assert_int_equal(errno, fails[i].err);
		assert_int_equal(files_in(&box_a), files);
		assert_int_equal(group_commit_add(gc, &box_a, &nums, "8", 1,
		                     name, sizeof(name)),
		    0);
		assert_true(holds(&box_a, name, 8, &items));
		assert_int_equal(files_in(&box_a), ++files);
	}
}

/*
 * A group with files in two inboxes flushes each inbox's file system with
 * one syncfs(2): when box_a's fails, its caller gets the error and its
 * file is gone, while box_b's caller is served.
 */
static void
test_failed_syncfs_fails_its_inbox_only(void **state)
{
	struct caller holder,
	    c[2] = { { .ib = &box_a, .set = &nums },
		    { .ib = &box_b, .set = &nums } };
	long files_a = files_in(&box_a) + 1; /* and the holder's */
	long files_b = files_in(&box_b);
	size_t items;

	(void)state;
	gate_hold(&holder, &nums);
	assert_int_equal(fsio_fail_arm("syncfs:1:EIO"), 0);
	/* box_a's caller first in the queue, so its file comes first */
	for (int i = 0; i < 2; i++) {
		snprintf(c[i].data, sizeof(c[i].data), "%d", 500 + i);
		assert_int_equal(
		    pthread_create(&c[i].thread, NULL, caller_run, &c[i]), 0);
		wait_queued((size_t)i + 1);
	}
	gate_release(&holder, 2);
	for (int i = 0; i < 2; i++)
		pthread_join(c[i].thread, NULL);
	assert_int_equal(c[0].rc, -1);
	assert_int_equal(c[0].err, EIO);
	assert_int_equal(files_in(&box_a), files_a);
	assert_int_equal(c[1].rc, 0);
	assert_true(holds(&box_b, c[1].name, 501, &items));
	assert_int_equal(files_in(&box_b), files_b + 1);
}

/* A set whose head says something of every item: a lone item is wrapped. */
static void
test_wrap_one_makes_a_set_of_one(void **state)
{
	static const struct group_commit_set marked = {
		.ext = "json",
		.head = "[",
		.sep = ",",
		.tail = "]",
		.max_items = 3,
		.max_bytes = 1 << 20,
		.wrap_one = true,
	};
	char name[INBOX_NAME_MAX + 1], path[512];
	json_t *doc;
	size_t items;

	(void)state;
	assert_int_equal(
	    group_commit_add(gc, &box_a, &marked, "41", 2, name, sizeof(name)),
	    0);
	snprintf(path, sizeof(path), "%s/%s", box_a.incoming, name);
	doc = json_load_file(path, JSON_DECODE_ANY, NULL);
	assert_true(json_is_array(doc));
	assert_int_equal(json_array_size(doc), 1);
	json_decref(doc);
	/* without it, a lone item is a file of its own, as before */
	assert_int_equal(
	    group_commit_add(gc, &box_a, &nums, "42", 2, name, sizeof(name)),
	    0);
	assert_true(holds(&box_a, name, 42, &items));
	snprintf(path, sizeof(path), "%s/%s", box_a.incoming, name);
	doc = json_load_file(path, JSON_DECODE_ANY, NULL);
	assert_true(json_is_integer(doc));
	json_decref(doc);
}

/* Items of one key share files; never with another key's, or none. */
static void
test_keyed_items_share_files_of_their_key_only(void **state)
{
	static const char *keys[] = { "s4a", "s4b", NULL };
	struct caller holder, c[6];
	char name[INBOX_NAME_MAX + 1];
	size_t items;

	(void)state;
	gate_hold(&holder, &nums);
	for (int i = 0; i < 6; i++) {
		c[i] = (struct caller){
			.ib = &box_a, .set = &nums, .key = keys[i % 3]
		};
		snprintf(c[i].data, sizeof(c[i].data), "%d", 700 + i);
		assert_int_equal(
		    pthread_create(&c[i].thread, NULL, caller_run, &c[i]), 0);
	}
	gate_release(&holder, 6);
	for (int i = 0; i < 6; i++)
		pthread_join(c[i].thread, NULL);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(c[i].rc, 0);
		assert_true(holds(&box_a, c[i].name, 700 + i, &items));
		assert_int_equal(items, 2); /* with the other of its key */
		if (keys[i % 3] != NULL) {
			char end[16];

			snprintf(end, sizeof(end), ".%s.json", keys[i % 3]);
			assert_string_equal(
			    c[i].name + strlen(c[i].name) - strlen(end), end);
		}
		assert_string_equal(c[i].name, c[(i + 3) % 6].name);
	}
	assert_string_not_equal(c[0].name, c[1].name);
	assert_string_not_equal(c[0].name, c[2].name);
	/* a key that cannot go into a name */
	assert_int_equal(group_commit_add_key(gc, &box_a, &nums, "a.b", "1", 1,
	                     name, sizeof(name)),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(group_commit_add_key(
	                     gc, &box_a, &nums, "", "1", 1, name, sizeof(name)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_threads_every_file_whole),
		cmocka_unit_test(test_added_items_share_files),
		cmocka_unit_test(test_failed_put_leaves_nothing),
		cmocka_unit_test(test_failed_step_fails_the_caller),
		cmocka_unit_test(test_failed_syncfs_fails_its_inbox_only),
		cmocka_unit_test(test_wrap_one_makes_a_set_of_one),
		cmocka_unit_test(
		    test_keyed_items_share_files_of_their_key_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
