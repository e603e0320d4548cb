/* test_location.c - the location engine against every rule of seed 003 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "location/location.h"

#define DP LOC_ROLE_BIT(LOC_DP)
#define MP LOC_ROLE_BIT(LOC_MP)
#define SUP LOC_ROLE_BIT(LOC_SUP)
#define CLOUD LOC_ROLE_BIT(LOC_CLOUDDP)

static char why[512];

#include "loc_fixture.h"

/* the seed's groups: a boundary of the group's own kind, if any */
static void
group(struct loc_builder *b, const char *name, const char *bnd,
    const char *subnet)
{
	group_with(b, name, bnd, subnet);
}

/*
 * The seed's example: BG_A (the client's) with DP_A1, DP_A2; BG_B at 10
 * minutes; BG_C at 20; the site server's DP in the site default group.
 */
static struct loc_builder *
seed_example(void)
{
	struct loc_builder *b = loc_builder_new();
	int m[LOC_NROLES];

	assert_non_null(b);
	assert_int_equal(loc_add_site(b, "PS1"), 0);
	group(b, "BG_A", "B_A", "10.1.0.0/24");
	group(b, "BG_B", "B_B", "10.2.0.0/24");
	group(b, "BG_C", "B_C", "10.3.0.0/24");
	server(b, "BG_A", "dp_a1", DP);
	server(b, "BG_A", "dp_a2", DP);
	server(b, "BG_B", "dp_b1", DP);
	server(b, "BG_B", "dp_b2", DP);
	server(b, "BG_C", "dp_c1", DP);
	server(b, "BG_C", "dp_c2", DP);
	server(b, "Default-Site-Boundary-Group<PS1>", "siteserver", DP);
	minutes(m, 10, 0, 120);
	assert_int_equal(loc_add_link(b, "BG_A", "BG_B", m), 0);
	minutes(m, 20, 0, 120);
	assert_int_equal(loc_add_link(b, "BG_A", "BG_C", m), 0);
	return b;
}

static struct loc_model *
freeze(struct loc_builder *b)
{
	struct loc_model *m = loc_freeze(b, why, sizeof(why));

	if (m == NULL)
		fail_msg("loc_freeze: %s", why);
	return m;
}

static struct loc_request
client(const char *addr, enum loc_role role)
{
	struct loc_request r = { .role = role, .site = "PS1" };

	if (addr != NULL) {
		assert_int_equal(ipnet_parse(addr, IPNET_HOST, &r.addrs[0], why,
		                     sizeof(why)),
		    0);
		r.naddrs = 1;
	}
	return r;
}

static void
ask(const struct loc_model *m, const struct loc_request *r,
    struct loc_answer *a)
{
	if (loc_query(m, r, a, why, sizeof(why)) != 0)
		fail_msg("loc_query: %s", why);
}

/* The answer as "name@minute" words, in order, into s. */
static const char *
list_into(const struct loc_answer *a, char *s, size_t len)
{
	size_t n = 0;

	s[0] = '\0';
	for (size_t i = 0; i < a->nsrc && n < len; i++)
		n += (size_t)snprintf(s + n, len - n, "%s%s@%d", i ? " " : "",
		    a->src[i].name, a->src[i].minute);
	return s;
}

/* The same, in a buffer of its own (one thread). */
static const char *
list(const struct loc_answer *a)
{
	static char s[2048];

	return list_into(a, s, sizeof(s));
}

static const struct loc_source *
source(const struct loc_answer *a, const char *name)
{
	for (size_t i = 0; i < a->nsrc; i++)
		if (strcmp(a->src[i].name, name) == 0)
			return &a->src[i];
	return NULL;
}

static bool
noted(const struct loc_answer *a, const char *text)
{
	for (size_t i = 0; i < a->nnotes; i++)
		if (strstr(a->notes[i], text) != NULL)
			return true;
	return false;
}

