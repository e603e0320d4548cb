/* test_notify_frame.c - the frames of sitesys-notify(7): encoding, the
 * incremental decoder at every cut, each limit and each error, and the
 * table of actions */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "notify_action.h"
#include "notify_frame.h"
#include "util/buf.h"
#include "util/conf.h"

/* A frame of body (len bytes) with its length in front. */
static void
raw_frame(struct buf *b, const char *body, size_t len)
{
	unsigned char hdr[4] = { (unsigned char)(len >> 24),
		(unsigned char)(len >> 16), (unsigned char)(len >> 8),
		(unsigned char)len };

	buf_add(b, hdr, 4);
	buf_add(b, body, len);
}

/* Decode all of data at once: the result, the error in why. */
static int
decode_all(const char *data, size_t len, struct notify_frame *f, char *why,
    size_t whylen)
{
	struct notify_decoder d;
	size_t used;
	int rc;

	notify_decoder_init(&d);
	rc = notify_decode(&d, data, len, &used, f, why, whylen);
	notify_decoder_free(&d);
	return rc;
}

/* The error of one body, or "" if it decodes. */
static const char *
body_error(const char *body)
{
	static char why[512];
	struct buf b = { 0 };
	struct notify_frame f;
	int rc;

	why[0] = '\0';
	raw_frame(&b, body, strlen(body));
	rc = decode_all(b.p, b.len, &f, why, sizeof(why));
	if (rc == 1) {
		notify_frame_clear(&f);
		why[0] = '\0';
	}
	buf_free(&b);
	return why;
}

static void
test_round_trip_every_type(void **state)
{
	static const char *const docs[] = {
		"{\"type\":\"hello\",\"format\":\"sitesys.notify/1\","
		"\"server\":\"mp1.example\",\"keepalive\":900,\"grace\":120}",
		"{\"type\":\"task\",\"task\":123,\"action\":\"policy\","
		"\"expires\":\"2026-11-29T18:00:00Z\"}",
		"{\"type\":\"pong\"}",
		"{\"type\":\"reconnect\",\"after_ms\":12345}",
		"{\"type\":\"keepalive\"}",
		"{\"type\":\"received\",\"task\":123}",
		"{\"type\":\"result\",\"task\":123,\"status\":\"succeeded\","
		"\"exit\":0,\"output\":\"done\"}",
	};
	struct notify_decoder d;
	struct buf b = { 0 };
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *doc = json_loads(docs[i], 0, NULL);

		assert_non_null(doc);
		assert_int_equal(
		    notify_frame_encode(doc, &b, why, sizeof(why)), 0);
		json_decref(doc);
	}
	/* fed one byte at a time, every frame comes out whole, in order */
	notify_decoder_init(&d);
	for (size_t i = 0, k = 0; i < b.len; i++) {
		struct notify_frame f;
		size_t used;
		int rc =
		    notify_decode(&d, b.p + i, 1, &used, &f, why, sizeof(why));

		assert_int_not_equal(rc, -1);
		assert_int_equal(used, 1);
		if (rc == 1) {
			assert_int_equal(f.type, (enum notify_type)k);
			if (f.type == NOTIFY_HELLO) {
				assert_string_equal(f.server, "mp1.example");
				assert_int_equal(f.keepalive, 900);
				assert_int_equal(f.grace, 120);
			} else if (f.type == NOTIFY_TASK) {
				assert_int_equal(f.task, 123);
				assert_string_equal(f.action, "policy");
			} else if (f.type == NOTIFY_RESULT) {
				assert_true(f.has_exit);
				assert_string_equal(f.output, "done");
			} else if (f.type == NOTIFY_RECONNECT) {
				assert_int_equal(f.after_ms, 12345);
			}
			notify_frame_clear(&f);
			k++;
		}
	}
	assert_false(notify_decoder_pending(&d));
	notify_decoder_free(&d);
	buf_free(&b);
}

