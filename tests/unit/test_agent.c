/*
 * test_agent.c - sitesys-agent's own logic: message arguments, identity,
 * serial numbers, the outbox and the cache, the resync batch, sending with
 * fallback, the policy; and a crash (a child killed by a crash point)
 * between every two steps of raising, answering a resync and sending: no
 * serial is ever used twice and nothing reported raised is lost.
 *
 * The agent's files are included whole (they are not in libsitesys); the
 * HTTP client is a fake, so no libcurl and no network.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "crash_fixture.h"
#include "util/log.h"
#include "util/sjson.h"

static char dir[256];

/* A fresh state directory for each test (tmpfs when there is one). */
static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_agent.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	strcat(dir, "/state");
	return 0;
}

static int
teardown_dir(void **state)
{
	char cmd[600];

	(void)state;
	*strrchr(dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A message for topic (type, id) in state s, built as "state" builds it. */
static json_t *
make_msg(const char *type, const char *id, const char *s)
{
	struct msg_args a = { .topic_type = type, .topic_id = id, .state = s };
	char why[256];
	json_t *m = msg_build(&a, why, sizeof(why));

	if (m == NULL)
		fail_msg("msg_build: %s", why);
	return m;
}

/* Raise one message; its serial. */
static long long
raise_one(struct store *st, const char *type, const char *id, const char *s)
{
	json_t *m = make_msg(type, id, s);
	long long serial = 0;

	assert_int_equal(store_raise(st, m, &serial), 0);
	json_decref(m);
	return serial;
}

/* Every message in the outbox, in file order, as one array. */
static json_t *
outbox_msgs(struct store *st)
{
	struct outbox_file *files;
	size_t n;
	json_t *all = json_array();

	assert_int_equal(store_outbox_list(st, &files, &n), 0);
	for (size_t i = 0; i < n; i++)
		json_array_extend(all, files[i].msgs);
	store_outbox_free(files, n);
	return all;
}

static long long
serial_of(const json_t *m)
{
	return json_integer_value(json_object_get(m, "serial"));
}

static void
test_msg_args(void **state)
{
	struct msg_args a = {
		.topic_type = "500", .topic_id = "KB1", .state = "2"
	};
	char why[256], big[STATEMSG_MAX_DETAILS + 2];
	json_t *m;

	(void)state;
	m = msg_build(&a, why, sizeof(why));
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(m, "topic"), "id_type")),
	    0);
	json_decref(m);
	a.topic_type = "65536";
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(
	    why, "--topic-type: 65536 is out of range (0..65535)");
	a.topic_type = "5x";
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(why, "--topic-type: \"5x\" is not a whole number");
	a.topic_type = "500";
	a.topic_id = "";
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(
	    why, "--topic-id must be 1 to 256 bytes long, not 0");
	a.topic_id = "\xff\xfe";
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(why, "--topic-id is not valid UTF-8");
	a.topic_id = "KB1";
	a.criticality = "256";
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(why, "--criticality: 256 is out of range (0..255)");
	a.criticality = NULL;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a.details = big;
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(
	    why, "--details must be 1 to 4096 bytes long, not 4097");
	a.details = NULL;
	a.too_many_params = true;
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(why, "at most 16 --param options are allowed");
	a.too_many_params = false;
	a.state = NULL;
	assert_null(msg_build(&a, why, sizeof(why)));
	assert_string_equal(
	    why, "--topic-type, --topic-id and --state are required");
}

static void
test_time_and_guid(void **state)
{
	char t[AGENT_TIME_LEN], g[STATEMSG_GUID_LEN + 1], g2[sizeof(g)];
	int64_t us;

	(void)state;
	msg_now(t);
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	assert_int_equal(statemsg_parse_time(t, &us), 0);
	assert_int_equal(msg_new_guid(g), 0);
	assert_int_equal(msg_new_guid(g2), 0);
	assert_true(statemsg_valid_guid(g));
	assert_int_equal(g[5 + 14], '4'); /* version 4 */
	assert_non_null(strchr("89ab", g[5 + 19]));
	assert_string_not_equal(g, g2);
}

