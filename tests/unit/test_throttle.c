/* test_throttle.c - the fixed-window throttle and the split batch names */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsp/split.h"
#include "fsp/throttle.h"

#define LIMIT 5
#define IVAL 2000

static void
test_fresh_throttle_allows_the_limit(void **state)
{
	struct throttle t = { 0 };

	(void)state;
	assert_int_equal(throttle_left(&t, 1000000, LIMIT, IVAL), LIMIT);
	assert_int_equal(throttle_wait_ms(&t, 1000000, LIMIT, IVAL), 0);
}

static void
test_interval_fills_then_waits(void **state)
{
	struct throttle t = { 0 };

	(void)state;
	throttle_take(&t, 1000000, 3, IVAL);
	assert_int_equal(t.start_ms, 1000000);
	assert_int_equal(throttle_left(&t, 1000500, LIMIT, IVAL), 2);
	throttle_take(&t, 1000500, 2, IVAL);
	assert_int_equal(t.start_ms, 1000000); /* the same interval */
	assert_int_equal(throttle_left(&t, 1000600, LIMIT, IVAL), 0);
	assert_int_equal(throttle_wait_ms(&t, 1000600, LIMIT, IVAL), 1400);
	assert_int_equal(throttle_left(&t, 1001999, LIMIT, IVAL), 0);
	/* the next interval begins with the next take, not on a grid */
	assert_int_equal(throttle_left(&t, 1002000, LIMIT, IVAL), LIMIT);
	throttle_take(&t, 1002700, 4, IVAL);
	assert_int_equal(t.start_ms, 1002700);
	assert_int_equal(t.used, 4);
	assert_int_equal(throttle_left(&t, 1004600, LIMIT, IVAL), 1);
}

static void
test_clock_set_back_frees_nothing(void **state)
{
	struct throttle t = { 0 };

	(void)state;
	throttle_take(&t, 5000000, LIMIT, IVAL);
	/* an hour back: still full, and full for one interval, not an hour */
	assert_int_equal(throttle_left(&t, 1400000, LIMIT, IVAL), 0);
	assert_int_equal(t.start_ms, 1400000);
	assert_int_equal(throttle_wait_ms(&t, 1400000, LIMIT, IVAL), IVAL);
	assert_int_equal(throttle_left(&t, 1402000, LIMIT, IVAL), LIMIT);
}

static void
test_over_the_limit_waits(void **state)
{
	struct throttle t = { 0 };

	(void)state;
	/* a redo accounted after the limit was lowered */
	throttle_take(&t, 1000000, 9, IVAL);
	assert_int_equal(throttle_left(&t, 1000001, LIMIT, IVAL), 0);
	assert_int_equal(throttle_wait_ms(&t, 1000001, LIMIT, IVAL), 1999);
}

static void
test_names_of_an_original(void **state)
{
	struct split_names sn;

	(void)state;
	assert_int_equal(split_names("1795339800123456.fsp1.42.7.smx", &sn), 0);
	assert_int_equal(sn.done, 0);
	assert_string_equal(sn.whole, "1795339800123456.fsp1.42.7.smx");
	assert_string_equal(sn.part, "1795339800123456.fsp1.42.7.p1.smx");
	assert_string_equal(sn.rest, "1795339800123456.fsp1.42.7.r1.smx");
}

static void
test_names_of_a_rest(void **state)
{
	struct split_names sn;

	(void)state;
	assert_int_equal(
	    split_names("1795339800123456.fsp1.42.7.r9.smx", &sn), 0);
	assert_int_equal(sn.done, 9);
	/* a rest forwarded whole is the batch's last part */
	assert_string_equal(sn.whole, "1795339800123456.fsp1.42.7.p10.smx");
	assert_string_equal(sn.part, "1795339800123456.fsp1.42.7.p10.smx");
	assert_string_equal(sn.rest, "1795339800123456.fsp1.42.7.r10.smx");
}

