/*
 * statemsg_gen - write state message files for the statesys benchmark:
 *   statemsg_gen INBOX_DIR NFILES BATCHES_PER_FILE MSGS_PER_BATCH NCLIENTS TSV
 * Each file is a sitesys.statemsg-set/1 of BATCHES_PER_FILE clients' batches
 * (as an MP's group commit coalesces them); clients take turns, serials
 * count up per client. TSV gets the same rows for the COPY baseline.
 */
#include <stdio.h>
#include <stdlib.h>

#include "inbox.h"
#include "util/buf.h"

static void
add_batch(struct buf *b, FILE *tsv, long client, long *serial, int nmsgs)
{
	char guid[64];

	snprintf(guid, sizeof(guid), "GUID:%08lx-0000-4000-8000-%012lx",
	    client & 0xffffffffL, client & 0xffffffffffffL);
	buf_addf(b,
	    "{\"format\":\"sitesys.statemsg/1\",\"client\":\"%s\","
	    "\"messages\":[",
	    guid);
	for (int m = 0; m < nmsgs; m++) {
		long s = ++serial[client];
		int topic = (int)(s % 20);

		buf_addf(b,
		    "%s{\"serial\":%ld,\"time\":\"2026-11-22T10:%02ld:%02ldZ\","
		    "\"topic\":{\"type\":500,\"id\":\"KB%05d\"},"
		    "\"state\":{\"id\":%ld}}",
		    m ? "," : "", s, s / 60 % 60, s % 60, topic, 1 + s % 3);
		fprintf(tsv,
		    "%s\t%ld\t2026-11-22T10:%02ld:%02ldZ\t500\tKB%05d\t0\t%"
		    "ld\t0\t\\N\t\\N\n",
		    guid, s, s / 60 % 60, s % 60, topic, 1 + s % 3);
	}
	buf_adds(b, "]}");
}

int
main(int argc, char **argv)
{
	struct inbox ib;
	struct buf b = { 0 };
	char name[INBOX_NAME_MAX + 1];
	long nfiles, per_file, nclients, client = 0, *serial;
	int nmsgs;
	FILE *tsv;

	if (argc != 7) {
		fprintf(stderr,
		    "usage: statemsg_gen INBOX_DIR NFILES "
		    "BATCHES_PER_FILE MSGS_PER_BATCH NCLIENTS TSV\n");
		return 2;
	}
	nfiles = atol(argv[2]);
	per_file = atol(argv[3]);
	nmsgs = atoi(argv[4]);
	nclients = atol(argv[5]);
	if ((serial = calloc((size_t)nclients, sizeof(*serial))) == NULL ||
	    (tsv = fopen(argv[6], "w")) == NULL ||
	    inbox_open(&ib, argv[1], "statsys.box", true) == -1) {
		perror("statemsg_gen");
		return 1;
	}
	for (long f = 0; f < nfiles; f++) {
		buf_reset(&b);
		buf_adds(
		    &b, "{\"format\":\"sitesys.statemsg-set/1\",\"batches\":[");
		for (long i = 0; i < per_file; i++) {
			if (i > 0)
				buf_addc(&b, ',');
			add_batch(&b, tsv, client, serial, nmsgs);
			client = (client + 1) % nclients;
		}
		buf_adds(&b, "]}");
		inbox_new_name("smx", name, sizeof(name));
		if (inbox_put(&ib, name, b.p, b.len) == -1) {
			perror("inbox_put");
			return 1;
		}
	}
	if (inbox_sync(&ib) == -1 || fclose(tsv) == EOF) {
		perror("statemsg_gen");
		return 1;
	}
	buf_free(&b);
	free(serial);
	inbox_close(&ib);
	return 0;
}