static void
test_two_frames_in_one_read(void **state)
{
	struct buf b = { 0 };
	struct notify_decoder d;
	struct notify_frame f;
	char why[256];
	size_t used;

	(void)state;
	raw_frame(&b, "{\"type\":\"keepalive\"}", 20);
	raw_frame(&b, "{\"type\":\"pong\"}", 15);
	notify_decoder_init(&d);
	assert_int_equal(
	    notify_decode(&d, b.p, b.len, &used, &f, why, sizeof(why)), 1);
	assert_int_equal(used, 24);
	assert_int_equal(f.type, NOTIFY_KEEPALIVE);
	notify_frame_clear(&f);
	assert_int_equal(notify_decode(&d, b.p + used, b.len - used, &used, &f,
	                     why, sizeof(why)),
	    1);
	assert_int_equal(f.type, NOTIFY_PONG);
	notify_frame_clear(&f);
	notify_decoder_free(&d);
	buf_free(&b);
}

static void
test_lengths(void **state)
{
	static const unsigned char zero[4] = { 0, 0, 0, 0 };
	static const unsigned char big[4] = { 0, 1, 0x11, 0x70 }; /* 70000 */
	static const unsigned char over[4] = { 0, 1, 0, 1 }; /* 65537 */
	struct notify_decoder d;
	struct notify_frame f;
	char why[256];
	size_t used;

	(void)state;
	assert_int_equal(
	    decode_all((const char *)zero, 4, &f, why, sizeof(why)), -1);
	assert_string_equal(why, "frame length 0");
	assert_int_equal(
	    decode_all((const char *)big, 4, &f, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "frame of 70000 bytes exceeds the limit of 65536");
	assert_int_equal(
	    decode_all((const char *)over, 4, &f, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "frame of 65537 bytes exceeds the limit of 65536");
	/* after an error the decoder takes nothing more */
	notify_decoder_init(&d);
	assert_int_equal(
	    notify_decode(&d, zero, 4, &used, &f, why, sizeof(why)), -1);
	assert_int_equal(
	    notify_decode(&d, "{}", 2, &used, &f, why, sizeof(why)), -1);
	notify_decoder_free(&d);
}

static void
test_largest_frame(void **state)
{
	struct buf b = { 0 }, out = { 0 };
	char *body = malloc(NOTIFY_MAX_FRAME + 1), why[256];
	const char *head = "{\"type\":\"keepalive\",\"pad\":\"";
	size_t hl = strlen(head);
	struct notify_frame f;
	json_t *doc;

	(void)state;
	assert_non_null(body);
	memcpy(body, head, hl);
	memset(body + hl, 'x', NOTIFY_MAX_FRAME - hl - 2);
	memcpy(body + NOTIFY_MAX_FRAME - 2, "\"}", 2);
	raw_frame(&b, body, NOTIFY_MAX_FRAME);
	assert_int_equal(decode_all(b.p, b.len, &f, why, sizeof(why)), 1);
	assert_int_equal(f.type, NOTIFY_KEEPALIVE);
	/* the encoder refuses what the decoder would: one byte more */
	json_object_set_new(f.doc, "pad2", json_string(""));
	assert_int_equal(
	    notify_frame_encode(f.doc, &out, why, sizeof(why)), -1);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(why, "exceeds the limit of 65536"));
	notify_frame_clear(&f);
	/* and an invalid frame is never encoded */
	doc = json_pack("{s:s}", "type", "task");
	assert_int_equal(notify_frame_encode(doc, &out, why, sizeof(why)), -1);
	assert_string_equal(why, "missing member \"task\"");
	json_decref(doc);
	free(body);
	buf_free(&b);
	buf_free(&out);
}

static void
test_errors(void **state)
{
	(void)state;
	assert_string_equal(body_error("[1]"),
	    "frame is not a JSON object: it is a JSON array");
	assert_non_null(strstr(body_error("{\"type\":"),
	    "frame is not a JSON object: invalid JSON"));
	assert_non_null(strstr(
	    body_error("{\"type\":\"pong\"} x"), "frame is not a JSON object"));
	assert_non_null(strstr(body_error("{\"type\":\"pong\",\"type\":\"x\"}"),
	    "frame is not a JSON object"));
	assert_non_null(strstr(body_error("{\"type\":\"a\\u0000b\"}"),
	    "frame is not a JSON object"));
	assert_string_equal(
	    body_error("{}"), "frame has no string member \"type\"");
	assert_string_equal(
	    body_error("{\"type\":7}"), "frame has no string member \"type\"");
	assert_string_equal(
	    body_error("{\"type\":\"x\"}"), "unknown frame type \"x\"");
	assert_string_equal(body_error("{\"type\":\"received\",\"task\":0}"),
	    "member \"task\" is 0, outside 1..9007199254740991");
	assert_string_equal(
	    body_error("{\"type\":\"received\",\"task\":\"1\"}"),
	    "member \"task\" is not an integer");
	assert_string_equal(body_error("{\"type\":\"task\",\"task\":1,"
	                               "\"action\":\"policy\","
	                               "\"expires\":\"tomorrow\"}"),
	    "member \"expires\" is not an RFC 3339 UTC time");
	assert_string_equal(body_error("{\"type\":\"task\",\"task\":1,"
	                               "\"action\":\"run-script\","
	                               "\"expires\":\"2026-11-29T18:00:00Z\"}"),
	    "a run-script task has no \"args\"");
	assert_string_equal(body_error("{\"type\":\"task\",\"task\":1,"
	                               "\"action\":\"run-script\","
	                               "\"expires\":\"2026-11-29T18:00:00Z\","
	                               "\"args\":{\"sha256\":\"AB\","
	                               "\"name\":\"a\",\"body\":\"b\"}}"),
	    "member \"sha256\" is not 64 lower-case hex digits");
	/* an action the client does not know is still a task */
	assert_string_equal(body_error("{\"type\":\"task\",\"task\":1,"
	                               "\"action\":\"dance\","
	                               "\"expires\":\"2026-11-29T18:00:00Z\"}"),
	    "");
	assert_string_equal(body_error("{\"type\":\"result\",\"task\":1,"
	                               "\"status\":\"unsupported\","
	                               "\"exit\":1}"),
	    "an unsupported result has an \"exit\"");
	assert_string_equal(body_error("{\"type\":\"result\",\"task\":1,"
	                               "\"status\":\"maybe\"}"),
	    "unknown result status \"maybe\"");
	assert_string_equal(body_error("{\"type\":\"hello\","
	                               "\"format\":\"sitesys.notify/2\","
	                               "\"server\":\"a\",\"keepalive\":1,"
	                               "\"grace\":0}"),
	    "format is \"sitesys.notify/2\", expected \"sitesys.notify/1\"");
	assert_string_equal(
	    body_error("{\"type\":\"reconnect\",\"after_ms\":-1}"),
	    "member \"after_ms\" is -1, outside 0..86400000");
}

static void
test_output_limit(void **state)
{
	char out[NOTIFY_MAX_OUTPUT + 2], why[256];
	struct buf b = { 0 };
	json_t *doc;

	(void)state;
	memset(out, 'o', sizeof(out) - 1);
	out[sizeof(out) - 1] = '\0';
	doc = json_pack("{s:s,s:i,s:s,s:i,s:s}", "type", "result", "task", 1,
	    "status", "failed", "exit", 1, "output", out);
	assert_int_equal(notify_frame_encode(doc, &b, why, sizeof(why)), -1);
	assert_string_equal(why,
	    "member \"output\" of 4097 bytes exceeds "
	    "the limit of 4096");
	json_object_set_new(doc, "output", json_string(out + 1));
	assert_int_equal(notify_frame_encode(doc, &b, why, sizeof(why)), 0);
	json_decref(doc);
	buf_free(&b);
}

static void
test_actions(void **state)
{
	char why[256];
	struct conf *cf = conf_load(NULL, why, sizeof(why));
	size_t n = 0;

	(void)state;
	assert_non_null(cf);
	assert_true(notify_action_valid("policy"));
	assert_true(notify_action_valid("run-script"));
	assert_true(notify_action_valid("next-sup"));
	assert_false(notify_action_valid("Policy"));
	assert_false(notify_action_valid(""));
	assert_false(notify_action_valid(NULL));
	for (const struct notify_action *a = notify_actions; a->name; a++) {
		n++;
		assert_ptr_equal(notify_action_find(a->name), a);
		/* each command's setting is in the table (conf_str aborts
		 * on one that is not), unset by default */
		if (a->run == NOTIFY_RUN_COMMAND)
			assert_string_equal(
			    conf_str(cf, "agent", a->setting), "");
	}
	assert_int_equal(n, 14);
	conf_free(cf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_two_frames_in_one_read),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_largest_frame),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_actions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