static void
test_seed_worked_example(void **state)
{
	struct loc_model *m = freeze(seed_example());
	struct loc_request r = client("10.1.0.77/24", LOC_DP);
	struct loc_answer a;

	(void)state;
	ask(m, &r, &a);
	assert_string_equal(list(&a),
	    "dp_a1@0 dp_a2@0 dp_b1@10 dp_b2@10 dp_c1@20 dp_c2@20 "
	    "siteserver@120");
	assert_true(a.in_boundary);
	assert_int_equal(a.ncurrent, 1);
	assert_string_equal(a.current[0], "BG_A");
	assert_int_equal(source(&a, "dp_a1")->relation, LOC_REL_CURRENT);
	assert_string_equal(source(&a, "dp_b1")->group, "BG_B");
	assert_int_equal(source(&a, "dp_b1")->relation, LOC_REL_NEIGHBOUR);
	assert_int_equal(source(&a, "dp_c2")->relation, LOC_REL_NEIGHBOUR);
	assert_int_equal(
	    source(&a, "siteserver")->relation, LOC_REL_SITE_DEFAULT);
	assert_string_equal(source(&a, "siteserver")->group,
	    "Default-Site-Boundary-Group<PS1>");
	assert_int_equal(a.nnotes, 0); /* notes only when asked */
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_explain_says_why(void **state)
{
	struct loc_model *m = freeze(seed_example());
	struct loc_request r = client("10.1.0.77/24", LOC_DP);
	struct loc_answer a;

	(void)state;
	r.explain = true;
	ask(m, &r, &a);
	assert_true(noted(&a,
	    "10.1.0.77/24 is in boundary B_A (subnet 10.1.0.0/24), a member "
	    "of BG_A"));
	assert_true(noted(&a,
	    "dp_b1 in BG_B: neighbour of BG_A, usable from minute 10 "
	    "(explicit link BG_A->BG_B, dp=10)"));
	assert_true(noted(&a,
	    "siteserver in Default-Site-Boundary-Group<PS1>: site default "
	    "group, usable from minute 120 (implied link from BG_A: Default "
	    "Behavior of site PS1, dp=120)"));
	assert_true(noted(&a,
	    "dp_a1 in BG_A: current group, usable from "
	    "minute 0"));
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_no_boundary_uses_site_default_group(void **state)
{
	struct loc_model *m = freeze(seed_example());
	struct loc_request r = client("192.168.9.9/24", LOC_DP);
	struct loc_answer a;

	(void)state;
	ask(m, &r, &a);
	assert_false(a.in_boundary);
	assert_string_equal(a.current[0], "Default-Site-Boundary-Group<PS1>");
	assert_string_equal(list(&a), "siteserver@0");
	assert_int_equal(a.src[0].relation, LOC_REL_SITE_DEFAULT);
	loc_answer_free(&a);
	r.site = NULL;
	assert_int_equal(loc_query(m, &r, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no boundary matches"));
	r.site = "XYZ";
	assert_int_equal(loc_query(m, &r, &a, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown site \"XYZ\"");
	loc_model_free(m);
}

static void
test_default_group_has_no_implied_links(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_request r = client("192.168.9.9/24", LOC_DP);
	struct loc_request ra = client("10.1.0.5/24", LOC_DP);
	struct loc_model *m;
	struct loc_answer a;

	(void)state;
	/* a second site: every custom group has an implied link to its
	 * default group too, a default group has none */
	assert_int_equal(loc_add_site(b, "PS2"), 0);
	assert_int_equal(loc_add_server(b, "ps2server", "PS2", DP), 0);
	assert_int_equal(loc_add_group_server(b,
	                     "Default-Site-Boundary-Group<PS2>", "ps2server"),
	    0);
	m = freeze(b);
	ask(m, &r, &a);
	assert_string_equal(list(&a), "siteserver@0");
	loc_answer_free(&a);
	ask(m, &ra, &a);
	assert_int_equal(source(&a, "ps2server")->minute, 120);
	assert_int_equal(
	    source(&a, "ps2server")->relation, LOC_REL_SITE_DEFAULT);
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_subnet_matches_exactly(void **state)
{
	struct loc_model *m = freeze(seed_example());
	struct loc_request r = client("10.1.0.77/16", LOC_DP);
	struct loc_answer a;

	(void)state;
	/* subnet ID 10.1.0.0/16 is not the boundary's 10.1.0.0/24 */
	ask(m, &r, &a);
	assert_false(a.in_boundary);
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_overlap_is_the_union(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_model *m;
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_answer a;
	int mn[LOC_NROLES];

	(void)state;
	/* an AD-site boundary puts the same client in BG_X too; BG_X's own
	 * neighbour BG_Y is a neighbour of the client */
	group(b, "BG_X", NULL, NULL);
	group(b, "BG_Y", NULL, NULL);
	assert_int_equal(
	    loc_add_boundary(b, "AD_X", LOC_B_ADSITE, "Branch"), 0);
	assert_int_equal(loc_add_member(b, "BG_X", "AD_X"), 0);
	server(b, "BG_X", "dp_x", DP);
	server(b, "BG_Y", "dp_y", DP);
	minutes(mn, 5, 0, 120);
	assert_int_equal(loc_add_link(b, "BG_X", "BG_Y", mn), 0);
	/* BG_B and BG_C are reached from both: the earlier time counts */
	minutes(mn, 3, 0, 120);
	assert_int_equal(loc_add_link(b, "BG_X", "BG_B", mn), 0);
	minutes(mn, 50, 0, 120); /* BG_A's 20 stays */
	assert_int_equal(loc_add_link(b, "BG_X", "BG_C", mn), 0);
	m = freeze(b);
	r.ad_site = "branch"; /* AD site names: any case */
	ask(m, &r, &a);
	assert_int_equal(a.ncurrent, 2);
	assert_string_equal(list(&a),
	    "dp_a1@0 dp_a2@0 dp_x@0 dp_b1@3 dp_b2@3 dp_y@5 dp_c1@20 dp_c2@20 "
	    "siteserver@120");
	assert_int_equal(source(&a, "dp_x")->relation, LOC_REL_CURRENT);
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_direct_neighbours_only(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_model *m;
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_answer a;
	int mn[LOC_NROLES];

	(void)state;
	group(b, "BG_D", NULL, NULL);
	server(b, "BG_D", "dp_d", DP);
	minutes(mn, 1, 0, 120);
	assert_int_equal(loc_add_link(b, "BG_B", "BG_D", mn), 0);
	m = freeze(b);
	r.explain = true;
	ask(m, &r, &a);
	assert_null(source(&a, "dp_d"));
	assert_true(noted(&a, "BG_D: not used: only BG_B links to it"));
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_never_blocks_one_role(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_model *m;
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_answer a;
	int mn[LOC_NROLES];

	(void)state;
	group(b, "BG_S", NULL, NULL);
	server(b, "BG_S", "dp_s", DP | SUP);
	minutes(mn, LOC_NEVER, 0, 10);
	assert_int_equal(loc_add_link(b, "BG_A", "BG_S", mn), 0);
	m = freeze(b);
	r.explain = true;
	ask(m, &r, &a);
	assert_null(source(&a, "dp_s"));
	assert_true(noted(&a,
	    "dp_s in BG_S: left out: link BG_A->BG_S says "
	    "never for dp"));
	loc_answer_free(&a);
	r.role = LOC_SUP;
	ask(m, &r, &a);
	assert_string_equal(list(&a), "dp_s@10");
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_explicit_link_overrides_implied(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_model *m;
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_request rb = client("10.2.0.5/24", LOC_DP);
	struct loc_request rc = client("10.3.0.5/24", LOC_DP);
	struct loc_answer a;
	int mn[LOC_NROLES];

	(void)state;
	minutes(mn, 30, 0, 120);
	assert_int_equal(
	    loc_add_link(b, "BG_A", "Default-Site-Boundary-Group<PS1>", mn), 0);
	minutes(mn, LOC_NEVER, 0, 120);
	assert_int_equal(
	    loc_add_link(b, "BG_C", "Default-Site-Boundary-Group<PS1>", mn), 0);
	minutes(mn, 60, 0, 120);
	assert_int_equal(loc_set_default_behavior(b, "PS1", mn), 0);
	m = freeze(b);
	ask(m, &r, &a); /* explicit 30 beats the Default Behavior */
	assert_int_equal(source(&a, "siteserver")->minute, 30);
	assert_int_equal(source(&a, "dp_b1")->minute, 10);
	loc_answer_free(&a);
	ask(m, &rb, &a); /* BG_B: implied link, Default Behavior 60 */
	assert_string_equal(list(&a), "dp_b1@0 dp_b2@0 siteserver@60");
	loc_answer_free(&a);
	ask(m, &rc, &a); /* BG_C: explicit never */
	assert_string_equal(list(&a), "dp_c1@0 dp_c2@0");
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_content_and_on_demand(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_model *m;
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_answer a;

	(void)state;
	assert_int_equal(loc_add_content(b, "dp_a2", "PKG1"), 0);
	assert_int_equal(loc_add_content(b, "dp_c1", "PKG1"), 0);
	assert_int_equal(loc_add_content(b, "dp_b1", "PKG2"), 0);
	assert_int_equal(loc_set_on_demand(b, "PKG2"), 0);
	m = freeze(b);
	r.content = "PKG1";
	r.explain = true;
	ask(m, &r, &a);
	assert_string_equal(list(&a), "dp_a2@0 dp_c1@20");
	assert_int_equal(a.ndist, 0);
	assert_true(noted(&a,
	    "dp_b1: left out: it does not hold content "
	    "PKG1, which does not distribute on demand"));
	loc_answer_free(&a);
	/* on demand: current DPs without it become sources and requests;
	 * a neighbour's DP without it does not */
	r.content = "PKG2";
	ask(m, &r, &a);
	assert_string_equal(list(&a), "dp_a1@0 dp_a2@0 dp_b1@10");
	assert_true(source(&a, "dp_a1")->on_demand);
	assert_false(source(&a, "dp_b1")->on_demand);
	assert_int_equal(a.ndist, 2);
	assert_string_equal(a.dist[0].content, "PKG2");
	assert_true(strcmp(a.dist[0].server, "dp_a1") == 0 ||
	    strcmp(a.dist[1].server, "dp_a1") == 0);
	loc_answer_free(&a);
	r.content = "NOWHERE";
	ask(m, &r, &a);
	assert_int_equal(a.nsrc, 0);
	loc_answer_free(&a);
	loc_model_free(m);
}

static struct loc_builder *
with_peers(const struct loc_group_opts *o)
{
	struct loc_builder *b = seed_example();

	assert_int_equal(
	    loc_add_boundary(b, "B_A2", LOC_B_SUBNET, "10.1.1.0/24"), 0);
	assert_int_equal(loc_add_member(b, "BG_A", "B_A2"), 0);
	assert_int_equal(loc_add_content(b, "dp_a1", "PKG1"), 0);
	assert_int_equal(loc_add_peer(b, "PEER_SAME", "10.1.0.20/24"), 0);
	assert_int_equal(loc_add_peer(b, "PEER_OTHER", "10.1.1.20/24"), 0);
	assert_int_equal(loc_add_peer(b, "PEER_B", "10.2.0.20/24"), 0);
	assert_int_equal(loc_add_peer_content(b, "PEER_SAME", "PKG1"), 0);
	assert_int_equal(loc_add_peer_content(b, "PEER_OTHER", "PKG1"), 0);
	assert_int_equal(loc_add_peer_content(b, "PEER_B", "PKG1"), 0);
	if (o != NULL)
		assert_int_equal(loc_set_group_opts(b, "BG_A", o), 0);
	return b;
}

static const char *
peers_for(const struct loc_group_opts *o, enum loc_mode mode)
{
	static char s[2048];
	struct loc_model *m = freeze(with_peers(o));
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_answer a;

	r.content = "PKG1";
	r.mode = mode;
	r.ts_use_remote = r.ts_use_default = true;
	ask(m, &r, &a);
	snprintf(s, sizeof(s), "%s", list(&a));
	loc_answer_free(&a);
	loc_model_free(m);
	return s;
}

static void
test_peer_options(void **state)
{
	struct loc_group_opts o = { .allow_peers = true };

	(void)state;
	/* default: peers of the current groups first, not a neighbour's */
	assert_string_equal(peers_for(NULL, LOC_MODE_NORMAL),
	    "PEER_OTHER@0 PEER_SAME@0 dp_a1@0");
	o.peers_same_subnet_only = true;
	assert_string_equal(
	    peers_for(&o, LOC_MODE_NORMAL), "PEER_SAME@0 dp_a1@0");
	o.peers_same_subnet_only = false;
	o.prefer_dp_over_peers = true; /* only for the same subnet */
	assert_string_equal(
	    peers_for(&o, LOC_MODE_NORMAL), "PEER_OTHER@0 dp_a1@0 PEER_SAME@0");
	o = (struct loc_group_opts){ .allow_peers = false };
	assert_string_equal(peers_for(&o, LOC_MODE_NORMAL), "dp_a1@0");
	/* client installation: no peers */
	assert_string_equal(
	    peers_for(NULL, LOC_MODE_CLIENT_INSTALL), "dp_a1@0");
}

static void
test_cloud_preference(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_group_opts o = { .allow_peers = true, .prefer_cloud = true };
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_model *m;
	struct loc_answer a;

	(void)state;
	server(b, "BG_A", "cloud_a", CLOUD);
	m = freeze(b);
	ask(m, &r, &a);
	assert_string_equal(a.src[2].name, "cloud_a");
	assert_int_equal(a.src[2].kind, LOC_K_CLOUD);
	loc_answer_free(&a);
	loc_model_free(m);
	b = seed_example();
	server(b, "BG_A", "cloud_a", CLOUD);
	assert_int_equal(loc_set_group_opts(b, "BG_A", &o), 0);
	m = freeze(b);
	ask(m, &r, &a);
	assert_string_equal(a.src[0].name, "cloud_a");
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_client_install_order(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_model *m;
	struct loc_answer a;
	int mn[LOC_NROLES];

	(void)state;
	/* the default group explicitly earlier than BG_C: still last */
	minutes(mn, 15, 0, 120);
	assert_int_equal(
	    loc_add_link(b, "BG_A", "Default-Site-Boundary-Group<PS1>", mn), 0);
	m = freeze(b);
	r.mode = LOC_MODE_CLIENT_INSTALL;
	ask(m, &r, &a);
	assert_string_equal(list(&a),
	    "dp_a1@0 dp_a2@0 dp_b1@0 dp_b2@0 dp_c1@0 dp_c2@0 siteserver@0");
	assert_int_equal(source(&a, "dp_c1")->link_minutes, 20);
	loc_answer_free(&a);
	r.mode = LOC_MODE_NORMAL;
	ask(m, &r, &a); /* the timed order puts it before BG_C */
	assert_string_equal(list(&a),
	    "dp_a1@0 dp_a2@0 dp_b1@10 dp_b2@10 "
	    "siteserver@15 dp_c1@20 dp_c2@20");
	loc_answer_free(&a);
	r.role = LOC_MP;
	r.mode = LOC_MODE_CLIENT_INSTALL;
	assert_int_equal(loc_query(m, &r, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "distribution points"));
	loc_model_free(m);
}

static void
test_task_sequence_order(void **state)
{
	struct loc_builder *b = with_peers(NULL);
	struct loc_request r = client("10.1.0.5/24", LOC_DP);
	struct loc_model *m;
	struct loc_answer a;
	int mn[LOC_NROLES];

	(void)state;
	/* BG_C by a shorter failover time than BG_B now */
	group(b, "BG_E", NULL, NULL);
	server(b, "BG_E", "dp_e", DP);
	minutes(mn, 5, 0, 120);
	assert_int_equal(loc_add_link(b, "BG_A", "BG_E", mn), 0);
	assert_int_equal(loc_add_content(b, "dp_e", "PKG1"), 0);
	assert_int_equal(loc_add_content(b, "dp_b2", "PKG1"), 0);
	assert_int_equal(loc_add_content(b, "siteserver", "PKG1"), 0);
	m = freeze(b);
	r.content = "PKG1";
	r.mode = LOC_MODE_TASK_SEQUENCE;
	ask(m, &r, &a); /* neither deployment option */
	assert_string_equal(list(&a), "PEER_OTHER@0 PEER_SAME@0 dp_a1@0");
	loc_answer_free(&a);
	r.ts_use_remote = true;
	ask(m, &r, &a);
	assert_string_equal(
	    list(&a), "PEER_OTHER@0 PEER_SAME@0 dp_a1@0 dp_e@0 dp_b2@0");
	loc_answer_free(&a);
	r.ts_use_default = true;
	ask(m, &r, &a);
	assert_string_equal(list(&a),
	    "PEER_OTHER@0 PEER_SAME@0 dp_a1@0 dp_e@0 dp_b2@0 siteserver@0");
	loc_answer_free(&a);
	r.ts_use_remote = false;
	ask(m, &r, &a);
	assert_string_equal(
	    list(&a), "PEER_OTHER@0 PEER_SAME@0 dp_a1@0 siteserver@0");
	loc_answer_free(&a);
	loc_model_free(m);
}

static struct loc_builder *
mp_model(bool prefer)
{
	struct loc_builder *b = seed_example();
	int mn[LOC_NROLES];

	loc_set_prefer_bg_mps(b, prefer);
	server(b, "BG_A", "mp_a", MP);
	server(b, "BG_B", "mp_b", MP);
	server(b, "Default-Site-Boundary-Group<PS1>", "mp_def", MP);
	/* in a neighbour and the site default group: locality 2 */
	server(b, "BG_B", "mp_both", MP);
	assert_int_equal(loc_add_group_server(
	                     b, "Default-Site-Boundary-Group<PS1>", "mp_both"),
	    0);
	group(b, "BG_SECURE", NULL, NULL);
	server(b, "BG_SECURE", "mp_secure", MP);
	minutes(mn, 10, LOC_NEVER, 120);
	assert_int_equal(loc_add_link(b, "BG_A", "BG_SECURE", mn), 0);
	return b;
}

static void
test_mp_locality(void **state)
{
	struct loc_model *m = freeze(mp_model(true));
	struct loc_request r = client("10.1.0.5/24", LOC_MP);
	struct loc_answer a;

	(void)state;
	ask(m, &r, &a);
	assert_string_equal(list(&a), "mp_a@0 mp_b@0 mp_both@0 mp_def@0");
	assert_int_equal(source(&a, "mp_a")->locality, 3);
	assert_int_equal(source(&a, "mp_b")->locality, 2);
	assert_int_equal(source(&a, "mp_both")->locality, 2);
	assert_int_equal(source(&a, "mp_def")->locality, 1);
	assert_null(source(&a, "mp_secure")); /* never */
	loc_answer_free(&a);
	loc_model_free(m);
	/* the hierarchy setting off: every MP of the site, locality 3 */
	m = freeze(mp_model(false));
	ask(m, &r, &a);
	assert_int_equal(a.nsrc, 5);
	for (size_t i = 0; i < a.nsrc; i++) {
		assert_int_equal(a.src[i].locality, 3);
		assert_int_equal(a.src[i].relation, LOC_REL_SITE_LIST);
	}
	loc_answer_free(&a);
	loc_model_free(m);
}

static void
test_complete_mp_list_when_groups_have_none(void **state)
{
	struct loc_model *m = freeze(mp_model(true));
	struct loc_request r = client("10.3.0.5/24", LOC_MP); /* BG_C */
	struct loc_answer a;

	(void)state;
	r.explain = true;
	ask(m, &r, &a);
	/* BG_C has no MP: the default group's by the implied link, then the
	 * rest of the site's, locality 0 */
	assert_string_equal(
	    list(&a), "mp_both@0 mp_def@0 mp_a@0 mp_b@0 mp_secure@0");
	assert_int_equal(source(&a, "mp_def")->locality, 1);
	assert_int_equal(source(&a, "mp_a")->locality, 0);
	assert_int_equal(source(&a, "mp_a")->relation, LOC_REL_SITE_LIST);
	assert_null(source(&a, "mp_a")->group);
	assert_true(noted(&a,
	    "mp_a: in the complete list of management "
	    "points of site PS1"));
	loc_answer_free(&a);
	loc_model_free(m);
}

static uint32_t
pick_last(void *ctx, uint32_t n)
{
	*(uint32_t *)ctx = n;
	return n - 1;
}

static void
test_site_assignment(void **state)
{
	struct loc_builder *b = loc_builder_new();
	struct loc_request r = client("10.9.0.1/24", LOC_MP);
	struct loc_model *m;
	uint32_t seen = 0;
	const char *s;

	(void)state;
	assert_int_equal(loc_add_site(b, "PS1"), 0);
	assert_int_equal(loc_add_site(b, "PS2"), 0);
	assert_int_equal(loc_add_group(b, "G1", "PS1"), 0);
	assert_int_equal(loc_add_group(b, "G2", "PS2"), 0);
	assert_int_equal(loc_add_group(b, "G3", NULL), 0);
	assert_int_equal(
	    loc_add_boundary(b, "R", LOC_B_RANGE, "10.9.0.0-10.9.0.255"), 0);
	assert_int_equal(loc_add_member(b, "G1", "R"), 0);
	assert_int_equal(loc_add_member(b, "G2", "R"), 0);
	assert_int_equal(loc_add_member(b, "G3", "R"), 0);
	m = freeze(b);
	s = loc_assign_site(m, &r, NULL, pick_last, &seen, why, sizeof(why));
	assert_string_equal(s, "PS2");
	assert_int_equal(seen, 2); /* a random choice among two sites */
	seen = 0;
	s = loc_assign_site(m, &r, "PS1", pick_last, &seen, why, sizeof(why));
	assert_string_equal(s, "PS1"); /* never redone */
	assert_int_equal(seen, 0);
	r = client("10.8.0.1/24", LOC_MP);
	assert_null(
	    loc_assign_site(m, &r, "", pick_last, &seen, why, sizeof(why)));
	assert_string_equal(why, "no boundary matches this client");
	loc_model_free(m);
}

static void
test_boundary_types(void **state)
{
	struct loc_builder *b = loc_builder_new();
	struct loc_request r = client(NULL, LOC_DP);
	struct loc_model *m;
	uint32_t g[8];

	(void)state;
	assert_int_equal(loc_add_site(b, "PS1"), 0);
	group(b, "G_R1", NULL, NULL);
	group(b, "G_R2", NULL, NULL);
	group(b, "G_6", NULL, NULL);
	group(b, "G_V", NULL, NULL);
	assert_int_equal(
	    loc_add_boundary(b, "R1", LOC_B_RANGE, "10.0.0.0-10.0.0.100"), 0);
	assert_int_equal(
	    loc_add_boundary(b, "R2", LOC_B_RANGE, "10.0.0.50-10.0.1.0"), 0);
	assert_int_equal(
	    loc_add_boundary(b, "V6", LOC_B_IPV6, "2001:db8:1::/64"), 0);
	assert_int_equal(loc_add_vpn_boundary(b, "VPN", "Contoso",
	                     LOC_VPN_DESCRIPTION, LOC_VPN_PREFIX),
	    0);
	assert_int_equal(loc_add_member(b, "G_R1", "R1"), 0);
	assert_int_equal(loc_add_member(b, "G_R2", "R2"), 0);
	assert_int_equal(loc_add_member(b, "G_6", "V6"), 0);
	assert_int_equal(loc_add_member(b, "G_V", "VPN"), 0);
	m = freeze(b);
	ipnet_parse("10.0.0.75/16", IPNET_HOST, &r.addrs[0], why, sizeof(why));
	ipnet_parse(
	    "2001:db8:1::9/64", IPNET_HOST, &r.addrs[1], why, sizeof(why));
	r.naddrs = 2;
	assert_int_equal(loc_current_groups(m, &r, g, 8), 3);
	r.vpn_description = "contoso remote access";
	assert_int_equal(loc_current_groups(m, &r, g, 8), 4);
	assert_string_equal(loc_group_name(m, g[3]), "G_V");
	ipnet_parse("10.0.0.101/24", IPNET_HOST, &r.addrs[0], why, sizeof(why));
	r.naddrs = 1;
	r.vpn_description = "Fabrikam";
	assert_int_equal(loc_current_groups(m, &r, g, 8), 1);
	assert_string_equal(loc_group_name(m, g[0]), "G_R2");
	ipnet_parse("10.0.1.1/24", IPNET_HOST, &r.addrs[0], why, sizeof(why));
	assert_int_equal(loc_current_groups(m, &r, g, 8), 0);
	loc_model_free(m);
}

struct worker {
	const struct loc_model *m;
	char want[2048];
	int mismatches;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct loc_request r = client("10.1.0.77/24", LOC_DP);
	struct loc_answer a;
	char err[256], got[2048];

	r.explain = true;
	for (int i = 0; i < 2000; i++) {
		if (loc_query(w->m, &r, &a, err, sizeof(err)) != 0 ||
		    strcmp(list_into(&a, got, sizeof(got)), w->want) != 0)
			w->mismatches++;
		loc_answer_free(&a);
	}
	return NULL;
}

static void
test_many_threads_share_a_model(void **state)
{
	struct loc_model *m = freeze(seed_example());
	struct worker w[4];
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .m = m };
		snprintf(w[i].want, sizeof(w[i].want), "%s",
		    "dp_a1@0 dp_a2@0 dp_b1@10 dp_b2@10 dp_c1@20 dp_c2@20 "
		    "siteserver@120");
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].mismatches, 0);
	}
	loc_model_free(m);
}

static void
expect_refused(struct loc_builder *b, const char *text)
{
	assert_non_null(loc_builder_error(b));
	assert_null(loc_freeze(b, why, sizeof(why)));
	if (strstr(why, text) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", why, text);
}

static void
test_bad_model_is_refused(void **state)
{
	struct loc_builder *b;
	int mn[LOC_NROLES];

	(void)state;
	loc_fallback_defaults(mn);
	b = seed_example();
	assert_int_equal(loc_add_link(b, "BG_A", "BG_A", mn), -1);
	expect_refused(b, "group BG_A cannot link to itself");
	b = seed_example();
	mn[LOC_SUP] = -5;
	assert_int_equal(loc_add_link(b, "BG_B", "BG_C", mn), -1);
	expect_refused(b, "sup minutes must be 0 or more, or never");
	b = seed_example();
	assert_int_equal(
	    loc_add_boundary(b, "BAD", LOC_B_SUBNET, "10.5.0.1/24"), -1);
	expect_refused(b, "has host bits set: the subnet ID is 10.5.0.0/24");
	b = seed_example();
	assert_int_equal(loc_add_member(b, "BG_NONE", "B_A"), -1);
	expect_refused(b, "unknown group \"BG_NONE\"");
	b = seed_example();
	assert_int_equal(loc_add_content(b, "nowhere", "P"), -1);
	expect_refused(b, "unknown server \"nowhere\"");
}

static void
test_role_and_group_names(void **state)
{
	char out[LOC_ROLE_LIST_MAX], name[LOC_DEFAULT_GROUP_MAX];
	enum loc_role r;

	(void)state;
	for (int i = 0; i < LOC_NROLES; i++) {
		assert_int_equal(loc_role_parse(loc_role_name(i), &r), 0);
		assert_int_equal(r, i);
	}
	assert_int_equal(loc_role_parse("printer", &r), -1);
	assert_int_equal(loc_role_list(out, sizeof(out), ", ", " and "),
	    strlen("dp, clouddp, sup, smp, mp and cmg"));
	assert_string_equal(out, "dp, clouddp, sup, smp, mp and cmg");
	loc_role_list(out, 8, "|", "|");
	assert_string_equal(out, "dp|clou");
	loc_default_group_name("ABC", name, sizeof(name));
	assert_string_equal(name, "Default-Site-Boundary-Group<ABC>");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_worked_example),
		cmocka_unit_test(test_explain_says_why),
		cmocka_unit_test(test_no_boundary_uses_site_default_group),
		cmocka_unit_test(test_default_group_has_no_implied_links),
		cmocka_unit_test(test_subnet_matches_exactly),
		cmocka_unit_test(test_overlap_is_the_union),
		cmocka_unit_test(test_direct_neighbours_only),
		cmocka_unit_test(test_never_blocks_one_role),
		cmocka_unit_test(test_explicit_link_overrides_implied),
		cmocka_unit_test(test_content_and_on_demand),
		cmocka_unit_test(test_peer_options),
		cmocka_unit_test(test_cloud_preference),
		cmocka_unit_test(test_client_install_order),
		cmocka_unit_test(test_task_sequence_order),
		cmocka_unit_test(test_mp_locality),
		cmocka_unit_test(test_complete_mp_list_when_groups_have_none),
		cmocka_unit_test(test_site_assignment),
		cmocka_unit_test(test_boundary_types),
		cmocka_unit_test(test_bad_model_is_refused),
		cmocka_unit_test(test_many_threads_share_a_model),
		cmocka_unit_test(test_role_and_group_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
