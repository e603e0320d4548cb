/*
 * test_inbox_watch.c - the watcher every inbox reader shares: incoming/
 * listed oldest first without hidden or overlong names, names taken one
 * by one and forgotten, a fresh file left to settle, and a wait that sets
 * inotify up at once and is woken by a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "inbox.h"
#include "util/fsio.h"

static char root[256];
static struct inbox ib;

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_inbox_watch.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	return inbox_open(&ib, root, "w.box", true);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	inbox_close(&ib);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Make incoming/name (empty). */
static void
touch(const char *name)
{
	char path[1024];
	FILE *fp;

	assert_int_equal(fsio_join(path, sizeof(path), ib.incoming, name), 0);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fclose(fp), 0);
}

static void
test_list_sorted_without_hidden_or_long(void **state)
{
	struct inbox_watch w;
	char longname[INBOX_NAME_MAX + 2];

	(void)state;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	touch("3.smx");
	touch("1.smx");
	touch(".hidden");
	touch("2.smx");
	touch(longname);
	inbox_watch_init(&w, &ib, 5);
	assert_false(inbox_watch_pending(&w));
	assert_int_equal(inbox_watch_list(&w), 1); /* the long one, moved */
	assert_true(inbox_watch_pending(&w));
	assert_string_equal(inbox_watch_next(&w), "1.smx");
	assert_string_equal(inbox_watch_next(&w), "2.smx");
	inbox_watch_forget(&w);
	assert_false(inbox_watch_pending(&w));
	assert_null(inbox_watch_next(&w));
	assert_int_equal(inbox_watch_list(&w), 0);
	assert_string_equal(inbox_watch_next(&w), "1.smx");
	assert_string_equal(inbox_watch_next(&w), "2.smx");
	assert_string_equal(inbox_watch_next(&w), "3.smx");
	assert_null(inbox_watch_next(&w));
	inbox_watch_free(&w);
}

static void
test_fresh_file_settles(void **state)
{
	struct inbox_watch w;

	(void)state;
	inbox_watch_init(&w, &ib, 5);
	assert_false(inbox_watch_settling(&w, time(NULL) - 60));
	assert_int_equal(w.settle_ms, 0);
	assert_true(inbox_watch_settling(&w, time(NULL)));
	assert_true(w.settle_ms > 0 && w.settle_ms <= 5000);
	/* a new listing forgets what settled in the last one */
	assert_int_equal(inbox_watch_list(&w), 0);
	assert_int_equal(w.settle_ms, 0);
	inbox_watch_free(&w);
}

static void
test_wait_starts_inotify_then_wakes_on_a_file(void **state)
{
	struct inbox_watch w;
	char ev[64];

	(void)state;
	inbox_watch_init(&w, &ib, 5);
	touch("1.smx");
	assert_int_equal(inbox_watch_list(&w), 0);
	/* the first wait only sets inotify up and forgets the listing */
	assert_int_equal(inbox_watch_wait(&w, 60000), 0);
	assert_true(w.fd != -1);
	assert_false(inbox_watch_pending(&w));
	/* a file arrives: the wait takes the event and returns */
	touch("2.smx");
	assert_int_equal(inbox_watch_wait(&w, 60000), 0);
	assert_int_equal(read(w.fd, ev, sizeof(ev)), -1);
	inbox_watch_free(&w);
	assert_int_equal(w.fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_list_sorted_without_hidden_or_long, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fresh_file_settles, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wait_starts_inotify_then_wakes_on_a_file, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("inbox_watch", tests, NULL, NULL);
}
