/* test_statemsg.c - the state message batch: what is accepted, what not */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "statemsg.h"
#include "util/sjson.h"

static int
parse(const char *text, struct statemsg_batch *b, char *why, size_t len)
{
	json_t *doc = sjson_parse(text, strlen(text), why, len);
	int rc;

	assert_non_null(doc);
	rc = statemsg_parse(doc, b, why, len);
	json_decref(doc);
	return rc;
}

#define BATCH(client, msgs)                                                    \
	"{\"format\":\"sitesys.statemsg/1\",\"client\":\"" client              \
	"\",\"messages\":[" msgs "]}"
#define MSG(serial, time)                                                      \
	"{\"serial\":" serial ",\"time\":\"" time                              \
	"\",\"topic\":{\"type\":500,"                                          \
	"\"id\":\"KB1\"},\"state\":{\"id\":2},\"params\":[\"a\",\"b\"]}"
#define GUID "GUID:4f1c2a7e-9a8b-4c3d-8e2f-0a1b2c3d4e5f"

static void
test_good_batch(void **state)
{
	struct statemsg_batch b;
	char why[256];

	(void)state;
	assert_int_equal(
	    parse(BATCH(GUID, MSG("7", "2026-11-22T10:00:00.250Z")), &b, why,
	        sizeof(why)),
	    0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.msgs[0].serial, 7);
	assert_int_equal(b.msgs[0].topic_type, 500);
	assert_string_equal(b.msgs[0].topic_id, "KB1");
	assert_int_equal(b.msgs[0].state_id, 2);
	assert_int_equal(b.msgs[0].time_us % 1000000, 250000);
	assert_int_equal(json_array_size(b.msgs[0].params), 2);
	statemsg_free(&b);
}

static void
test_client_ids_in_lower_case(void **state)
{
	struct statemsg_batch b;
	char why[256];

	(void)state;
	assert_int_equal(
	    parse(BATCH("GUID:4F1C2A7E-9A8B-4C3D-8E2F-0A1B2C3D4E5F",
	              MSG("1", "2026-11-22T10:00:00Z")),
	        &b, why, sizeof(why)),
	    0);
	assert_string_equal(b.client, GUID);
	statemsg_free(&b);
	assert_int_equal(
	    parse(BATCH("GUID:4f1c2a7e", MSG("1", "2026-11-22T10:00:00Z")), &b,
	        why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "is not \"GUID:\" and a UUID"));
}

static void
test_times(void **state)
{
	static const char *const bad[] = { "2026-02-30T10:00:00Z",
		"2026-11-22T10:00:00", "2026-11-22 10:00:00Z",
		"2026-11-22T24:00:00Z", "2026-1-22T10:00:00Z",
		"2026-11-22T10:00:60Z", "yesterday", "2026-11-22T10:00:00.Z",
		"1969-12-31T23:59:59Z", "2026-11-22T10:00:00+01:00" };
	int64_t us;

	(void)state;
	assert_int_equal(statemsg_parse_time("1970-01-01T00:00:01Z", &us), 0);
	assert_int_equal(us, 1000000);
	assert_int_equal(statemsg_parse_time("2024-02-29T00:00:00Z", &us), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (statemsg_parse_time(bad[i], &us) == 0)
			fail_msg("accepted the time \"%s\"", bad[i]);
}

static void
test_limits_and_types(void **state)
{
	struct statemsg_batch b;
	char why[256];

	(void)state;
	assert_int_equal(parse(BATCH(GUID, MSG("0", "2026-11-22T10:00:00Z")),
	                     &b, why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "messages[0]: member \"serial\" is 0, outside 1..9007199254740991");
	assert_int_equal(
	    parse(BATCH(GUID, MSG("\"1\"", "2026-11-22T10:00:00Z")), &b, why,
	        sizeof(why)),
	    -1);
	assert_string_equal(
	    why, "messages[0]: member \"serial\" is not an integer");
	assert_int_equal(parse(BATCH(GUID, ""), &b, why, sizeof(why)), -1);
	assert_string_equal(why, "member \"messages\" is empty");
	assert_int_equal(
	    parse("{\"format\":\"sitesys.statemsg/2\"}", &b, why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "format is \"sitesys.statemsg/2\", expected "
	    "\"sitesys.statemsg/1\"");
}

static void
test_sets(void **state)
{
	const char *text =
	    "{\"format\":\"sitesys.statemsg-set/1\",\"batches\":[" BATCH(
	        GUID, MSG("1", "2026-11-22T10:00:00Z")) "," BATCH(GUID,
	        MSG("2", "2026-11-22T10:00:00Z")) "]}";
	struct statemsg_batch *bs;
	char why[256];
	size_t n;
	json_t *doc = sjson_parse(text, strlen(text), why, sizeof(why));

	(void)state;
	assert_int_equal(
	    statemsg_parse_file(doc, &bs, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bs[1].msgs[0].serial, 2);
	statemsg_free_all(bs, n);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_batch),
		cmocka_unit_test(test_client_ids_in_lower_case),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_limits_and_types),
		cmocka_unit_test(test_sets),
	};

	return cmocka_run_group_tests_name("statemsg", tests, NULL, NULL);
}
