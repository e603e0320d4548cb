/*
 * fuzz_notify_poll.c - the body of an HTTP fallback poll, as notifyd reads
 * what nginx passes it (poll_doc_parse): what it accepts must hold to its
 * promises, and a refusal must say why on one line
 */
#include "fuzz.h"
#include "notifyd/poll_doc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct poll_doc p;

	if (poll_doc_parse(body, size, &p, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(statemsg_valid_guid(p.client));
		FUZZ_ASSERT(p.nframes <= POLL_MAX_FRAMES);
		for (size_t i = 0; i < p.nframes; i++)
			FUZZ_ASSERT(p.frames[i].type == NOTIFY_KEEPALIVE ||
			    p.frames[i].type == NOTIFY_RECEIVED ||
			    p.frames[i].type == NOTIFY_RESULT);
		poll_doc_free(&p);
	} else /* a reason may quote the input: the log keeps it on one
		* line (text_escape_line), the answer is JSON */
		FUZZ_ASSERT(fuzz_why_ok(why));
	free(body);
	return 0;
}