static void
test_identity_and_serials_persist(void **state)
{
	struct store st;
	char guid[sizeof(st.guid)];
	struct stat sb;
	json_t *msgs;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(guid, sizeof(guid), "%s", st.guid);
	assert_int_equal(raise_one(&st, "500", "KB1", "1"), 1);
	assert_int_equal(raise_one(&st, "500", "KB2", "1"), 2);
	store_close(&st);
	assert_int_equal(store_open(&st, dir), 0);
	assert_string_equal(st.guid, guid);
	assert_int_equal(raise_one(&st, "500", "KB1", "3"), 3);
	msgs = outbox_msgs(&st);
	assert_int_equal(json_array_size(msgs), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(serial_of(json_array_get(msgs, i)), i + 1);
	json_decref(msgs);
	store_close(&st);
}

/* A state file's path, or its temporary one, too long: refused. */
static void
test_paths_too_long(void **state)
{
	char path[PATH_MAX], tmp[PATH_MAX], name[NAME_MAX + 1];
	char longdir[PATH_MAX];

	(void)state;
	assert_int_equal(store_paths("/d", "serial", path, tmp), 0);
	assert_string_equal(path, "/d/serial");
	assert_string_equal(tmp, "/d/.serial.tmp");
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	assert_int_equal(store_paths("/d", name, path, tmp), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(store_paths(longdir, "serial", path, tmp), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_cache_keeps_latest_per_topic(void **state)
{
	struct store st;
	json_t *cache;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "1");
	raise_one(&st, "500", "KB2", "1");
	raise_one(&st, "501", "KB1", "4");
	raise_one(&st, "500", "KB1", "3");
	cache = store_cache(&st);
	assert_int_equal(json_array_size(cache), 3);
	/* oldest first: KB2 (2), 501/KB1 (3), 500/KB1 (4) */
	assert_int_equal(serial_of(json_array_get(cache, 0)), 2);
	assert_int_equal(serial_of(json_array_get(cache, 1)), 3);
	assert_int_equal(serial_of(json_array_get(cache, 2)), 4);
	assert_int_equal(
	    json_integer_value(json_object_get(
	        json_object_get(json_array_get(cache, 2), "state"), "id")),
	    3);
	json_decref(cache);
	store_close(&st);
}

static void
test_resync_renumbers_the_cache(void **state)
{
	struct store st;
	json_t *cache, *msgs, *last, *want;
	char answered[64];
	size_t n;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "1");
	raise_one(&st, "500", "KB2", "1");
	raise_one(&st, "500", "KB1", "3");
	cache = store_cache(&st);
	assert_int_equal(store_resync(&st, "2026-11-22T10:00:00Z", &n), 0);
	assert_int_equal(n, 3);
	msgs = outbox_msgs(&st);
	assert_int_equal(json_array_size(msgs), 3 + 3);
	/* the cache, in order, with fresh serials 4 and 5, and its times */
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_array_get(msgs, 3 + i);
		json_t *c = json_array_get(cache, i);

		assert_int_equal(serial_of(m), 4 + i);
		assert_true(json_equal(
		    json_object_get(m, "topic"), json_object_get(c, "topic")));
		assert_true(json_equal(
		    json_object_get(m, "state"), json_object_get(c, "state")));
		assert_true(json_equal(
		    json_object_get(m, "time"), json_object_get(c, "time")));
	}
	last = json_array_get(msgs, 5);
	assert_int_equal(serial_of(last), 6);
	want = json_pack(
	    "{s:i,s:s,s:i}", "type", 700, "id", "resync", "id_type", 0);
	assert_true(json_equal(json_object_get(last, "topic"), want));
	json_decref(want);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(last, "state"), "id")),
	    2);
	assert_int_equal(
	    store_resync_answered(&st, answered, sizeof(answered)), 0);
	assert_string_equal(answered, "2026-11-22T10:00:00Z");
	/* the completion message is not cached; the next serial goes on */
	json_decref(cache);
	cache = store_cache(&st);
	assert_int_equal(json_array_size(cache), 2);
	assert_int_equal(raise_one(&st, "500", "KB3", "1"), 7);
	json_decref(cache);
	json_decref(msgs);
	store_close(&st);
}

