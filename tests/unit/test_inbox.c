/*
 * test_inbox.c - the inbox protocol: names, writer, reader, corrupt/,
 * recovery, backlog, and a crash between every step of writing and of
 * reading (a child process is killed at the step by a crash point; no
 * file may be lost and none processed twice).
 *
 * The ledger here is a file-backed stand-in for PostgreSQL: a transaction's
 * effects (processed names and ledger entries) become visible together by
 * one rename, as a COMMIT makes them visible together.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "crash_fixture.h"
#include "fail_fixture.h"
#include "inbox.h"
#include "util/fsio.h"

#define NFILES 10
#define MAXREC 4096

/* The stand-in database: what the committed state says. */
struct fakedb {
	char path[512];
	int n;
	char kind[MAXREC]; /* 'L' ledger entry, 'P' processed once */
	char name[MAXREC][INBOX_NAME_MAX + 1];
	int committed_n; /* records before the open transaction */
};

static char root[256];
static struct fakedb db;

static void
fakedb_load(struct fakedb *f)
{
	FILE *fp = fopen(f->path, "r");
	char line[INBOX_NAME_MAX + 8];

	f->n = 0;
	if (fp == NULL)
		return;
	while (f->n < MAXREC && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		f->kind[f->n] = line[0];
		snprintf(f->name[f->n], sizeof(f->name[0]), "%.200s", line + 2);
		f->n++;
	}
	fclose(fp);
}

static int
fake_begin(void *ctx)
{
	struct fakedb *f = ctx;

	fakedb_load(f);
	f->committed_n = f->n;
	return 0;
}

static int
fake_seen(void *ctx, const char *box, struct inbox_item *items, size_t n)
{
	struct fakedb *f = ctx;

	(void)box;
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < f->n; r++)
			if (f->kind[r] == 'L' &&
			    strcmp(f->name[r], items[i].name) == 0)
				items[i].seen = true;
	return 0;
}

static void
fake_add(struct fakedb *f, char kind, const char *name)
{
	assert_true(f->n < MAXREC);
	f->kind[f->n] = kind;
	snprintf(f->name[f->n], sizeof(f->name[0]), "%s", name);
	f->n++;
}

static int
fake_record(void *ctx, const char *box, struct inbox_item *items, size_t n)
{
	(void)box;
	for (size_t i = 0; i < n; i++)
		fake_add(ctx, 'L', items[i].name);
	return 0;
}

static int
fake_commit(void *ctx)
{
	struct fakedb *f = ctx;
	char tmp[600];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	for (int r = 0; r < f->n; r++)
		fprintf(fp, "%c %s\n", f->kind[r], f->name[r]);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, f->path), 0);
	return 0;
}

static void
fake_rollback(void *ctx)
{
	struct fakedb *f = ctx;

	f->n = f->committed_n;
}

static const struct inbox_ledger fake_ledger = {
	fake_begin,
	fake_seen,
	fake_record,
	fake_commit,
	fake_rollback,
};

static int
fake_process(void *arg, struct inbox_item *items, size_t n)
{
	(void)arg;
	for (size_t i = 0; i < n; i++)
		fake_add(&db, 'P', items[i].name);
	return 0;
}

/* Times name was processed in the committed state. */
static int
times_processed(const char *name)
{
	int count = 0;

	fakedb_load(&db);
	for (int r = 0; r < db.n; r++)
		if (db.kind[r] == 'P' && strcmp(db.name[r], name) == 0)
			count++;
	return count;
}

static void
reader_setup(struct inbox_reader *r, struct inbox *ib, size_t batch)
{
	memset(r, 0, sizeof(*r));
	r->ib = ib;
	r->format = "sitesys.test/1";
	r->ledger = &fake_ledger;
	r->ledger_ctx = &db;
	r->process = fake_process;
	r->batch_files = batch;
	r->settle_seconds = 5;
	inbox_reader_init(r);
}

/* Run a reader until nothing is ready; the files it disposed of. */
static long
drain(struct inbox *ib, size_t batch)
{
	struct inbox_reader r;
	long n, total = 0;
	int rounds = 0;

	reader_setup(&r, ib, batch);
	while ((n = inbox_reader_batch(&r)) > 0 && rounds++ < 1000)
		total += n;
	assert_true(n == 0);
	inbox_reader_free(&r);
	return total;
}

