/*
 * test_agent_location.c - the agent's side of POST mp_url/location: the
 * request it sends, the strict reading of the answer (checked against the
 * engine's own encoder, loc_answer_json), and HTTP errors with reasons.
 *
 * The agent's file is included whole; the HTTP client is a fake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "location/location_json.h"

static char why[512];

/* A fake MP: what it was asked, and what it answers. */
struct fake {
	char url[256], body[4096];
	long status;
	const char *answer;
	int calls;
};

static int
fake_request(void *ctx, const char *method, const char *url, const char *body,
    size_t len, struct http_reply *r)
{
	struct fake *f = ctx;

	assert_string_equal(method, "POST");
	snprintf(f->url, sizeof(f->url), "%s", url);
	snprintf(f->body, sizeof(f->body), "%.*s", (int)len, body);
	f->calls++;
	memset(r, 0, sizeof(*r));
	if (f->status == 0) {
		snprintf(r->error, sizeof(r->error), "Connection refused");
		return -1;
	}
	r->status = f->status;
	r->body = strdup(f->answer);
	r->len = strlen(f->answer);
	return 0;
}

static void
test_request_doc(void **state)
{
	struct location_ask q = { .role = LOC_DP,
		.content = "PS100012",
		.site = "PS1",
		.ad_site = "Paris",
		.vpn_name = "CorpVPN",
		.vpn_description = "" };
	json_t *addrs = json_array(), *doc;
	char *text;

	(void)state;
	for (int i = 0; i < 20; i++)
		json_array_append_new(addrs, json_sprintf("10.0.%d.1/24", i));
	doc = location_request_doc("GUID:x", addrs, &q);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	/* at most 16 addresses; an empty VPN description is not sent */
	assert_string_equal(text,
	    "{\"ad_site\":\"Paris\",\"addresses\":[\"10.0.0.1/24\","
	    "\"10.0.1.1/24\",\"10.0.2.1/24\",\"10.0.3.1/24\",\"10.0.4.1/24\","
	    "\"10.0.5.1/24\",\"10.0.6.1/24\",\"10.0.7.1/24\",\"10.0.8.1/24\","
	    "\"10.0.9.1/24\",\"10.0.10.1/24\",\"10.0.11.1/24\","
	    "\"10.0.12.1/24\",\"10.0.13.1/24\",\"10.0.14.1/24\","
	    "\"10.0.15.1/24\"],\"client\":\"GUID:x\",\"content\":\"PS100012\","
	    "\"format\":\"sitesys.location/"
	    "1\",\"role\":\"dp\",\"site\":\"PS1\","
	    "\"vpn\":{\"name\":\"CorpVPN\"}}");
	free(text);
	json_decref(doc);
	/* nothing optional set: nothing optional sent */
	memset(&q, 0, sizeof(q));
	q.role = LOC_SUP;
	doc = location_request_doc("GUID:x", json_array(), &q);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
	    "{\"addresses\":[],\"client\":\"GUID:x\","
	    "\"format\":\"sitesys.location/1\",\"role\":\"sup\"}");
	free(text);
	json_decref(doc);
}

/* The request the MP's own parser reads back as the same question. */
static void
test_request_is_what_the_mp_reads(void **state)
{
	struct location_ask q = { .role = LOC_MP, .ad_site = "Paris" };
	json_t *doc = location_request_doc(
	    "GUID:x", json_pack("[s]", "192.0.2.5/24"), &q);
	struct loc_request req;
	const char *client;

	(void)state;
	memset(&req, 0, sizeof(req));
	if (loc_request_parse(doc, &req, &client, why, sizeof(why)) != 0)
		fail_msg("loc_request_parse: %s", why);
	assert_string_equal(client, "GUID:x");
	assert_int_equal(req.role, LOC_MP);
	assert_int_equal(req.naddrs, 1);
	assert_int_equal(req.addrs[0].plen, 24);
	assert_string_equal(req.ad_site, "Paris");
	assert_null(req.site);
	json_decref(doc);
}