/* A resync larger than one batch is queued as files that each fit one. */
static void
test_resync_splits_at_the_body_limit(void **state)
{
	struct store st;
	struct outbox_file *files;
	char big[STATEMSG_MAX_DETAILS + 1], id[16];
	struct msg_args a = {
		.topic_type = "401", .state = "1", .details = big
	};
	size_t n, nf, total = 0;
	long long serial, expect = 301;

	(void)state;
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_open(&st, dir), 0);
	for (int i = 0; i < 300; i++) { /* about 1.3 MB of messages */
		char why[128];
		json_t *m;

		snprintf(id, sizeof(id), "CI%d", i);
		a.topic_id = id;
		m = msg_build(&a, why, sizeof(why));
		assert_int_equal(store_raise(&st, m, &serial), 0);
		json_decref(m);
	}
	assert_int_equal(
	    store_outbox_remove(&st, NULL, 0), 0); /* nothing to remove */
	assert_int_equal(store_outbox_list(&st, &files, &nf), 0);
	assert_int_equal(store_outbox_remove(&st, files, nf), 0);
	store_outbox_free(files, nf);
	assert_int_equal(store_resync(&st, "2026-11-22T10:00:00Z", &n), 0);
	assert_int_equal(n, 301);
	assert_int_equal(store_outbox_list(&st, &files, &nf), 0);
	assert_true(nf >= 2);
	for (size_t i = 0; i < nf; i++) {
		size_t k;
		json_t *m;

		assert_true(
		    files[i].bytes <= STATEMSG_MAX_BODY - AGENT_BATCH_ENVELOPE);
		assert_int_equal(send_pack(files + i, nf - i), 1);
		json_array_foreach(files[i].msgs, k, m)
		{
			assert_int_equal(serial_of(m), expect++);
		}
		total += json_array_size(files[i].msgs);
	}
	assert_int_equal(total, 301);
	store_outbox_free(files, nf);
	store_close(&st);
}

/* send_pack: whole files, within the message and byte limits. */
static void
test_send_pack_limits(void **state)
{
	struct outbox_file f[4];
	json_t *many = json_array();

	(void)state;
	for (int i = 0; i < 6000; i++)
		json_array_append_new(many, json_object());
	for (int i = 0; i < 4; i++) {
		f[i].msgs = json_array();
		f[i].bytes = 100;
		json_array_append_new(f[i].msgs, json_object());
	}
	assert_int_equal(send_pack(f, 4), 4);
	assert_int_equal(send_pack(f, 0), 0);
	f[1].bytes = STATEMSG_MAX_BODY / 2;
	f[2].bytes = STATEMSG_MAX_BODY / 2;
	assert_int_equal(send_pack(f, 4), 2);
	f[1].bytes = f[2].bytes = 100;
	json_decref(f[1].msgs);
	json_decref(f[2].msgs);
	f[1].msgs = json_incref(many);
	f[2].msgs = json_incref(many);
	assert_int_equal(send_pack(f, 4), 2); /* 1 + 6000 + 6000 > 10000 */
	assert_int_equal(send_pack(f + 2, 2), 2);
	for (int i = 0; i < 4; i++)
		json_decref(f[i].msgs);
	json_decref(many);
}

/* The fake HTTP client: answers per URL, remembers what was posted. */
struct fake {
	long mp, fsp, reg, pol; /* a status, or 0: connection refused */
	const char *policy, *registered; /* the answers of 200 */
	const char *refusal; /* the answer of any other status */
	json_t *posts; /* [{"url":..., "body":...}] */
};

static int
fake_request(void *ctx, const char *method, const char *url, const char *body,
    size_t len, struct http_reply *r)
{
	struct fake *f = ctx;
	long status;
	const char *answer = "";

	memset(r, 0, sizeof(*r));
	if (strstr(url, "/policy?client=GUID:") != NULL) {
		status = f->pol;
		answer = status == 200 ? f->policy : f->refusal;
	} else if (strstr(url, "/register") != NULL) {
		status = f->reg;
		answer = status == 200 ? f->registered : f->refusal;
	} else {
		status = strstr(url, "//mp/") ? f->mp : f->fsp;
	}
	assert_string_equal(method, body ? "POST" : "GET");
	if (body != NULL)
		json_array_append_new(f->posts,
		    json_pack("{s:s,s:s%}", "url", url, "body", body, len));
	if (status == 0) {
		snprintf(r->error, sizeof(r->error), "Connection refused");
		return -1;
	}
	r->status = status;
	r->body = strdup(answer ? answer : "");
	r->len = strlen(r->body);
	return 0;
}

/* The messages of the index-th post, checked as statesys would. */
static json_t *
posted_msgs(struct fake *f, size_t index, const char *want_url)
{
	json_t *p = json_array_get(f->posts, index);
	const char *body = json_string_value(json_object_get(p, "body"));
	struct statemsg_batch b;
	char why[256];
	json_t *doc = sjson_parse(body, strlen(body), why, sizeof(why)), *m;

	assert_string_equal(
	    json_string_value(json_object_get(p, "url")), want_url);
	assert_non_null(doc);
	if (statemsg_parse(doc, &b, why, sizeof(why)) == -1)
		fail_msg("the batch is refused: %s", why);
	m = json_incref(json_object_get(doc, "messages"));
	statemsg_free(&b);
	json_decref(doc);
	return m;
}

