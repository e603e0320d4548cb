/*
 * fuzz_fsp_split.c - a file of fsp.box as the fallback status point's
 * forwarder takes it (roles/fsp/split.c, entry.c): its name, cut into the
 * names of the parts it is forwarded under (split_names, split_names_at),
 * and its document, checked as fwd_entry_parse does (statemsg_parse_file)
 * and cut between batches (split_count, split_take, split_take_from,
 * split_count_from, split_doc, split_marked)
 *
 * The input is the file's name, a newline, and the file; the first byte
 * of the name, as a number, is the room in messages the throttle leaves,
 * the second the parts or batches already forwarded. Every cut must keep
 * every message exactly once.
 */
#include "fsp/split.h"
#include "fuzz.h"
#include "statemsg.h"
#include "util/sjson.h"

static void
names(const char *name, unsigned parts)
{
	struct split_names sn;

	if (split_names(name, &sn) == 0) {
		FUZZ_ASSERT(strlen(sn.whole) <= INBOX_NAME_MAX);
		FUZZ_ASSERT(
		    sn.part[0] == '\0' || strcmp(sn.part, sn.rest) != 0);
	}
	if (split_names_at(name, parts, &sn) == 0)
		FUZZ_ASSERT(strlen(sn.part) <= INBOX_NAME_MAX);
}

static void
cut_from(json_t *doc, size_t from, size_t room)
{
	size_t nb = split_batches(doc), k = 0, n;
	json_t *part;

	if (from > nb)
		from = nb;
	n = split_take_from(doc, from, room, room % 2, &k);
	FUZZ_ASSERT(n <= nb - from && k <= split_count_from(doc, from));
	FUZZ_ASSERT(split_count_from(doc, 0) == split_count(doc));
	if (n == 0)
		return;
	part = split_doc(doc, from, from + n);
	FUZZ_ASSERT(part != NULL && split_count(part) == k);
	json_decref(part);
}

static void
cut(json_t *doc, size_t room)
{
	size_t total = split_count(doc), nb = split_batches(doc), k = 0, n;
	json_t *head, *tail;

	(void)split_marked(doc);
	n = split_take(doc, room, room % 2, &k);
	FUZZ_ASSERT(n <= nb && k <= total);
	if (n == 0 || n == nb)
		return;
	head = split_doc(doc, 0, n);
	tail = split_doc(doc, n, nb);
	FUZZ_ASSERT(head != NULL && tail != NULL);
	FUZZ_ASSERT(split_count(head) == k);
	FUZZ_ASSERT(split_count(head) + split_count(tail) == total);
	FUZZ_ASSERT(split_marked(head) && split_marked(tail));
	json_decref(head);
	json_decref(tail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), *nl, why[512];
	struct statemsg_batch *bs;
	json_t *doc;
	size_t n, room = size > 0 ? data[0] : 0;
	unsigned parts = size > 1 ? data[1] : 0;

	if ((nl = memchr(s, '\n', size)) == NULL) {
		names(s, parts);
		free(s);
		return 0;
	}
	*nl = '\0';
	names(s, parts);
	doc =
	    sjson_parse(nl + 1, size - (size_t)(nl + 1 - s), why, sizeof(why));
	if (doc != NULL &&
	    statemsg_parse_file(doc, &bs, &n, why, sizeof(why)) == 0) {
		statemsg_free_all(bs, n);
		cut(doc, room);
		cut_from(doc, parts, room);
	}
	json_decref(doc);
	free(s);
	return 0;
}
