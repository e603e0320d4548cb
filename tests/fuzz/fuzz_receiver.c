/*
 * fuzz_receiver.c - what sitesys-receiver takes from a PUT before it
 * writes anything: the inbox of its path, the role of its certificate and
 * the file name of its query (receiver_admits, receiver_name). The first
 * byte picks the inbox; the rest, up to a NUL, is the role, and after it
 * the query. A name accepted must be one a reader takes
 * (inbox_entry_refusal) with an extension of that inbox.
 */
#include <sys/stat.h>

#include "fuzz.h"
#include "inbox.h"
#include "receiver/receiver.h"

static const char *const boxes[] = { "statsys.box", "bgb.box", "fsp.box", "" };

/* Whether name ends with "." ext. */
static int
ends_with(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e + 1 && name[n - e - 1] == '.' &&
	    strcmp(name + n - e, ext) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[INBOX_NAME_MAX + 1], why[300];
	const char *box, *role, *query;
	char *s;

	if (size < 1)
		return 0;
	box = boxes[data[0] % 4];
	s = fuzz_str(data + 1, size - 1);
	role = s;
	query = s + strlen(s); /* the role's NUL, or the end */
	if (query < s + size - 1)
		query++;
	(void)receiver_admits(box, role);
	why[0] = '\0';
	if (receiver_name(box, query, name, sizeof(name), why, sizeof(why)) ==
	    0) {
		FUZZ_ASSERT(strcmp(box, "statsys.box") == 0 ||
		    strcmp(box, "bgb.box") == 0);
		FUZZ_ASSERT(inbox_entry_refusal(name, S_IFREG) == NULL);
		FUZZ_ASSERT(ends_with(name, "smx") || ends_with(name, "bos") ||
		    ends_with(name, "bts"));
		FUZZ_ASSERT(strchr(name, '/') == NULL);
	} else {
		FUZZ_ASSERT(why[0] != '\0');
	}
	free(s);
	return 0;
}
