/*
 * fuzz_location_request.c - the body of POST /mp/v1/location,
 * sitesys.location/1, as the management point reads it: sjson_parse,
 * then loc_request_parse (common/location/location_json.c)
 */
#include "fuzz.h"
#include "location/location_json.h"
#include "util/sjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct loc_request req;
	const char *client;
	json_t *doc;

	doc = sjson_parse(body, size, why, sizeof(why));
	free(body);
	if (doc == NULL)
		return 0;
	if (loc_request_parse(doc, &req, &client, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(client != NULL);
		FUZZ_ASSERT(req.naddrs <= LOC_MAX_ADDRS);
		FUZZ_ASSERT(loc_role_name(req.role) != NULL);
	} else
		FUZZ_ASSERT(fuzz_why_ok(why));
	json_decref(doc);
	return 0;
}