static long
count_files(const char *dir)
{
	struct inbox_backlog bl;

	assert_int_equal(inbox_backlog(dir, &bl), 0);
	return bl.files;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/sitesys-inbox-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(db.path, sizeof(db.path), "%s/fakedb", root);
	db.n = 0;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
put_doc(struct inbox *ib, const char *name)
{
	char doc[256];

	snprintf(doc, sizeof(doc),
	    "{\"format\":\"sitesys.test/1\",\"n\":\"%s\"}", name);
	assert_int_equal(inbox_put(ib, name, doc, strlen(doc)), 0);
}

static void
test_names_unique_and_sorted(void **state)
{
	struct inbox ib;
	char a[INBOX_NAME_MAX + 1], b[INBOX_NAME_MAX + 1];

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "t.box", true), 0);
	inbox_new_name("smx", a, sizeof(a));
	inbox_new_name("smx", b, sizeof(b));
	assert_true(strcmp(a, b) < 0);
	assert_true(inbox_valid_name(a));
	assert_non_null(strstr(a, ".smx"));
	assert_false(inbox_valid_name(".hidden"));
	assert_false(inbox_valid_name("a/b"));
	assert_false(inbox_valid_name(""));
	inbox_close(&ib);
	assert_int_equal(inbox_open(&ib, root, "../x", true), -1);
}

static void
test_put_and_drain(void **state)
{
	struct inbox ib;
	char dir[600];

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "t.box", true), 0);
	put_doc(&ib, "a.json");
	put_doc(&ib, "b.json");
	assert_int_equal(inbox_sync(&ib), 0);
	snprintf(dir, sizeof(dir), "%s/t.box", root);
	assert_int_equal(count_files(dir), 2);
	assert_int_equal(drain(&ib, 256), 2);
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(times_processed("a.json"), 1);
	assert_int_equal(times_processed("b.json"), 1);
	/* the same name again (a forwarder repeating itself): not reprocessed */
	put_doc(&ib, "a.json");
	assert_int_equal(drain(&ib, 256), 1);
	assert_int_equal(times_processed("a.json"), 1);
	assert_int_equal(count_files(dir), 0);
	inbox_close(&ib);
}

static void
write_raw(struct inbox *ib, const char *name, const char *text, time_t age)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", ib->incoming, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	if (age > 0) {
		struct timespec ts[2];

		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= age;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

static void
test_corrupt_goes_aside_with_why(void **state)
{
	struct inbox ib;
	char path[700], *why;
	size_t len;

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "t.box", true), 0);
	put_doc(&ib, "good.json");
	write_raw(&ib, "broken.json", "{\"format\":", 60);
	write_raw(
	    &ib, "wrongfmt.json", "{\"format\":\"other/1\\nreason: ok\"}", 60);
	write_raw(&ib, ".hidden", "junk", 60);
	char longname[230];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	write_raw(&ib, longname, "{}", 60);
	assert_int_equal(drain(&ib, 256), 3);
	assert_int_equal(times_processed("good.json"), 1);
	assert_int_equal(times_processed("broken.json"), 0);
	snprintf(path, sizeof(path), "%s/broken.json.why", ib.corrupt);
	assert_int_equal(fsio_read_file(path, 4096, &why, &len), 0);
	assert_non_null(strstr(why, "file: broken.json\nreason: invalid JSON"));
	free(why);
	snprintf(path, sizeof(path), "%s/wrongfmt.json.why", ib.corrupt);
	assert_int_equal(fsio_read_file(path, 4096, &why, &len), 0);
	/* what the reason quotes stays on its line: a format with a line
	 * break in it cannot add a line of its own to the .why */
	assert_non_null(strstr(why, "format is \"other/1\\x0areason: ok\""));
	assert_null(strstr(why, "\nreason: ok"));
	free(why);
	snprintf(path, sizeof(path), "%s/broken.json", ib.corrupt);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/%s.why", ib.corrupt, longname);
	assert_int_equal(fsio_read_file(path, 4096, &why, &len), 0);
	assert_non_null(strstr(why, "reason: name longer than the limit"));
	free(why);
	/* hidden files are not inbox files: left alone */
	snprintf(path, sizeof(path), "%s/.hidden", ib.incoming);
	assert_int_equal(access(path, F_OK), 0);
	inbox_close(&ib);
}

/* A file being copied in by hand: unparsable but fresh, so it waits. */
static void
test_unsettled_file_waits(void **state)
{
	struct inbox_reader r;
	struct inbox ib;
	char path[700];

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "t.box", true), 0);
	write_raw(&ib, "copying.json", "{\"format\":\"sitesys.te", 0);
	reader_setup(&r, &ib, 256);
	assert_int_equal(inbox_reader_batch(&r), 0);
	assert_true(r.watch.settle_ms > 0 && r.watch.settle_ms <= 5000);
	inbox_reader_free(&r);
	snprintf(path, sizeof(path), "%s/copying.json", ib.incoming);
	assert_int_equal(access(path, F_OK), 0);
	/* the copy finishes: processed */
	write_raw(&ib, "copying.json", "{\"format\":\"sitesys.test/1\"}", 0);
	assert_int_equal(drain(&ib, 256), 1);
	assert_int_equal(times_processed("copying.json"), 1);
	inbox_close(&ib);
}