#define MP "https://mp/mp/v1"
#define FSP "http://fsp/fsp/v1"

static void
test_send_mp_then_fsp_then_keep(void **state)
{
	struct fake f = { .mp = 202, .fsp = 202, .posts = json_array() };
	struct http_ops ops = { fake_request, &f };
	struct store st;
	json_t *msgs, *status;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "1");
	raise_one(&st, "500", "KB2", "1");
	/* the MP takes both in one batch; the outbox is empty */
	assert_int_equal(send_outbox(&st, &ops, MP, &ops, FSP), 0);
	assert_int_equal(json_array_size(f.posts), 1);
	msgs = posted_msgs(&f, 0, MP "/statemsg");
	assert_int_equal(json_array_size(msgs), 2);
	json_decref(msgs);
	msgs = outbox_msgs(&st);
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
	/* MP 503: the same batch goes to the FSP */
	raise_one(&st, "500", "KB3", "1");
	f.mp = 503;
	assert_int_equal(send_outbox(&st, &ops, MP, &ops, FSP), 0);
	assert_int_equal(json_array_size(f.posts), 3);
	msgs = posted_msgs(&f, 2, FSP "/statemsg");
	assert_int_equal(serial_of(json_array_get(msgs, 0)), 3);
	json_decref(msgs);
	/* both down: nothing is lost, the reason is kept */
	raise_one(&st, "500", "KB4", "1");
	f.fsp = 0;
	assert_int_equal(send_outbox(&st, &ops, MP, &ops, FSP), -1);
	msgs = outbox_msgs(&st);
	assert_int_equal(json_array_size(msgs), 1);
	json_decref(msgs);
	status = store_status(&st);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(status, "last_send"), "error")),
	    "management point: " MP "/statemsg answered HTTP 503; fallback "
	    "status point: " FSP "/statemsg: Connection refused");
	json_decref(status);
	/* the next attempt delivers it */
	f.mp = 202;
	assert_int_equal(send_outbox(&st, &ops, MP, &ops, FSP), 0);
	msgs = posted_msgs(&f, json_array_size(f.posts) - 1, MP "/statemsg");
	assert_int_equal(serial_of(json_array_get(msgs, 0)), 4);
	json_decref(msgs);
	json_decref(f.posts);
	store_close(&st);
}

