/*
 * fuzz_statemsg.c - a state message batch, sitesys-statemsg(5), as the MP
 * and the FSP take it from a client (intake.c): sjson_parse, then
 * statemsg_parse; of a batch it accepts, statemsg_signed_text (what a
 * signature is over) and the fields it promises
 */
#include "fuzz.h"
#include "statemsg.h"
#include "util/sjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct statemsg_batch b;
	json_t *doc;

	doc = sjson_parse(body, size, why, sizeof(why));
	free(body);
	if (doc == NULL) {
		FUZZ_ASSERT(fuzz_why_ok(why));
		return 0;
	}
	if (statemsg_parse(doc, &b, why, sizeof(why)) == 0) {
		char *text = statemsg_signed_text(doc);

		FUZZ_ASSERT(text != NULL);
		free(text);
		FUZZ_ASSERT(statemsg_valid_guid(b.client));
		FUZZ_ASSERT(b.n >= 1 && b.n <= STATEMSG_MAX_MESSAGES);
		for (size_t i = 0; i < b.n; i++) {
			FUZZ_ASSERT(b.msgs[i].serial >= 0 &&
			    b.msgs[i].serial <= STATEMSG_MAX_SERIAL);
			FUZZ_ASSERT(strlen(b.msgs[i].topic_id) <=
			    STATEMSG_MAX_TOPIC_ID);
		}
		statemsg_free(&b);
	} else
		FUZZ_ASSERT(fuzz_why_ok(why));
	json_decref(doc);
	return 0;
}
