/*
 * test_throttle.c - the fixed-window throttle, the split batch names, and
 * batch files cut only between their batches
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsp/source.h"
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
	assert_int_equal(throttle_wait_ms(&t, 1000000, 1, LIMIT, IVAL), 0);
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
	assert_int_equal(throttle_wait_ms(&t, 1000600, 1, LIMIT, IVAL), 1400);
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
	assert_int_equal(throttle_wait_ms(&t, 1400000, 1, LIMIT, IVAL), IVAL);
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
	assert_int_equal(throttle_wait_ms(&t, 1000001, 1, LIMIT, IVAL), 1999);
}

static void
test_a_batch_waits_for_room_for_all_of_it(void **state)
{
	struct throttle t = { 0 };

	(void)state;
	throttle_take(&t, 1000000, 3, IVAL);
	/* 2 left: a batch of 2 may go, one of 3 waits for the next interval */
	assert_int_equal(throttle_wait_ms(&t, 1000500, 2, LIMIT, IVAL), 0);
	assert_int_equal(throttle_wait_ms(&t, 1000500, 3, LIMIT, IVAL), 1500);
	/* larger than the limit: it waits for an interval of its own ... */
	assert_int_equal(throttle_wait_ms(&t, 1000500, 9, LIMIT, IVAL), 1500);
	/* ... and then goes, using it up */
	assert_int_equal(throttle_wait_ms(&t, 1002000, 9, LIMIT, IVAL), 0);
	throttle_take(&t, 1002000, 9, IVAL);
	assert_int_equal(throttle_left(&t, 1003999, LIMIT, IVAL), 0);
	assert_int_equal(throttle_wait_ms(&t, 1003000, 1, LIMIT, IVAL), 1000);
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

/* The compact text of doc, for comparing; freed by the caller. */
static char *
text_of(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	assert_non_null(text);
	return text;
}

static void
test_a_lone_batch_is_wrapped_and_marked(void **state)
{
	json_t *doc = json_loads("{\"format\":\"f/1\",\"client\":\"c\","
	                         "\"messages\":[1,2,3],\"signature\":\"s\"}",
	    0, NULL);
	json_t *set;
	char *text;
	size_t k;

	(void)state;
	assert_non_null(doc);
	assert_int_equal(split_batches(doc), 1);
	assert_int_equal(split_count(doc), 3);
	assert_false(split_marked(doc));
	/* it never goes in parts: all of it or, in an empty interval, alone */
	assert_int_equal(split_take(doc, 2, false, &k), 0);
	assert_int_equal(k, 3);
	assert_int_equal(split_take(doc, 2, true, &k), 1);
	assert_int_equal(k, 3);
	set = split_doc(doc, 0, 1);
	text = text_of(set);
	assert_string_equal(text,
	    "{\"format\":\"sitesys.statemsg-set/1\",\"via\":\"fsp\","
	    "\"batches\":[{\"format\":\"f/1\",\"client\":\"c\","
	    "\"messages\":[1,2,3],\"signature\":\"s\"}]}");
	assert_true(split_marked(set));
	free(text);
	json_decref(set);
	assert_null(split_doc(doc, 0, 2));
	assert_null(split_doc(doc, 1, 1));
	json_decref(doc);
}