static void
test_policy_parse(void **state)
{
	struct policy p;
	char why[256], doc[512];
	const char *g = "GUID:11111111-2222-4333-8444-555555555555";

	(void)state;
	snprintf(doc, sizeof(doc),
	    "{\"format\":\"sitesys.policy/1\",\"client\":\"%s\","
	    "\"statemsg_send_minutes\":5,\"policy_poll_minutes\":30,"
	    "\"resync\":{\"requested\":\"2026-11-22T10:00:00.123456Z\"}}",
	    g);
	assert_int_equal(
	    policy_parse(doc, strlen(doc), g, &p, why, sizeof(why)), 0);
	assert_int_equal(p.send_minutes, 5);
	assert_int_equal(p.poll_minutes, 30);
	assert_string_equal(p.resync, "2026-11-22T10:00:00.123456Z");
	snprintf(doc, sizeof(doc),
	    "{\"format\":\"sitesys.policy/1\",\"client\":\"%s\","
	    "\"resync\":null}",
	    g);
	assert_int_equal(
	    policy_parse(doc, strlen(doc), g, &p, why, sizeof(why)), 0);
	assert_string_equal(p.resync, "");
	assert_int_equal(p.send_minutes, 0);
	assert_int_equal(policy_parse(doc, strlen(doc),
	                     "GUID:11111111-2222-4333-8444-000000000000", &p,
	                     why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "it is for client "
	    "GUID:11111111-2222-4333-"
	    "8444-555555555555, not GUID:11111111-2222-"
	    "4333-8444-000000000000");
	snprintf(doc, sizeof(doc),
	    "{\"format\":\"sitesys.policy/1\",\"client\":\"%s\","
	    "\"statemsg_send_minutes\":0}",
	    g);
	assert_int_equal(
	    policy_parse(doc, strlen(doc), g, &p, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "member \"statemsg_send_minutes\" is 0, outside 1..1440");
	snprintf(doc, sizeof(doc),
	    "{\"format\":\"sitesys.policy/1\",\"client\":\"%s\","
	    "\"resync\":{\"requested\":\"yesterday\"}}",
	    g);
	assert_int_equal(
	    policy_parse(doc, strlen(doc), g, &p, why, sizeof(why)), -1);
	assert_string_equal(why,
	    "member \"requested\" is not an RFC 3339 UTC "
	    "time: \"yesterday\"");
}

/* 403 "unregistered" registers again; a resync request is answered
 * once, then sent. */
static void
test_policy_poll_answers_resync_once(void **state)
{
	struct fake f = { .mp = 202,
		.reg = 200,
		.pol = 403,
		.refusal = "{\"error\":\"this certificate is bound to no "
		           "client\",\"code\":\"unregistered\"}",
		.posts = json_array() };
	struct http_ops ops = { fake_request, &f };
	struct store st;
	struct policy p;
	char pol[512], reg[128];
	json_t *msgs;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "2");
	snprintf(reg, sizeof(reg),
	    "{\"format\":\"sitesys.registered/1\",\"client\":\"%s\"}", st.guid);
	f.registered = reg;
	snprintf(pol, sizeof(pol),
	    "{\"format\":\"sitesys.policy/1\",\"client\":\"%s\","
	    "\"resync\":{\"requested\":\"2026-11-22T10:00:00Z\"}}",
	    st.guid);
	f.policy = pol;
	/* unregistered even after registering: an error, nothing queued */
	assert_int_equal(policy_poll(&st, &ops, MP, "pc1", &p), -1);
	assert_int_equal(json_array_size(f.posts), 1); /* the register */
	f.pol = 200;
	assert_int_equal(policy_poll(&st, &ops, MP, "pc1", &p), 1);
	assert_int_equal(policy_poll(&st, &ops, MP, "pc1", &p), 0);
	assert_int_equal(send_outbox(&st, &ops, MP, &ops, FSP), 0);
	msgs = posted_msgs(&f, 1, MP "/statemsg");
	/* KB1 as raised (1), KB1 renumbered (2), completion (3) */
	assert_int_equal(json_array_size(msgs), 3);
	assert_int_equal(serial_of(json_array_get(msgs, 2)), 3);
	json_decref(msgs);
	json_decref(f.posts);
	store_close(&st);
}

/* Crash tests: a child dies at a named step; the parent checks. */
static void
child_raise(void *arg)
{
	struct store st;

	(void)arg;
	if (store_open(&st, dir) == -1)
		_exit(1);
	raise_one(&st, "500", "KB9", "9");
	_exit(1); /* not reached: the crash point ends the child */
}

/* Whether serials in msgs are all different. */
static bool
distinct_serials(const json_t *msgs)
{
	for (size_t i = 0; i < json_array_size(msgs); i++)
		for (size_t j = i + 1; j < json_array_size(msgs); j++)
			if (serial_of(json_array_get(msgs, i)) ==
			    serial_of(json_array_get(msgs, j)))
				return false;
	return true;
}

static void
test_crash_while_raising(void **state)
{
	static const char *const points[] = { "serial.saved", "raise.cached",
		"put.created", "put.written", "put.synced", "put.closed",
		"put.renamed", "raise.queued" };
	struct store st;
	long long next = 2;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "1");
	store_close(&st);
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		crash_child(points[i], 1, child_raise, NULL);
		assert_int_equal(store_open(&st, dir), 0);
		json_t *msgs = outbox_msgs(&st);
		bool queued = i >= 6; /* renamed into incoming/ */

		/* what was raised before is there, the dead one only if
		 * it reached the outbox; its serial is never reused */
		assert_int_equal(serial_of(json_array_get(msgs, 0)), 1);
		assert_int_equal(json_array_size(msgs), 1 + queued);
		if (queued)
			assert_int_equal(
			    serial_of(json_array_get(msgs, 1)), next);
		assert_int_equal(raise_one(&st, "500", "KB2", "1"), next + 1);
		json_decref(msgs);
		msgs = outbox_msgs(&st);
		assert_true(distinct_serials(msgs));
		/* back to just the first message for the next round */
		struct outbox_file *files;
		size_t n;
		assert_int_equal(store_outbox_list(&st, &files, &n), 0);
		assert_int_equal(store_outbox_remove(&st, files + 1, n - 1), 0);
		store_outbox_free(files, n);
		json_decref(msgs);
		next += 2;
		store_close(&st);
	}
}