/* The engine's seed example, encoded as the MP encodes it, read back. */
static void
test_answer_round_trip(void **state)
{
	struct loc_builder *b = loc_builder_new();
	struct loc_request r = { .role = LOC_DP, .site = "PS1" };
	int m[LOC_NROLES];
	struct loc_model *model;
	struct loc_answer a;
	struct location_answer la;
	json_t *doc;
	char *text;

	(void)state;
	loc_fallback_defaults(m);
	m[LOC_DP] = 10;
	assert_int_equal(loc_add_site(b, "PS1"), 0);
	assert_int_equal(loc_add_group(b, "BG_A", "PS1"), 0);
	assert_int_equal(loc_add_group(b, "BG_B", "PS1"), 0);
	assert_int_equal(
	    loc_add_boundary(b, "b", LOC_B_SUBNET, "10.1.0.0/24"), 0);
	assert_int_equal(loc_add_member(b, "BG_A", "b"), 0);
	assert_int_equal(loc_add_server(b, "dp_a1", "PS1", 1u << LOC_DP), 0);
	assert_int_equal(loc_add_server(b, "dp_b1", "PS1", 1u << LOC_DP), 0);
	assert_int_equal(loc_add_group_server(b, "BG_A", "dp_a1"), 0);
	assert_int_equal(loc_add_group_server(b, "BG_B", "dp_b1"), 0);
	assert_int_equal(loc_add_link(b, "BG_A", "BG_B", m), 0);
	assert_non_null(model = loc_freeze(b, why, sizeof(why)));
	assert_int_equal(ipnet_parse("10.1.0.5/24", IPNET_HOST, &r.addrs[0],
	                     why, sizeof(why)),
	    0);
	r.naddrs = 1;
	r.explain = true;
	assert_int_equal(loc_query(model, &r, &a, why, sizeof(why)), 0);
	doc = loc_answer_json(&a, r.role, "PS1");
	text = json_dumps(doc, JSON_COMPACT);
	if (location_parse(text, strlen(text), &la, why, sizeof(why)) != 0)
		fail_msg("location_parse: %s", why);
	assert_string_equal(la.assigned_site, "PS1");
	assert_string_equal(la.role, loc_role_name(r.role));
	assert_string_equal(la.a.site, "PS1");
	assert_true(la.a.in_boundary);
	assert_int_equal(la.a.ncurrent, 1);
	assert_string_equal(la.a.current[0], "BG_A");
	assert_int_equal(la.a.nsrc, a.nsrc);
	for (size_t i = 0; i < a.nsrc; i++) {
		assert_string_equal(la.a.src[i].name, a.src[i].name);
		assert_string_equal(la.a.src[i].group, a.src[i].group);
		assert_int_equal(la.a.src[i].kind, a.src[i].kind);
		assert_int_equal(la.a.src[i].relation, a.src[i].relation);
		assert_int_equal(la.a.src[i].minute, a.src[i].minute);
		assert_int_equal(
		    la.a.src[i].link_minutes, a.src[i].link_minutes);
	}
	assert_int_equal(la.a.src[1].minute, 10);
	assert_int_equal(la.a.nnotes, a.nnotes);
	assert_true(la.a.nnotes > 0);
	location_answer_free(&la);
	free(text);
	json_decref(doc);
	loc_answer_free(&a);
	loc_model_free(model);
}

#define GOOD_SOURCE                                                            \
	"{\"name\":\"dp1\",\"group\":null,\"kind\":\"server\","                \
	"\"relation\":\"current\",\"minute\":0}"

/* body with "SOURCE" in place of one source: the reason it is refused */
static void
expect_refused(const char *body, const char *reason)
{
	struct location_answer la;

	assert_int_equal(
	    location_parse(body, strlen(body), &la, why, sizeof(why)), -1);
	if (strstr(why, reason) == NULL)
		fail_msg("refused with \"%s\", not \"%s\"", why, reason);
	assert_null(la.doc);
}

#define HEAD                                                                   \
	"{\"format\":\"sitesys.location-answer/1\",\"in_boundary\":true,"      \
	"\"current\":[],\"sources\":["