static void
test_a_set_is_cut_between_its_batches(void **state)
{
	json_t *set = json_loads("{\"format\":\"s/1\",\"via\":\"fsp\","
	                         "\"batches\":["
	                         "{\"client\":\"a\",\"messages\":[1,2,3]},"
	                         "{\"client\":\"b\",\"messages\":[4]},"
	                         "{\"client\":\"c\",\"messages\":[5,6,7,8]}],"
	                         "\"x\":true}",
	    0, NULL);
	json_t *part;
	char *text;
	size_t k;

	(void)state;
	assert_non_null(set);
	assert_true(split_marked(set));
	assert_int_equal(split_batches(set), 3);
	assert_int_equal(split_count(set), 8);
	/* room for 5: a and b (4 messages); c would be cut, so it waits */
	assert_int_equal(split_take(set, 5, false, &k), 2);
	assert_int_equal(k, 4);
	assert_int_equal(split_take(set, 8, false, &k), 3);
	assert_int_equal(k, 8);
	assert_int_equal(split_take(set, 2, false, &k), 0);
	assert_int_equal(k, 3);
	assert_int_equal(split_take(set, 2, true, &k), 1);
	assert_int_equal(k, 3);
	/* the parts hold whole batches, and keep the set's other members */
	part = split_doc(set, 0, 2);
	text = text_of(part);
	assert_string_equal(text,
	    "{\"format\":\"s/1\",\"via\":\"fsp\",\"batches\":["
	    "{\"client\":\"a\",\"messages\":[1,2,3]},"
	    "{\"client\":\"b\",\"messages\":[4]}],\"x\":true}");
	free(text);
	json_decref(part);
	part = split_doc(set, 2, 3);
	assert_int_equal(split_count(part), 4);
	assert_int_equal(split_batches(part), 1);
	json_decref(part);
	/* the original is untouched */
	assert_int_equal(split_batches(set), 3);
	assert_null(split_doc(set, 2, 4));
	assert_null(split_doc(set, 2, 2));
	json_decref(set);
}

static void
test_an_unmarked_set_is_marked(void **state)
{
	json_t *set = json_loads("{\"format\":\"s/1\",\"batches\":["
	                         "{\"client\":\"a\",\"messages\":[1]}]}",
	    0, NULL);
	json_t *part;

	(void)state;
	assert_false(split_marked(set));
	part = split_doc(set, 0, 1);
	assert_true(split_marked(part));
	json_decref(part);
	json_object_set_new(set, "via", json_string("mp"));
	assert_false(split_marked(set));
	json_decref(set);
}

static void
test_a_set_is_taken_from_where_the_last_step_got(void **state)
{
	json_t *set = json_loads("{\"format\":\"s/1\",\"via\":\"fsp\","
	                         "\"batches\":["
	                         "{\"client\":\"a\",\"messages\":[1,2]},"
	                         "{\"client\":\"b\",\"messages\":[3]},"
	                         "{\"client\":\"c\",\"messages\":[4,5,6]}]}",
	    0, NULL);
	struct split_names sn;
	size_t k;

	(void)state;
	assert_int_equal(split_count_from(set, 1), 4);
	assert_int_equal(split_count_from(set, 3), 0);
	/* from b: b fits in 2, c does not */
	assert_int_equal(split_take_from(set, 1, 2, false, &k), 1);
	assert_int_equal(k, 1);
	assert_int_equal(split_take_from(set, 1, 4, false, &k), 2);
	assert_int_equal(k, 4);
	assert_int_equal(split_take_from(set, 2, 2, false, &k), 0);
	assert_int_equal(k, 3);
	assert_int_equal(split_take_from(set, 2, 2, true, &k), 1);
	assert_int_equal(k, 3);
	/* the parts are numbered on; a rest's on from its own number */
	assert_int_equal(split_names_at("1.h.2.3.s4c0a80001.smx", 2, &sn), 0);
	assert_string_equal(sn.part, "1.h.2.3.s4c0a80001.p3.smx");
	assert_string_equal(sn.whole, "1.h.2.3.s4c0a80001.p3.smx");
	assert_int_equal(split_names_at("1.h.2.3.r2.smx", 1, &sn), 0);
	assert_string_equal(sn.part, "1.h.2.3.p4.smx");
	assert_int_equal(split_names_at("1.h.2.3.smx", 0, &sn), 0);
	assert_string_equal(sn.whole, "1.h.2.3.smx");
	json_decref(set);
}

