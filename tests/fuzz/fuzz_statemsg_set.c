/*
 * fuzz_statemsg_set.c - a statsys.box file as sitesys-statesys reads it:
 * one batch, or a set of batches ("sitesys.statemsg-set/1", as the MP's
 * group commit and the FSP's forwarder write it): sjson_parse, then
 * statemsg_parse_file
 */
#include "fuzz.h"
#include "statemsg.h"
#include "util/sjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct statemsg_batch *bs;
	json_t *doc;
	size_t n;

	doc = sjson_parse(body, size, why, sizeof(why));
	free(body);
	if (doc == NULL)
		return 0;
	if (statemsg_parse_file(doc, &bs, &n, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(n >= 1 && n <= STATEMSG_SET_MAX);
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(statemsg_valid_guid(bs[i].client));
		statemsg_free_all(bs, n);
	} else
		FUZZ_ASSERT(fuzz_why_ok(why));
	json_decref(doc);
	return 0;
}