static void
test_answer_strict(void **state)
{
	struct location_answer la;
	const char *good = HEAD GOOD_SOURCE "]}";

	(void)state;
	assert_int_equal(
	    location_parse(good, strlen(good), &la, why, sizeof(why)), 0);
	assert_null(la.a.src[0].group);
	assert_null(la.a.site);
	location_answer_free(&la);
	expect_refused("{\"format\":\"sitesys.location-answer/2\"}",
	    "bad location answer: format is \"sitesys.location-answer/2\", "
	    "expected \"sitesys.location-answer/1\"");
	expect_refused("[1]", "bad location answer: document is not a JSON");
	expect_refused("{", "bad location answer: invalid JSON");
	expect_refused("{\"format\":\"sitesys.location-answer/1\","
	               "\"current\":[],\"sources\":[]}",
	    "missing member \"in_boundary\"");
	expect_refused(HEAD "]", "invalid JSON");
	expect_refused("{\"format\":\"sitesys.location-answer/1\","
	               "\"in_boundary\":true,\"current\":[]}",
	    "missing member \"sources\"");
	expect_refused(HEAD GOOD_SOURCE ",{\"name\":\"x\",\"kind\":\"disk\","
	                                "\"relation\":\"current\","
	                                "\"minute\":0}]}",
	    "sources[1]: member \"kind\" is \"disk\", not one of "
	    "server|cloud|peer");
	expect_refused(HEAD "{\"name\":\"x\",\"kind\":\"peer\","
	                    "\"relation\":\"near\",\"minute\":0}]}",
	    "sources[0]: member \"relation\" is \"near\", not one of "
	    "current|neighbour|site-default|site-list");
	expect_refused(HEAD "{\"name\":\"x\",\"kind\":\"peer\","
	                    "\"relation\":\"current\",\"minute\":-1}]}",
	    "sources[0]: member \"minute\"");
	expect_refused(HEAD "{\"name\":\"x\",\"kind\":\"peer\","
	                    "\"relation\":\"current\",\"minute\":0,"
	                    "\"locality\":4}]}",
	    "sources[0]: member \"locality\"");
	expect_refused(HEAD "{\"kind\":\"peer\",\"relation\":\"current\","
	                    "\"minute\":0}]}",
	    "sources[0]: missing member \"name\"");
	expect_refused(HEAD "7]}", "sources[0]: it is not an object");
	expect_refused("{\"format\":\"sitesys.location-answer/1\","
	               "\"in_boundary\":true,\"current\":[3],\"sources\":[]}",
	    "current[0] is not a non-empty string");
	expect_refused("{\"format\":\"sitesys.location-answer/1\","
	               "\"in_boundary\":true,\"current\":[],\"sources\":[],"
	               "\"site\":\"TOOLONG\"}",
	    "member \"site\" must be 1 to 3 bytes long");
}

/* Fetch from a fake MP at url that answers status and answer. */
static int
fetch(struct fake *f, const char *url, long status, const char *answer,
    struct location_answer *la)
{
	struct http_ops http = { fake_request, f };
	json_t *req = json_pack("{s:s}", "format", "sitesys.location/1");
	int rc;

	f->status = status;
	f->answer = answer;
	rc = location_fetch(&http, url, req, la, why, sizeof(why));
	json_decref(req);
	return rc;
}

static void
test_fetch(void **state)
{
	struct fake f = { .calls = 0 };
	struct location_answer la;

	(void)state;
	assert_int_equal(
	    fetch(&f, "http://mp1/mp/v1/", 200, HEAD GOOD_SOURCE "]}", &la), 0);
	assert_string_equal(f.url, "http://mp1/mp/v1/location");
	assert_string_equal(f.body, "{\"format\":\"sitesys.location/1\"}");
	assert_string_equal(la.a.src[0].name, "dp1");
	location_answer_free(&la);
	/* an error answer: the status and the MP's reason */
	assert_int_equal(
	    fetch(&f, "http://mp1/mp/v1", 400,
	        "{\"error\":\"addresses[0]: not an address\"}", &la),
	    -1);
	assert_string_equal(why,
	    "http://mp1/mp/v1/location answered HTTP 400: "
	    "addresses[0]: not an address");
	/* no answer at all */
	assert_int_equal(fetch(&f, "http://mp1/mp/v1", 0, "", &la), -1);
	assert_string_equal(
	    why, "http://mp1/mp/v1/location: Connection refused");
	/* a 200 that is not an answer */
	assert_int_equal(fetch(&f, "http://mp1/mp/v1", 200,
	                     "{\"format\":\"sitesys.policy/1\"}", &la),
	    -1);
	assert_non_null(strstr(why, "bad location answer: format is"));
	/* no MP configured: not even asked */
	f.calls = 0;
	assert_int_equal(fetch(&f, "", 200, "", &la), -1);
	assert_string_equal(why, "[agent] mp_url is not set");
	assert_int_equal(f.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_doc),
		cmocka_unit_test(test_request_is_what_the_mp_reads),
		cmocka_unit_test(test_answer_round_trip),
		cmocka_unit_test(test_answer_strict),
		cmocka_unit_test(test_fetch),
	};

	return cmocka_run_group_tests_name("agent_location", tests, NULL, NULL);
}
