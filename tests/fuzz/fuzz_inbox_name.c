/*
 * fuzz_inbox_name.c - the names of the inbox protocol,
 * sitesys-inbox(5): inbox_valid_name, which every inbox reader and
 * "sitectl inbox" apply to the names they find; what it accepts is
 * checked against the rule it states
 */
#include "fuzz.h"
#include "inbox.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);

	if (inbox_valid_name(s)) {
		size_t n = strlen(s);

		FUZZ_ASSERT(n >= 1 && n <= INBOX_NAME_MAX);
		FUZZ_ASSERT(s[0] != '.');
		FUZZ_ASSERT(
		    strspn(s,
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "abcdefghijklmnopqrstuvwxyz0123456789._-") == n);
	}
	free(s);
	return 0;
}
