/*
 * fuzz_sjson.c - sjson, the strict JSON reader every document goes
 * through: sjson_parse of the whole input, then the typed getters on the
 * members the formats use, and sjson_print of what was parsed
 */
#include "fuzz.h"
#include "util/sjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[256] = "";
	static const char *const keys[] = { "format", "client", "name", "n",
		"b", "a", NULL };
	const char *str;
	long long num;
	bool yes;
	json_t *doc, *arr;
	FILE *null;

	doc = sjson_parse(body, size, why, sizeof(why));
	free(body);
	if (doc == NULL) {
		FUZZ_ASSERT(fuzz_why_ok(why));
		return 0;
	}
	(void)sjson_format(doc, "sitesys.test/1", why, sizeof(why));
	for (int i = 0; keys[i] != NULL; i++) {
		(void)sjson_str(
		    doc, keys[i], 16, i % 2, &str, why, sizeof(why));
		(void)sjson_int(
		    doc, keys[i], -5, 1000, i % 2, &num, why, sizeof(why));
		(void)sjson_bool(doc, keys[i], i % 2, &yes, why, sizeof(why));
		(void)sjson_array(
		    doc, keys[i], 4, i % 2, &arr, why, sizeof(why));
	}
	if ((null = fopen("/dev/null", "w")) != NULL) {
		(void)sjson_print(null, doc);
		fclose(null);
	}
	json_decref(doc);
	return 0;
}