static void
child_resync(void *arg)
{
	struct store st;
	size_t n;

	(void)arg;
	if (store_open(&st, dir) == -1)
		_exit(1);
	store_resync(&st, "2026-11-22T10:00:00Z", &n);
	_exit(1);
}

static void
test_crash_while_answering_resync(void **state)
{
	static const char *const points[] = { "serial.saved", "put.created",
		"put.renamed", "resync.queued", "resync.answered" };
	struct store st;
	char answered[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		teardown_dir(NULL);
		setup_dir(NULL);
		assert_int_equal(store_open(&st, dir), 0);
		raise_one(&st, "500", "KB1", "1");
		raise_one(&st, "500", "KB2", "1");
		store_close(&st);
		crash_child(points[i], 1, child_resync, NULL);
		assert_int_equal(store_open(&st, dir), 0);
		assert_int_equal(
		    store_resync_answered(&st, answered, sizeof(answered)), 0);
		/* answered only once the whole batch is in the outbox */
		assert_string_equal(
		    answered, i == 4 ? "2026-11-22T10:00:00Z" : "");
		if (answered[0] == '\0')
			assert_int_equal(
			    store_resync(&st, "2026-11-22T10:00:00Z", &n), 0);
		json_t *msgs = outbox_msgs(&st);
		json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
		assert_true(distinct_serials(msgs));
		assert_int_equal(json_integer_value(json_object_get(
		                     json_object_get(last, "topic"), "type")),
		    700);
		json_decref(msgs);
		store_close(&st);
	}
}

static void
child_send(void *arg)
{
	struct fake f = { .mp = 202, .posts = json_array() };
	struct http_ops ops = { fake_request, &f };
	struct store st;

	(void)arg;
	if (store_open(&st, dir) == -1)
		_exit(1);
	send_outbox(&st, &ops, MP, &ops, FSP);
	_exit(1);
}

/* Dead after the 202 but before the outbox is emptied: sent again. */
static void
test_crash_while_sending(void **state)
{
	struct fake f = { .mp = 202, .posts = json_array() };
	struct http_ops ops = { fake_request, &f };
	struct store st;
	json_t *msgs;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "1");
	raise_one(&st, "500", "KB2", "1");
	store_close(&st);
	crash_child("outbox.unlinked_one", 1, child_send, NULL);
	assert_int_equal(store_open(&st, dir), 0);
	msgs = outbox_msgs(&st);
	assert_int_equal(json_array_size(msgs), 1);
	assert_int_equal(serial_of(json_array_get(msgs, 0)), 2);
	json_decref(msgs);
	assert_int_equal(send_outbox(&st, &ops, MP, &ops, FSP), 0);
	msgs = posted_msgs(&f, 0, MP "/statemsg");
	assert_int_equal(serial_of(json_array_get(msgs, 0)), 2);
	json_decref(msgs);
	json_decref(f.posts);
	store_close(&st);
}

/* A damaged outbox file is set aside with a reason, the rest is sent. */
static void
test_corrupt_outbox_file_set_aside(void **state)
{
	struct store st;
	char path[600];
	FILE *fp;
	json_t *msgs;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	raise_one(&st, "500", "KB1", "1");
	snprintf(
	    path, sizeof(path), "%s/outbox/incoming/0000000000000000.msg", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"format\":\"sitesys.agent-outbox/1\",\"messages\":[{", fp);
	fclose(fp);
	msgs = outbox_msgs(&st);
	assert_int_equal(json_array_size(msgs), 1);
	json_decref(msgs);
	snprintf(path, sizeof(path),
	    "%s/outbox/corrupt/0000000000000000.msg.why", dir);
	assert_int_equal(access(path, F_OK), 0);
	store_close(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_args),
		cmocka_unit_test(test_time_and_guid),
		cmocka_unit_test_setup_teardown(
		    test_identity_and_serials_persist, setup_dir, teardown_dir),
		cmocka_unit_test(test_paths_too_long),
		cmocka_unit_test_setup_teardown(
		    test_cache_keeps_latest_per_topic, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_resync_renumbers_the_cache, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_resync_splits_at_the_body_limit, setup_dir,
		    teardown_dir),
		cmocka_unit_test(test_send_pack_limits),
		cmocka_unit_test_setup_teardown(
		    test_send_mp_then_fsp_then_keep, setup_dir, teardown_dir),
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test_setup_teardown(
		    test_policy_poll_answers_resync_once, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_crash_while_raising, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_crash_while_answering_resync, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_crash_while_sending, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_corrupt_outbox_file_set_aside, setup_dir,
		    teardown_dir),
	};

	log_set_level(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