static void
test_names_that_only_look_like_a_rest(void **state)
{
	struct split_names sn;

	(void)state;
	assert_int_equal(split_names("a.r05.smx", &sn), 0);
	assert_int_equal(sn.done, 0);
	assert_string_equal(sn.rest, "a.r05.r1.smx");
	assert_int_equal(split_names("a.xr5.smx", &sn), 0);
	assert_int_equal(sn.done, 0);
	assert_int_equal(split_names("r5.smx", &sn), 0);
	assert_int_equal(sn.done, 0);
	assert_string_equal(sn.part, "r5.p1.smx");
}

static void
test_names_refused(void **state)
{
	struct split_names sn;
	char longname[INBOX_NAME_MAX + 1];

	(void)state;
	assert_int_equal(split_names("noextension", &sn), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(split_names("trailingdot.", &sn), -1);
	memset(longname, 'a', sizeof(longname) - 5);
	memcpy(longname + sizeof(longname) - 5, ".smx", 5);
	assert_int_equal(split_names(longname, &sn), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_split_doc_keeps_the_other_members(void **state)
{
	json_t *doc = json_loads("{\"format\":\"f/1\",\"client\":\"c\","
	                         "\"messages\":[1,2,3,4,5],\"x\":true}",
	    0, NULL);
	json_t *part;
	char *text;

	(void)state;
	assert_non_null(doc);
	part = split_doc(doc, 1, 4);
	assert_non_null(part);
	text = json_dumps(part, JSON_COMPACT);
	assert_string_equal(text,
	    "{\"format\":\"f/1\",\"client\":\"c\","
	    "\"messages\":[2,3,4],\"x\":true}");
	free(text);
	json_decref(part);
	/* the original is untouched */
	assert_int_equal(json_array_size(json_object_get(doc, "messages")), 5);
	assert_null(split_doc(doc, 3, 6));
	assert_null(split_doc(doc, 4, 3));
	json_decref(doc);
}

static void
test_split_a_set_across_its_batches(void **state)
{
	json_t *set = json_loads("{\"format\":\"s/1\",\"batches\":["
	                         "{\"client\":\"a\",\"messages\":[1,2,3]},"
	                         "{\"client\":\"b\",\"messages\":[4]},"
	                         "{\"client\":\"c\",\"messages\":[5,6,7,8]}]}",
	    0, NULL);
	json_t *part;
	char *text;

	(void)state;
	assert_non_null(set);
	assert_int_equal(split_count(set), 8);
	/* messages 2..5: the end of a, all of b, the start of c */
	part = split_doc(set, 2, 5);
	text = json_dumps(part, JSON_COMPACT);
	assert_string_equal(text,
	    "{\"format\":\"s/1\",\"batches\":["
	    "{\"client\":\"a\",\"messages\":[3]},"
	    "{\"client\":\"b\",\"messages\":[4]},"
	    "{\"client\":\"c\",\"messages\":[5]}]}");
	free(text);
	json_decref(part);
	/* the first two only: the later batches are left out */
	part = split_doc(set, 0, 2);
	assert_int_equal(split_count(part), 2);
	assert_int_equal(json_array_size(json_object_get(part, "batches")), 1);
	json_decref(part);
	/* the rest after a split at 5 */
	part = split_doc(set, 5, 8);
	assert_int_equal(split_count(part), 3);
	assert_int_equal(json_array_size(json_object_get(part, "batches")), 1);
	json_decref(part);
	assert_null(split_doc(set, 5, 9));
	assert_null(split_doc(set, 5, 5));
	json_decref(set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_throttle_allows_the_limit),
		cmocka_unit_test(test_interval_fills_then_waits),
		cmocka_unit_test(test_clock_set_back_frees_nothing),
		cmocka_unit_test(test_over_the_limit_waits),
		cmocka_unit_test(test_names_of_an_original),
		cmocka_unit_test(test_names_of_a_rest),
		cmocka_unit_test(test_names_that_only_look_like_a_rest),
		cmocka_unit_test(test_names_refused),
		cmocka_unit_test(test_split_doc_keeps_the_other_members),
		cmocka_unit_test(test_split_a_set_across_its_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
