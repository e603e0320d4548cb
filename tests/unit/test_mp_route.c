/*
 * test_mp_route.c - the agent's MP traffic driven by the MP walker:
 * [agent] mp_url_template filled with a management point's name, the list
 * asked of the bootstrap mp_url, five failed sends moving the agent on to
 * the next one by locality (the state messages then reaching it), a
 * restart bringing it back, and no template meaning the fixed mp_url.
 *
 * The agent's files are included whole (they are not in libsitesys); the
 * HTTP client is a fake, so no libcurl and no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "util/clock.h"
#include "util/conf.h"

#define BOOT "https://boot/mp/v1"

static char dir[256], conf_path_buf[300];

/* The management points: how each answers statemsg, and what came. */
struct fake {
	long a, b; /* HTTP status of mp-a and mp-b; 0: no connection */
	int asked; /* location requests to the bootstrap MP */
	json_t *urls; /* every URL requested */
};

static const char answer[] =
    "{\"format\":\"sitesys.location-answer/1\",\"in_boundary\":true,"
    "\"current\":[\"BG\"],\"assigned_site\":\"PS1\",\"sources\":["
    "{\"name\":\"mp-b.example\",\"group\":\"N\",\"kind\":\"server\","
    "\"relation\":\"neighbour\",\"minute\":0,\"locality\":2},"
    "{\"name\":\"mp-a.example\",\"group\":\"BG\",\"kind\":\"server\","
    "\"relation\":\"current\",\"minute\":0,\"locality\":3}]}";

static int
fake_request(void *ctx, const char *method, const char *url, const char *body,
    size_t len, struct http_reply *r)
{
	struct fake *f = ctx;
	long status = 404;
	const char *text = "";

	(void)method, (void)body, (void)len;
	memset(r, 0, sizeof(*r));
	json_array_append_new(f->urls, json_string(url));
	if (strcmp(url, BOOT "/location") == 0) {
		f->asked++;
		status = 200;
		text = answer;
	} else if (strncmp(url, "https://mp-a.example/", 21) == 0)
		status = f->a;
	else if (strncmp(url, "https://mp-b.example/", 21) == 0)
		status = f->b;
	if (status == 0) {
		snprintf(r->error, sizeof(r->error), "Connection refused");
		return -1;
	}
	r->status = status;
	r->body = strdup(text);
	r->len = strlen(text);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_mp_route.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf_path_buf, sizeof(conf_path_buf), "%s.conf", dir);
	strcat(dir, "/state");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	*strrchr(dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, conf_path_buf);
	return system(cmd) == 0 ? 0 : -1;
}

/* An agent on dir with [agent] mp_url_template tmpl and the fake. */
static void
open_agent(struct agent *ag, const char *tmpl, struct fake *f)
{
	FILE *fp = fopen(conf_path_buf, "w");
	char err[512];

	assert_non_null(fp);
	fprintf(fp,
	    "[agent]\nmp_url = %s\nmp_url_template = %s\n"
	    "site_ca = /nonexistent/site-ca.crt\n",
	    BOOT, tmpl);
	fclose(fp);
	memset(ag, 0, sizeof(*ag));
	ag->cf = conf_load(conf_path_buf, err, sizeof(err));
	assert_non_null(ag->cf);
	ag->http = ag->http_fsp = (struct http_ops){ fake_request, f };
	snprintf(ag->name, sizeof(ag->name), "pc1");
	assert_int_equal(store_open(&ag->st, dir), 0);
}

static void
close_agent(struct agent *ag)
{
	store_close(&ag->st);
	conf_free(ag->cf);
}

/* Raise one message and send; the URL of the last request. */
static const char *
raise_and_send(struct agent *ag, struct fake *f, int want)
{
	struct msg_args a = {
		.topic_type = "500", .topic_id = "KB1", .state = "1"
	};
	char why[256];
	json_t *m = msg_build(&a, why, sizeof(why));
	long long serial;

	assert_int_equal(store_raise(&ag->st, m, &serial), 0);
	json_decref(m);
	assert_int_equal(mp_route_send(ag), want);
	return json_string_value(
	    json_array_get(f->urls, json_array_size(f->urls) - 1));
}

