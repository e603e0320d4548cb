/*
 * fuzz_fsp_split.c - a file of fsp.box as the fallback status point's
 * forwarder takes it (roles/fsp/split.c, entry.c): its name, cut into the
 * names of the parts it is forwarded under (split_names), and its
 * document, checked as fwd_entry_parse does (statemsg_parse_file) and cut
 * between batches (split_count, split_take, split_doc, split_marked)
 *
 * The input is the file's name, a newline, and the file; the first byte
 * of the name, as a number, is the room in messages the throttle leaves.
 * Every cut must keep every message exactly once.
 */
#include "fsp/split.h"
#include "fuzz.h"
#include "statemsg.h"
#include "util/sjson.h"

static void
names(const char *name)
{
	struct split_names sn;

	if (split_names(name, &sn) == -1)
		return;
	FUZZ_ASSERT(strlen(sn.whole) <= INBOX_NAME_MAX);
	FUZZ_ASSERT(sn.part[0] == '\0' || strcmp(sn.part, sn.rest) != 0);
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

	if ((nl = memchr(s, '\n', size)) == NULL) {
		names(s);
		free(s);
		return 0;
	}
	*nl = '\0';
	names(s);
	doc =
	    sjson_parse(nl + 1, size - (size_t)(nl + 1 - s), why, sizeof(why));
	if (doc != NULL &&
	    statemsg_parse_file(doc, &bs, &n, why, sizeof(why)) == 0) {
		statemsg_free_all(bs, n);
		cut(doc, room);
	}
	json_decref(doc);
	free(s);
	return 0;
}