/* A file whose time is ahead of ours (another host's clock, or a file
 * system's time a second past time()) waits no longer than a new one. */
static void
test_future_file_waits_no_longer(void **state)
{
	struct inbox_reader r;
	struct inbox ib;
	struct timespec ts[2];
	char path[700];

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "f.box", true), 0);
	write_raw(&ib, "ahead.json", "{\"format\":\"sitesys.te", 0);
	snprintf(path, sizeof(path), "%s/ahead.json", ib.incoming);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += 30;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	reader_setup(&r, &ib, 256);
	assert_int_equal(inbox_reader_batch(&r), 0);
	assert_true(r.watch.settle_ms > 0 && r.watch.settle_ms <= 5000);
	inbox_reader_free(&r);
	assert_int_equal(access(path, F_OK), 0);
	inbox_close(&ib);
}

static void
test_recover_purges_stale_tmp(void **state)
{
	struct inbox ib;
	char path[700];
	FILE *fp;

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "t.box", true), 0);
	snprintf(path, sizeof(path), "%s/old", ib.tmp);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	struct timespec ts[2] = { { time(NULL) - 7200, 0 },
		{ time(NULL) - 7200, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	snprintf(path, sizeof(path), "%s/new", ib.tmp);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_int_equal(inbox_recover(&ib, 3600), 1);
	assert_int_equal(access(path, F_OK), 0); /* a writer may own it */
	inbox_close(&ib);
}

static void
test_backlog_figures(void **state)
{
	struct inbox_backlog bl;
	struct inbox ib;
	char name[INBOX_NAME_MAX + 1];

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "t.box", true), 0);
	assert_int_equal(inbox_backlog(ib.path, &bl), 0);
	assert_int_equal(bl.files, 0);
	assert_true(bl.oldest_age == 0);
	inbox_new_name("json", name, sizeof(name));
	put_doc(&ib, name);
	write_raw(&ib, "byhand.json", "{}", 300); /* age from its mtime */
	assert_int_equal(inbox_backlog(ib.path, &bl), 0);
	assert_int_equal(bl.files, 2);
	assert_true(bl.oldest_age >= 299 && bl.oldest_age < 400);
	inbox_close(&ib);
	/* a path that "/incoming" would make too long */
	char longpath[4096];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	longpath[0] = '/';
	assert_int_equal(inbox_backlog(longpath, &bl), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

/* --- failing system calls --------------------------------------------- */

/*
 * A write, fsync or rename that fails makes inbox_put fail with its errno
 * and leave nothing in tmp/ or incoming/; a failed flush of incoming/
 * makes inbox_sync fail, and the next inbox_sync flushes it.
 */
static void
test_failed_put_leaves_nothing(void **state)
{
	static const struct fail_case fails[] = { { "write:1:ENOSPC", ENOSPC },
		{ "fsync:1:EIO", EIO }, { "rename:1:EIO", EIO } };
	struct inbox_backlog bl;
	struct inbox ib;
	const char *doc = "{\"format\":\"sitesys.test/1\"}";

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "f.box", true), 0);
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		assert_int_equal(fsio_fail_arm(fails[i].spec), 0);
		errno = 0;
		assert_int_equal(
		    inbox_put(&ib, "x.json", doc, strlen(doc)), -1);
		assert_int_equal(errno, fails[i].err);
		assert_int_equal(inbox_backlog(ib.path, &bl), 0);
		assert_int_equal(bl.files, 0);
		assert_int_equal(bl.tmp, 0);
	}
	put_doc(&ib, "y.json");
	assert_int_equal(fsio_fail_arm("fsync:1:EIO"), 0);
	assert_int_equal(inbox_sync(&ib), -1);
	assert_int_equal(errno, EIO);
	assert_true(ib.dirty);
	assert_int_equal(inbox_sync(&ib), 0);
	assert_false(ib.dirty);
	assert_int_equal(fsio_fail_arm(NULL), 0);
	inbox_close(&ib);
}

/* --- crashes ---------------------------------------------------------- */

static void
child_drain(void *ib)
{
	drain(ib, 3);
}

static const char *const reader_points[] = { "batch.listed", "batch.parsed",
	"batch.begun", "batch.processed", "batch.recorded", "batch.committed",
	"batch.unlinked_one", "batch.unlinked", NULL };

