/*
 * test_inbox_watch.c - the watcher every inbox reader shares: incoming/
 * listed oldest first without hidden or overlong names, names taken one
 * by one and forgotten, a fresh file left to settle, a wait that sets
 * inotify up at once and is woken by a file; hostile entries (FIFO, link,
 * directory, names outside the protocol) refused without being opened,
 * and one that cannot be moved skipped and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* path of sub/name in the inbox, in a static buffer */
static const char *
at(const char *sub, const char *name)
{
	static char path[1024];
	char dir[512];

	assert_int_equal(fsio_join(dir, sizeof(dir), ib.path, sub), 0);
	assert_int_equal(fsio_join(path, sizeof(path), dir, name), 0);
	return path;
}

/* corrupt/name.why gives reason why */
static void
assert_why(const char *name, const char *why)
{
	char whyname[300], *text;
	size_t len;

	snprintf(whyname, sizeof(whyname), "%s.why", name);
	assert_int_equal(
	    fsio_read_file(at("corrupt", whyname), 4096, &text, &len), 0);
	if (strstr(text, why) == NULL)
		fail_msg("%s: no \"%s\" in:\n%s", whyname, why, text);
	free(text);
}

static void
test_hostile_entries_refused_unopened(void **state)
{
	struct inbox_watch w;
	struct stat st;

	(void)state;
	assert_int_equal(mkfifo(at("incoming", "1-fifo.smx"), 0644), 0);
	assert_int_equal(
	    symlink("/etc/passwd", at("incoming", "2-link.smx")), 0);
	assert_int_equal(mkdir(at("incoming", "3-dir.smx"), 0755), 0);
	touch("4 space.smx");
	touch("5-\xc3\xa9.smx");
	touch("6.smx");
	inbox_watch_init(&w, &ib, 5);
	assert_int_equal(inbox_watch_list(&w), 5);
	assert_string_equal(inbox_watch_next(&w), "6.smx");
	assert_null(inbox_watch_next(&w));
	assert_int_equal(inbox_watch_skipped(&w), 0);
	assert_why("1-fifo.smx", "reason: not a regular file but a FIFO");
	assert_why(
	    "2-link.smx", "reason: not a regular file but a symbolic link");
	assert_why("3-dir.smx", "reason: not a regular file but a directory");
	assert_why("4 space.smx", "reason: a name outside the protocol");
	assert_why("5-\xc3\xa9.smx", "reason: a name outside the protocol");
	assert_int_equal(lstat(at("corrupt", "1-fifo.smx"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	inbox_watch_free(&w);
}

static void
test_unmovable_entry_skipped_and_counted(void **state)
{
	struct inbox_watch w;

	(void)state;
	assert_int_equal(mkfifo(at("incoming", "1.smx"), 0644), 0);
	/* corrupt/1.smx is a directory with contents: the move fails */
	assert_int_equal(mkdir(at("corrupt", "1.smx"), 0755), 0);
	assert_int_equal(mkdir(at("corrupt", "1.smx/x"), 0755), 0);
	touch("2.smx");
	inbox_watch_init(&w, &ib, 5);
	assert_int_equal(inbox_watch_list(&w), 0);
	assert_int_equal(inbox_watch_skipped(&w), 1);
	assert_string_equal(inbox_watch_next(&w), "2.smx");
	assert_null(inbox_watch_next(&w));
	assert_int_equal(access(at("corrupt", "1.smx.why"), F_OK), -1);
	/* listed again: still skipped, not tried before its time */
	assert_int_equal(inbox_watch_list(&w), 0);
	assert_int_equal(inbox_watch_skipped(&w), 1);
	assert_string_equal(inbox_watch_next(&w), "2.smx");
	/* due again and movable now: moved, no longer skipped */
	w.skips[0].retry = 0;
	assert_int_equal(rmdir(at("corrupt", "1.smx/x")), 0);
	assert_int_equal(rmdir(at("corrupt", "1.smx")), 0);
	assert_int_equal(inbox_watch_list(&w), 1);
	assert_int_equal(inbox_watch_skipped(&w), 0);
	assert_why("1.smx", "reason: not a regular file but a FIFO");
	inbox_watch_free(&w);
}

static void
test_skipped_entry_gone_is_forgotten(void **state)
{
	struct inbox_watch w;

	(void)state;
	assert_int_equal(mkfifo(at("incoming", "1.smx"), 0644), 0);
	assert_int_equal(mkdir(at("corrupt", "1.smx"), 0755), 0);
	assert_int_equal(mkdir(at("corrupt", "1.smx/x"), 0755), 0);
	inbox_watch_init(&w, &ib, 5);
	assert_int_equal(inbox_watch_list(&w), 0);
	assert_int_equal(inbox_watch_skipped(&w), 1);
	assert_int_equal(unlink(at("incoming", "1.smx")), 0);
	assert_int_equal(inbox_watch_list(&w), 0);
	assert_int_equal(inbox_watch_skipped(&w), 0);
	inbox_watch_free(&w);
}

static void
test_entry_read_never_blocks_nor_follows(void **state)
{
	char why[256], *data;
	struct stat st;
	size_t len;

	(void)state;
	assert_int_equal(mkfifo(at("incoming", "f.smx"), 0644), 0);
	assert_int_equal(symlink("/etc/passwd", at("incoming", "l.smx")), 0);
	assert_int_equal(inbox_entry_read(AT_FDCWD, at("incoming", "f.smx"),
	                     &data, &len, &st, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "not a regular file but a FIFO");
	assert_int_equal(inbox_entry_read(AT_FDCWD, at("incoming", "l.smx"),
	                     &data, &len, &st, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "not a regular file but a symbolic link");
	assert_false(inbox_transient(errno));
	assert_int_equal(inbox_entry_read(AT_FDCWD, at("incoming", "none"),
	                     &data, &len, &st, why, sizeof(why)),
	    -1);
	assert_int_equal(errno, ENOENT);
	touch("r.smx");
	assert_int_equal(inbox_entry_read(AT_FDCWD, at("incoming", "r.smx"),
	                     &data, &len, &st, why, sizeof(why)),
	    0);
	assert_int_equal(len, 0);
	assert_true(S_ISREG(st.st_mode));
	free(data);
}

static void
test_why_of_a_name_too_long_for_it(void **state)
{
	char name[NAME_MAX + 1], whyname[NAME_MAX + 1];

	(void)state;
	memset(name, 'x', NAME_MAX);
	name[NAME_MAX] = '\0';
	touch(name);
	assert_int_equal(inbox_reject(&ib, name, "too long"), 0);
	snprintf(whyname, sizeof(whyname), "%.*s.why", NAME_MAX - 4, name);
	assert_int_equal(access(at("corrupt", name), F_OK), 0);
	assert_int_equal(access(at("corrupt", whyname), F_OK), 0);
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
		cmocka_unit_test_setup_teardown(
		    test_hostile_entries_refused_unopened, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unmovable_entry_skipped_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_skipped_entry_gone_is_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_entry_read_never_blocks_nor_follows, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_why_of_a_name_too_long_for_it, setup, teardown),
	};

	return cmocka_run_group_tests_name("inbox_watch", tests, NULL, NULL);
}
