/*
 * test_group_commit.c - many threads putting files into inboxes at once:
 * every put that returns 0 left its file whole in incoming/, every failed
 * put left nothing behind, and the committer served them in groups
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

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

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(data, sizeof(data), "%d", a->id * 1000 + i);
		if (group_commit_add(gc, &box_a, &nums, data, strlen(data),
		        a->names[i], sizeof(a->names[i])) == -1)
			a->failures++;
	}
	return NULL;
}

/* True if the file name in box_a holds the number v (alone or in a set). */
static bool
holds(const char *name, long v, size_t *items)
{
	char path[512];
	json_t *doc, *e;
	bool found = false;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", box_a.incoming, name);
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

static void
test_added_items_share_files(void **state)
{
	pthread_t t[THREADS];
	static struct adder a[THREADS];
	struct group_commit_stats before, after;
	struct inbox_backlog bl;

	(void)state;
	group_commit_stats(gc, &before);
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct adder){ .id = i };
		assert_int_equal(
		    pthread_create(&t[i], NULL, add_many, &a[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	for (int id = 0; id < THREADS; id++)
		for (int i = 0; i < PER_THREAD; i++) {
			size_t items = 0;

			assert_true(
			    holds(a[id].names[i], id * 1000 + i, &items));
			assert_in_range(items, 1, nums.max_items);
		}
	group_commit_stats(gc, &after);
	assert_int_equal(after.items - before.items, THREADS * PER_THREAD);
	assert_true(after.files - before.files <= THREADS * PER_THREAD);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_threads_every_file_whole),
		cmocka_unit_test(test_added_items_share_files),
		cmocka_unit_test(test_failed_put_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
