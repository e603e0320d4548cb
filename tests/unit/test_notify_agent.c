/* test_notify_agent.c - the agent's notification client: the back-off
 * (capped, fully jittered, the first retry too), the tasks it remembers
 * across restarts, and its result frames */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "util/buf.h"

static uint32_t last_n;

/* the largest draw: rnd returns n - 1 */
static uint32_t
rnd_max(void *ctx, uint32_t n)
{
	(void)ctx;
	last_n = n;
	return n - 1;
}

static void
test_backoff_bounds(void **state)
{
	(void)state;
	/* the first retry is drawn from [0, 1 s] too */
	assert_int_equal(notify_backoff_ms(0, 300000, rnd_max, NULL), 1000);
	assert_int_equal(notify_backoff_ms(1, 300000, rnd_max, NULL), 2000);
	assert_int_equal(notify_backoff_ms(5, 300000, rnd_max, NULL), 32000);
	/* capped, however many failures */
	assert_int_equal(notify_backoff_ms(9, 300000, rnd_max, NULL), 300000);
	assert_int_equal(notify_backoff_ms(63, 300000, rnd_max, NULL), 300000);
	assert_int_equal(
	    notify_backoff_ms(4000000000u, 5000, rnd_max, NULL), 5000);
	/* drawn from the whole range: 0 included */
	assert_int_equal(last_n, 5001);
	for (int i = 0; i < 1000; i++)
		assert_true(
		    notify_backoff_ms(3, 300000, fb_random, NULL) <= 8000);
}

static void
test_done_survives_a_restart(void **state)
{
	char dir[] = "/tmp/test_notify_agent.XXXXXX", why[256], path[300];
	struct notify_done d = { 0 }, e;
	struct notify_done_entry *x;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(notify_done_load(dir, &e, 1000, why, sizeof(why)), 0);
	assert_int_equal(e.n, 0);
	notify_done_add(&d, 7, 2000, 1000);
	x = notify_done_add(&d, 8, 1500, 1000);
	x->result = notify_result(8, "succeeded", true, 0, "ok", 2);
	x->sent = true;
	notify_done_add(&d, 9, 1100, 1000);
	assert_int_equal(notify_done_save(dir, &d), 0);
	notify_done_free(&d);
	/* later: 9 has expired and is forgotten, the others are kept */
	assert_int_equal(notify_done_load(dir, &e, 1200, why, sizeof(why)), 0);
	assert_int_equal(e.n, 2);
	assert_non_null(notify_done_find(&e, 7));
	assert_null(notify_done_find(&e, 9));
	x = notify_done_find(&e, 8);
	assert_non_null(x);
	assert_true(x->sent);
	assert_string_equal(
	    json_string_value(json_object_get(x->result, "output")), "ok");
	/* adding prunes what expired */
	notify_done_add(&e, 10, 3000, 1600);
	assert_int_equal(e.n, 2);
	assert_null(notify_done_find(&e, 8));
	notify_done_free(&e);
	/* a malformed file is refused with why */
	snprintf(path, sizeof(path), "%s/%s", dir, NOTIFY_DONE_FILE);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"format\":\"other/1\",\"done\":[]}", fp);
	fclose(fp);
	assert_int_equal(notify_done_load(dir, &e, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "format is \"other/1\""));
	unlink(path);
	rmdir(dir);
}

static void
test_result_frames(void **state)
{
	char bad[] = { 'a', (char)0xff, 'b', (char)0xc3, 0 };
	char big[NOTIFY_MAX_OUTPUT + 100];
	json_t *r;
	struct buf b = { 0 };

	(void)state;
	r = notify_result(3, "failed", true, 2, bad, 4);
	assert_string_equal(
	    json_string_value(json_object_get(r, "output")), "a?b?");
	assert_int_equal(json_integer_value(json_object_get(r, "exit")), 2);
	json_decref(r);
	memset(big, 'x', sizeof(big));
	r = notify_result(3, "succeeded", true, 0, big, sizeof(big));
	assert_int_equal(json_string_length(json_object_get(r, "output")),
	    NOTIFY_MAX_OUTPUT);
	{
		char why[256];

		assert_int_equal(
		    notify_frame_encode(r, &b, why, sizeof(why)), 0);
	}
	json_decref(r);
	r = notify_result(3, "unsupported", false, 0, "", 0);
	assert_null(json_object_get(r, "exit"));
	assert_null(json_object_get(r, "output"));
	json_decref(r);
	buf_free(&b);
}

static void
test_time(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(notify_time("1970-01-01T00:01:00Z", &t), 0);
	assert_int_equal(t, 60);
	assert_int_equal(notify_time("2026-11-29T18:00:00.123Z", &t), 0);
	assert_int_equal(notify_time("2026-11-29T18:00:00", &t), -1);
	assert_int_equal(notify_time("tomorrow", &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_done_survives_a_restart),
		cmocka_unit_test(test_result_frames),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