static void
test_a_source_is_a_client_address(void **state)
{
	char key[SOURCE_KEY_MAX + 1];

	(void)state;
	source_key("192.168.0.23", key, sizeof(key));
	assert_string_equal(key, "s4c0a80017");
	/* one end site, one /64 */
	source_key("2001:db8:1:2:3:4:5:6", key, sizeof(key));
	assert_string_equal(key,
	    "s6"
	    "20010db800010002");
	source_key("2001:db8:1:2::ffff", key, sizeof(key));
	assert_string_equal(key,
	    "s6"
	    "20010db800010002");
	source_key("unix:", key, sizeof(key));
	assert_string_equal(key, "s0");
	source_key(NULL, key, sizeof(key));
	assert_string_equal(key, "s0");
	/* and back from a spool file's name */
	source_of("1795.h.902.0.s4c0a80017.smx", key, sizeof(key));
	assert_string_equal(key, "s4c0a80017");
	source_of("1795.h.902.0.s6"
	          "20010db800010002.r3.smx",
	    key, sizeof(key));
	assert_string_equal(key,
	    "s6"
	    "20010db800010002");
	source_of("1795.h.902.0.s0.smx", key, sizeof(key));
	assert_string_equal(key, "s0");
	source_of("1795.h.902.0.smx", key, sizeof(key));
	assert_string_equal(key, "");
	source_of("1795.h.902.0.s4c0a8001.smx", key, sizeof(key));
	assert_string_equal(key, "");
	source_of("1795.h.902.0.s4C0A80017.smx", key, sizeof(key));
	assert_string_equal(key, "");
	source_of("s4c0a80017.smx", key, sizeof(key));
	assert_string_equal(key, "s4c0a80017");
	source_of("noext", key, sizeof(key));
	assert_string_equal(key, "");
}

static void
test_the_quota_caps_what_one_source_has_waiting(void **state)
{
	struct source_quota q;

	(void)state;
	quota_init(&q);
	quota_configure(&q, 8, 5, 2000);
	/* nothing waiting: taken, however large */
	assert_int_equal(quota_admit(&q, "s4a", 20), 0);
	assert_int_equal(quota_waiting(&q, "s4a"), 20);
	assert_true(quota_admit(&q, "s4a", 1) >= 1);
	assert_int_equal(quota_waiting(&q, "s4a"), 20);
	/* another source is not held by it */
	assert_int_equal(quota_admit(&q, "s4b", 3), 0);
	assert_int_equal(quota_admit(&q, "s4b", 5), 0);
	assert_true(quota_admit(&q, "s4b", 1) >= 1);
	/* 11 over the cap: what is left of the interval, and 2 more */
	quota_interval(&q, 0);
	assert_int_equal(quota_admit(&q, "s4b", 11), 2 + 2 * 2);
	quota_release(&q, "s4b", 8);
	assert_int_equal(quota_waiting(&q, "s4b"), 0);
	quota_release(&q, "s4b", 1);
	assert_int_equal(quota_waiting(&q, "s4b"), 0);
	assert_int_equal(quota_admit(&q, "s4b", 8), 0);
	/* 0: the cap is the throttle's limit */
	quota_configure(&q, 0, 5, 2000);
	assert_int_equal(q.max, 5);
	quota_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_throttle_allows_the_limit),
		cmocka_unit_test(test_interval_fills_then_waits),
		cmocka_unit_test(test_clock_set_back_frees_nothing),
		cmocka_unit_test(test_over_the_limit_waits),
		cmocka_unit_test(test_a_batch_waits_for_room_for_all_of_it),
		cmocka_unit_test(test_names_of_an_original),
		cmocka_unit_test(test_names_of_a_rest),
		cmocka_unit_test(test_names_that_only_look_like_a_rest),
		cmocka_unit_test(test_names_refused),
		cmocka_unit_test(test_a_lone_batch_is_wrapped_and_marked),
		cmocka_unit_test(test_a_set_is_cut_between_its_batches),
		cmocka_unit_test(test_an_unmarked_set_is_marked),
		cmocka_unit_test(
		    test_a_set_is_taken_from_where_the_last_step_got),
		cmocka_unit_test(test_a_source_is_a_client_address),
		cmocka_unit_test(
		    test_the_quota_caps_what_one_source_has_waiting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
