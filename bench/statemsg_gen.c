/*
 * statemsg_gen - write state message files for the statesys benchmark:
 *   statemsg_gen INBOX_DIR NFILES BATCHES_PER_FILE MSGS_PER_BATCH NCLIENTS
 *       TSV [new|steady]
 * Each file is a sitesys.statemsg-set/1 of BATCHES_PER_FILE clients' batches
 * (as an MP's group commit coalesces them); clients take turns, serials
 * count up per client, the message of serial s is about topic s % 20. TSV
 * gets each message once, as the history keeps it, for the baselines.
 *
 * new (the default): the run gives each client fewer than 20 messages, so
 * every message is a topic new to its client. steady: what a site lives in
 * once clients have reported: a client's 21st message on update its known
 * topics, its 3rd and 13th batches come 4 batches late (after a newer
 * message of the same topics, which the late one must not overwrite), and
 * its 10th batch is sent twice (a duplicate the serials drop).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbox.h"
#include "util/buf.h"

#define TOPICS 20

/* steady: the order a client's batches go in, of each TOPICS */
static const int steady_order[TOPICS] = { 0, 1, 3, 4, 5, 6, 2, 7, 8, 9, 10, 11,
	13, 14, 15, 16, 12, 17, 18, 19 };
#define STEADY_REPEATED 9 /* the one sent twice */

/* The batch number k (from 0) of client: its messages and their rows. */
static void
add_batch(struct buf *b, FILE *tsv, long client, long k, int nmsgs)
{
	char guid[64];

	snprintf(guid, sizeof(guid), "GUID:%08lx-0000-4000-8000-%012lx",
	    client & 0xffffffffL, client & 0xffffffffffffL);
	buf_addf(b,
	    "{\"format\":\"sitesys.statemsg/1\",\"client\":\"%s\","
	    "\"messages\":[",
	    guid);
	for (int m = 0; m < nmsgs; m++) {
		long s = k * nmsgs + m + 1;
		int topic = (int)(s % TOPICS);

		buf_addf(b,
		    "%s{\"serial\":%ld,\"time\":\"2026-11-22T10:%02ld:%02ldZ\","
		    "\"topic\":{\"type\":500,\"id\":\"KB%05d\"},"
		    "\"state\":{\"id\":%ld}}",
		    m ? "," : "", s, s / 60 % 60, s % 60, topic, 1 + s % 3);
		if (tsv != NULL)
			fprintf(tsv,
			    "%s\t%ld\t2026-11-22T10:%02ld:%02ldZ\t500\tKB%"
			    "05d\t0\t%ld\t0\t\\N\t\\N\n",
			    guid, s, s / 60 % 60, s % 60, topic, 1 + s % 3);
	}
	buf_adds(b, "]}");
}

/*
 * The turn-th batch client sends: with steady, late and repeated ones
 * among them; how many batches that was (1 or 2).
 */
static int
add_turn(
    struct buf *b, FILE *tsv, long client, long turn, int nmsgs, bool steady)
{
	long k = turn;

	if (!steady) {
		add_batch(b, tsv, client, k, nmsgs);
		return 1;
	}
	k = turn - turn % TOPICS + steady_order[turn % TOPICS];
	add_batch(b, tsv, client, k, nmsgs);
	if (turn % TOPICS != STEADY_REPEATED)
		return 1;
	buf_addc(b, ',');
	add_batch(b, NULL, client, k, nmsgs);
	return 2;
}

int
main(int argc, char **argv)
{
	struct inbox ib;
	struct buf b = { 0 };
	char name[INBOX_NAME_MAX + 1];
	long nfiles, per_file, nclients, client = 0, *turns;
	int nmsgs;
	bool steady;
	FILE *tsv;

	if (argc != 7 && argc != 8) {
		fprintf(stderr,
		    "usage: statemsg_gen INBOX_DIR NFILES "
		    "BATCHES_PER_FILE MSGS_PER_BATCH NCLIENTS TSV "
		    "[new|steady]\n");
		return 2;
	}
	steady = argc == 8 && strcmp(argv[7], "steady") == 0;
	nfiles = atol(argv[2]);
	per_file = atol(argv[3]);
	nmsgs = atoi(argv[4]);
	nclients = atol(argv[5]);
	if ((turns = calloc((size_t)nclients, sizeof(*turns))) == NULL ||
	    (tsv = fopen(argv[6], "w")) == NULL ||
	    inbox_open(&ib, argv[1], "statsys.box", true) == -1) {
		perror("statemsg_gen");
		return 1;
	}
	for (long f = 0; f < nfiles; f++) {
		buf_reset(&b);
		buf_adds(
		    &b, "{\"format\":\"sitesys.statemsg-set/1\",\"batches\":[");
		for (long i = 0; i < per_file;) {
			if (i > 0)
				buf_addc(&b, ',');
			i += add_turn(
			    &b, tsv, client, turns[client]++, nmsgs, steady);
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
	free(turns);
	inbox_close(&ib);
	return 0;
}
