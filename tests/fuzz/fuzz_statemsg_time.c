/*
 * fuzz_statemsg_time.c - the strings of a state message that are parsed
 * by hand, not by jansson: a message's time (statemsg_parse_time, RFC
 * 3339 UTC) and a client id (statemsg_valid_guid, statemsg_guid_lower)
 */
#include <strings.h>

#include "fuzz.h"
#include "statemsg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), low[STATEMSG_GUID_LEN + 1];
	int64_t us;

	if (statemsg_parse_time(s, &us) == 0) {
		FUZZ_ASSERT(strlen(s) >= 20 && s[strlen(s) - 1] == 'Z');
		FUZZ_ASSERT(us >= 0); /* none before 1970 */
	}
	if (statemsg_valid_guid(s)) {
		FUZZ_ASSERT(strlen(s) == STATEMSG_GUID_LEN);
		statemsg_guid_lower(s, low);
		FUZZ_ASSERT(statemsg_valid_guid(low));
		FUZZ_ASSERT(strcasecmp(low, s) == 0);
	}
	free(s);
	return 0;
}
