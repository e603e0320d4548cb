/*
 * fuzz_location_answer.c - the management point's answer to a location
 * request, sitesys.location-answer/1, as the agent checks it member by
 * member (agent/location.c location_parse)
 */
#include "agent/agent.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct location_answer la;

	if (location_parse(body, size, &la, why, sizeof(why)) == 0)
		location_answer_free(&la);
	else
		FUZZ_ASSERT(fuzz_why_ok(why));
	free(body);
	return 0;
}
