/*
 * inbox_bench - the inbox protocol's hot paths, each beside a baseline
 * measured in the same run on the same disk:
 *
 *   writer: inbox_put with one directory sync per batch of 64, against the
 *           naive protocol (fsync the file and the directory every time)
 *   reader: inbox_reader_batch with an in-memory ledger, against the least
 *           any reader must do (readdir, read, unlink)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"
#include "util/clock.h"
#include "util/fsio.h"
#include "util/log.h"

#define NFILES 2000
#define FILE_BYTES 1024
#define SYNC_BATCH 64

static char doc[FILE_BYTES + 1];

static void
make_doc(void)
{
	int n = snprintf(doc, sizeof(doc),
	    "{\"format\":\"sitesys.bench/1\","
	    "\"pad\":\"");

	memset(doc + n, 'x', FILE_BYTES - (size_t)n - 2);
	memcpy(doc + FILE_BYTES - 2, "\"}", 3);
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* The naive protocol: every file made durable on its own. */
static double
bench_write_baseline(struct inbox *ib)
{
	double t0 = clock_mono();

	for (int i = 0; i < NFILES; i++) {
		char tmp[512], dst[512];
		int fd;

		snprintf(tmp, sizeof(tmp), "%s/b%05d", ib->tmp, i);
		snprintf(dst, sizeof(dst), "%s/b%05d", ib->incoming, i);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1 ||
		    fsio_write_all(fd, doc, FILE_BYTES) == -1 ||
		    fsync(fd) == -1 || close(fd) == -1 ||
		    rename(tmp, dst) == -1 || fsio_sync_dir(ib->incoming) == -1)
			die("baseline write");
	}
	return NFILES / (clock_mono() - t0);
}

static double
bench_write_inbox(struct inbox *ib)
{
	char name[INBOX_NAME_MAX + 1];
	double t0 = clock_mono();

	for (int i = 0; i < NFILES; i++) {
		inbox_new_name("json", name, sizeof(name));
		if (inbox_put(ib, name, doc, FILE_BYTES) == -1)
			die("inbox_put");
		if ((i + 1) % SYNC_BATCH == 0 && inbox_sync(ib) == -1)
			die("inbox_sync");
	}
	if (inbox_sync(ib) == -1)
		die("inbox_sync");
	return NFILES / (clock_mono() - t0);
}

/* The least a reader does: list, read each file whole, unlink it. */
static double
bench_read_baseline(struct inbox *ib)
{
	double t0 = clock_mono();
	struct dirent *de;
	DIR *d = opendir(ib->incoming);
	long n = 0;

	if (d == NULL)
		die("opendir");
	while ((de = readdir(d)) != NULL) {
		char *data;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY);
		if (fd == -1 ||
		    fsio_read_fd(fd, INBOX_MAX_FILE, &data, &len) == -1)
			die("baseline read");
		close(fd);
		free(data);
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			die("unlink");
		n++;
	}
	closedir(d);
	return (double)n / (clock_mono() - t0);
}

static int
nop_txn(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
nop_rollback(void *ctx)
{
	(void)ctx;
}

static int
nop_items(void *ctx, const char *box, struct inbox_item *items, size_t n)
{
	(void)ctx;
	(void)box;
	(void)items;
	(void)n;
	return 0;
}

static int
nop_process(void *arg, struct inbox_item *items, size_t n)
{
	(void)arg;
	(void)items;
	(void)n;
	return 0;
}

static double
bench_read_inbox(struct inbox *ib)
{
	static const struct inbox_ledger ledger = { nop_txn, nop_items,
		nop_items, nop_txn, nop_rollback };
	struct inbox_reader r = { .ib = ib,
		.format = "sitesys.bench/1",
		.ledger = &ledger,
		.process = nop_process,
		.batch_files = 256 };
	double t0 = clock_mono();
	long n, total = 0;

	inbox_reader_init(&r);
	while ((n = inbox_reader_batch(&r)) > 0)
		total += n;
	inbox_reader_free(&r);
	if (total != NFILES)
		die("reader did not take every file");
	return (double)total / (clock_mono() - t0);
}

static void
report(const char *what, double ours, const char *base_what, double base)
{
	printf("%-34s %9.0f files/s   baseline (%s) %9.0f files/s   %.2fx\n",
	    what, ours, base_what, base, ours / base);
}

int
main(void)
{
	char root[] = "/var/tmp/sitesys-bench-XXXXXX", cmd[64];
	struct inbox a, b;
	double w_base, w_ours, r_base, r_ours;

	log_init("inbox_bench");
	log_set_level(LOG_LVL_ERROR);
	make_doc();
	if (mkdtemp(root) == NULL)
		die("mkdtemp");
	if (inbox_open(&a, root, "base.box", true) == -1 ||
	    inbox_open(&b, root, "ours.box", true) == -1)
		die("inbox_open");
	w_base = bench_write_baseline(&a);
	w_ours = bench_write_inbox(&b);
	r_base = bench_read_baseline(&a);
	r_ours = bench_read_inbox(&b);
	printf("inbox protocol, %d files of %d bytes, on %s\n", NFILES,
	    FILE_BYTES, root);
	report("writer, durable, dir sync per 64", w_ours,
	    "fsync file+dir each", w_base);
	report("reader, parse+check, 256/batch", r_ours, "readdir+read+unlink",
	    r_base);
	printf("at one file per client per 15 minutes, the writer keeps up "
	       "with %.0f clients, the reader with %.0f\n",
	    w_ours * 900, r_ours * 900);
	inbox_close(&a);
	inbox_close(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : 1;
}