static void
test_url(void **state)
{
	char url[64];

	(void)state;
	assert_int_equal(
	    mp_route_url("https://%s/mp/v1", "mp-a.example", url, sizeof(url)),
	    0);
	assert_string_equal(url, "https://mp-a.example/mp/v1");
	/* a name that would change the URL's meaning is refused */
	assert_int_equal(
	    mp_route_url("https://%s/mp/v1", "a/b", url, sizeof(url)), -1);
	assert_int_equal(
	    mp_route_url("https://%s/mp/v1", "u@h", url, sizeof(url)), -1);
	assert_int_equal(mp_route_url("https://%s/mp/v1",
	                     "a-very-long-name.example.org", url, 20),
	    -1);
}

static void
test_five_failures_move_on_restart_comes_back(void **state)
{
	struct fake f = { .a = 202, .b = 202, .urls = json_array() };
	struct agent ag;
	struct fb_state fs;
	struct fb_mp mp;
	size_t errors;
	char why[256];

	(void)state;
	open_agent(&ag, "https://%s/mp/v1", &f);
	/* no list yet: asked of the bootstrap MP, then the most local one */
	assert_string_equal(
	    raise_and_send(&ag, &f, 0), "https://mp-a.example/mp/v1/statemsg");
	assert_int_equal(f.asked, 1);
	assert_int_equal(fb_state_load(dir, &fs, why, sizeof(why)), 0);
	assert_int_equal(fs.nmps, 2);
	assert_string_equal(fs.mps[0].name, "mp-a.example");
	assert_string_equal(fs.site, "PS1");
	/* mp-a answers 502 (no FSP): four failures keep it */
	f.a = 502;
	for (int i = 0; i < 4; i++)
		assert_string_equal(raise_and_send(&ag, &f, -1),
		    "https://mp-a.example/mp/v1/statemsg");
	assert_true(mp_route_show(&ag, &mp, &errors));
	assert_string_equal(mp.current, "mp-a.example");
	assert_int_equal(errors, 4);
	/* the fifth moves the agent on; the next send reaches mp-b */
	raise_and_send(&ag, &f, -1);
	assert_true(mp_route_show(&ag, &mp, &errors));
	assert_string_equal(mp.current, "mp-b.example");
	assert_int_equal(errors, 0);
	assert_string_equal(
	    raise_and_send(&ag, &f, 0), "https://mp-b.example/mp/v1/statemsg");
	assert_int_equal(f.asked, 1); /* the list is a day old only later */
	/* a restart is a refresh: mp-a again */
	assert_int_equal(store_lock(&ag.st), 0);
	assert_int_equal(fb_state_load(dir, &fs, why, sizeof(why)), 0);
	fb_state_restart(&fs, clock_now_us() / 1000000);
	assert_int_equal(fb_state_save(dir, &fs), 0);
	store_unlock(&ag.st);
	f.a = 202;
	assert_string_equal(
	    raise_and_send(&ag, &f, 0), "https://mp-a.example/mp/v1/statemsg");
	close_agent(&ag);
	json_decref(f.urls);
}

static void
test_policy_and_no_answer_count(void **state)
{
	struct fake f = { .a = 0, .b = 202, .urls = json_array() };
	struct agent ag;
	struct policy p;
	struct fb_mp mp;
	size_t errors;

	(void)state;
	open_agent(&ag, "https://%s/mp/v1", &f);
	assert_int_equal(mp_route_refresh(&ag), 0);
	/* no connection to mp-a: each poll is one error */
	for (int i = 0; i < 2; i++)
		assert_int_equal(mp_route_poll(&ag, &p), -1);
	assert_true(mp_route_show(&ag, &mp, &errors));
	assert_string_equal(mp.current, "mp-a.example");
	assert_int_equal(errors, 2);
	/* a 404 is an answer, not an error of the MP */
	f.a = 404;
	assert_int_equal(mp_route_register(&ag), -1);
	assert_true(mp_route_show(&ag, &mp, &errors));
	assert_int_equal(errors, 2);
	close_agent(&ag);
	json_decref(f.urls);
}

static void
test_no_template_fixed_url(void **state)
{
	struct fake f = { .a = 202, .b = 202, .urls = json_array() };
	struct agent ag;
	struct fb_mp mp;
	size_t errors;

	(void)state;
	open_agent(&ag, "", &f);
	assert_int_equal(mp_route_refresh(&ag), 0);
	assert_string_equal(raise_and_send(&ag, &f, -1), BOOT "/statemsg");
	assert_int_equal(f.asked, 0);
	assert_false(mp_route_show(&ag, &mp, &errors));
	close_agent(&ag);
	json_decref(f.urls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test_setup_teardown(
		    test_five_failures_move_on_restart_comes_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_policy_and_no_answer_count, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_template_fixed_url, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