/* Killed at every step of reading, at the 1st and 2nd batch: exactly once. */
static void
test_crash_while_reading(void **state)
{
	(void)state;
	for (int p = 0; reader_points[p] != NULL; p++) {
		for (int nth = 1; nth <= 2; nth++) {
			struct inbox ib;
			char name[64], box[32];

			snprintf(box, sizeof(box), "r%d-%d.box", p, nth);
			assert_int_equal(inbox_open(&ib, root, box, true), 0);
			for (int i = 0; i < NFILES; i++) {
				snprintf(name, sizeof(name), "%s.f%02d.json",
				    box, i);
				put_doc(&ib, name);
			}
			assert_int_equal(inbox_sync(&ib), 0);
			crash_child(reader_points[p], nth, child_drain, &ib);
			drain(&ib, 3);
			assert_int_equal(count_files(ib.path), 0);
			for (int i = 0; i < NFILES; i++) {
				snprintf(name, sizeof(name), "%s.f%02d.json",
				    box, i);
				if (times_processed(name) != 1)
					fail_msg(
					    "%s processed %d times after a "
					    "crash at %s #%d",
					    name, times_processed(name),
					    reader_points[p], nth);
			}
			inbox_close(&ib);
		}
	}
}

/* The producer: puts w0..w4, logging each name once put and synced. */
static void
child_write(void *arg)
{
	struct inbox *ib = arg;
	char acked[600], name[64];

	snprintf(acked, sizeof(acked), "%s/acked", ib->path);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "%s.w%d.json", ib->name, i);
		put_doc(ib, name);
		assert_int_equal(inbox_sync(ib), 0);
		FILE *fp = fopen(acked, "a");
		fprintf(fp, "%s\n", name);
		fclose(fp);
	}
}

static const char *const writer_points[] = { "put.created", "put.written",
	"put.synced", "put.closed", "put.renamed", "sync.done", NULL };

/*
 * Killed at every step of writing the 3rd file: no acknowledged file is
 * lost, no half file is ever read, and a producer that resends what it had
 * not seen acknowledged, under the same names, gets each counted once.
 */
static void
test_crash_while_writing(void **state)
{
	(void)state;
	for (int p = 0; writer_points[p] != NULL; p++) {
		struct inbox ib;
		char box[32], name[64];

		snprintf(box, sizeof(box), "w%d.box", p);
		assert_int_equal(inbox_open(&ib, root, box, true), 0);
		crash_child(writer_points[p], 3, child_write, &ib);
		assert_true(inbox_recover(&ib, 0) >= 0); /* start-up */
		drain(&ib, 2);
		for (int i = 0; i < 2; i++) {
			snprintf(name, sizeof(name), "%s.w%d.json", box, i);
			assert_int_equal(times_processed(name), 1);
		}
		/* w2 is either wholly there (renamed) or not at all */
		snprintf(name, sizeof(name), "%s.w2.json", box);
		int before = times_processed(name);
		bool renamed = p >= 4;
		assert_int_equal(before, renamed ? 1 : 0);
		/* the producer resends the unacknowledged ones */
		for (int i = 2; i < 5; i++) {
			snprintf(name, sizeof(name), "%s.w%d.json", box, i);
			put_doc(&ib, name);
		}
		assert_int_equal(inbox_sync(&ib), 0);
		drain(&ib, 2);
		for (int i = 0; i < 5; i++) {
			snprintf(name, sizeof(name), "%s.w%d.json", box, i);
			if (times_processed(name) != 1)
				fail_msg("%s processed %d times after a crash "
				         "at %s",
				    name, times_processed(name),
				    writer_points[p]);
		}
		struct inbox_backlog bl;
		assert_int_equal(inbox_backlog(ib.path, &bl), 0);
		assert_int_equal(bl.files, 0);
		assert_int_equal(bl.tmp, 0);
		inbox_close(&ib);
	}
}

static void
child_reject(void *ib)
{
	drain(ib, 256);
}

/* Killed between writing the .why and moving the file: still rejected. */
static void
test_crash_while_rejecting(void **state)
{
	struct inbox ib;
	char path[700];

	(void)state;
	assert_int_equal(inbox_open(&ib, root, "c.box", true), 0);
	write_raw(&ib, "bad.json", "not json", 60);
	crash_child("reject.why", 1, child_reject, &ib);
	assert_int_equal(drain(&ib, 256), 1);
	snprintf(path, sizeof(path), "%s/bad.json", ib.corrupt);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/bad.json.why", ib.corrupt);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(count_files(ib.path), 0);
	inbox_close(&ib);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_names_unique_and_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_put_and_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_corrupt_goes_aside_with_why, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unsettled_file_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_future_file_waits_no_longer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_recover_purges_stale_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_backlog_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_put_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_while_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_while_rejecting, setup, teardown),
	};

	return cmocka_run_group_tests_name("inbox", tests, NULL, NULL);
}
