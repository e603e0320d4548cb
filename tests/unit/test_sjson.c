/* test_sjson.c - strict, typed JSON access and its error messages */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/sjson.h"

static json_t *
parse(const char *text)
{
	char err[256];
	json_t *doc = sjson_parse(text, strlen(text), err, sizeof(err));

	assert_non_null(doc);
	return doc;
}

static void
test_parse_errors(void **state)
{
	char err[256];
	const char *bad = "{\n  \"a\": 1,\n  \"b\": }";

	(void)state;
	assert_null(sjson_parse(bad, strlen(bad), err, sizeof(err)));
	assert_non_null(strstr(err, "invalid JSON at line 3"));
	assert_null(sjson_parse("{\"a\":1,\"a\":2}", 13, err, sizeof(err)));
	assert_non_null(strstr(err, "duplicate"));
	assert_null(sjson_parse("{} {}", 5, err, sizeof(err)));
	/* a NUL inside a string could cut names and SQL values short */
	assert_null(sjson_parse("{\"a\":\"x\\u0000y\"}", 15, err, sizeof(err)));
}

static void
test_format(void **state)
{
	char err[256];
	json_t *ok = parse("{\"format\":\"sitesys.test/1\"}");
	json_t *other = parse("{\"format\":\"sitesys.test/2\"}");
	json_t *none = parse("{\"x\":1}");
	json_t *arr = parse("[1]");

	(void)state;
	assert_int_equal(
	    sjson_format(ok, "sitesys.test/1", err, sizeof(err)), 0);
	assert_int_equal(
	    sjson_format(other, "sitesys.test/1", err, sizeof(err)), -1);
	assert_string_equal(
	    err, "format is \"sitesys.test/2\", expected \"sitesys.test/1\"");
	assert_int_equal(
	    sjson_format(none, "sitesys.test/1", err, sizeof(err)), -1);
	assert_string_equal(err, "missing member \"format\"");
	assert_int_equal(
	    sjson_format(arr, "sitesys.test/1", err, sizeof(err)), -1);
	assert_string_equal(err, "document is not a JSON object");
	json_decref(ok);
	json_decref(other);
	json_decref(none);
	json_decref(arr);
}

static void
test_typed_members(void **state)
{
	json_t *doc = parse("{\"s\":\"abc\",\"n\":42,\"b\":true,\"a\":[1,2,3],"
	                    "\"e\":\"\"}");
	const char *s;
	long long n;
	json_t *a;
	bool b;
	char err[256];

	(void)state;
	assert_int_equal(sjson_str(doc, "s", 3, true, &s, err, sizeof(err)), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(
	    sjson_str(doc, "s", 2, true, &s, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "member \"s\" must be 1 to 2 bytes long, not 3");
	assert_int_equal(
	    sjson_str(doc, "e", 9, true, &s, err, sizeof(err)), -1);
	assert_int_equal(
	    sjson_str(doc, "n", 9, true, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "member \"n\" is not a string");
	assert_int_equal(
	    sjson_str(doc, "zz", 9, false, &s, err, sizeof(err)), 0);
	assert_null(s);
	assert_int_equal(
	    sjson_str(doc, "zz", 9, true, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "missing member \"zz\"");

	assert_int_equal(
	    sjson_int(doc, "n", 0, 100, true, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 42);
	assert_int_equal(
	    sjson_int(doc, "n", 0, 10, true, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "member \"n\" is 42, outside 0..10");
	assert_int_equal(
	    sjson_int(doc, "s", 0, 10, true, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "member \"s\" is not an integer");

	assert_int_equal(sjson_bool(doc, "b", true, &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(sjson_bool(doc, "n", true, &b, err, sizeof(err)), -1);

	assert_int_equal(
	    sjson_array(doc, "a", 3, true, &a, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(a), 3);
	assert_int_equal(
	    sjson_array(doc, "a", 2, true, &a, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "member \"a\" has 3 elements, more than the limit of 2");
	json_decref(doc);
}

/* A quoted string is JSON that reads back as the same string. */
static void
test_quote(void **state)
{
	static const char *const cases[] = { "", "plain", "a\"b", "back\\slash",
		"line\nbreak", "tab\there\x01\x1f",
		"caf\xc3\xa9 \xe2\x82\xac" };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf b = { 0 };
		json_t *doc;

		sjson_quote(&b, cases[i]);
		doc = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
		assert_non_null(doc);
		assert_string_equal(json_string_value(doc), cases[i]);
		json_decref(doc);
		buf_free(&b);
	}
	{
		struct buf b = { 0 };

		sjson_quote(&b, "x\"\\\n\x01");
		assert_string_equal(b.p, "\"x\\\"\\\\\\n\\u0001\"");
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_typed_members),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests_name("sjson", tests, NULL, NULL);
}
