/*
 * fuzz_text.c - text from outside as sitectl shows and keeps it
 * (common/util/text.c): text_escape must leave nothing a terminal could
 * act on (no C0, DEL or C1 control, only well-formed UTF-8) and copy
 * clean text as it is; text_name_check accepts only what text_check does,
 * within its length
 */
#include "fuzz.h"
#include "util/buf.h"
#include "util/text.h"

/* Whether s (n bytes) is well-formed UTF-8 without a control character. */
static int
clean(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len, min;
		unsigned long cp;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct buf b = { 0 };
	const char *bad;
	size_t max = size > 0 ? data[0] : 0;

	text_escape(&b, s);
	FUZZ_ASSERT(b.p != NULL || strlen(s) == 0);
	if (b.p != NULL) {
		FUZZ_ASSERT(strlen(b.p) == b.len);
		FUZZ_ASSERT(clean((const unsigned char *)b.p, b.len));
		if (text_check(s) == NULL && strchr(s, '\\') == NULL)
			FUZZ_ASSERT(strcmp(b.p, s) == 0);
	}
	if ((bad = text_check(s)) == NULL)
		FUZZ_ASSERT(clean((const unsigned char *)s, strlen(s)));
	if (text_name_check(s, max) == NULL) {
		FUZZ_ASSERT(text_check(s) == NULL);
		FUZZ_ASSERT(strlen(s) >= 1 && strlen(s) <= max);
	}
	buf_free(&b);
	free(s);
	return 0;
}
