/*
 * test_fallback.c - the client's fallback (seed 003), driven by answers
 * of the location engine: the distribution point walker on the seed's
 * worked example, the software update point's 120-minute rule and its
 * 10/130-minute example, management points in locality order with five
 * errors in ten minutes and the refresh, and the state kept across an
 * agent restart.
 *
 * The agent's files are included whole (they are not in libsitesys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

#define DP LOC_ROLE_BIT(LOC_DP)
#define MP LOC_ROLE_BIT(LOC_MP)
#define SUP LOC_ROLE_BIT(LOC_SUP)
#define DEFAULT_GROUP "Default-Site-Boundary-Group<PS1>"

/* An arbitrary start of fallback: walkers take any clock. */
#define T0 ((int64_t)1700000000)
#define MIN(m) (T0 + (int64_t)((m)*60))

static char why[512];

#include "loc_fixture.h"

/* ---- the model, built and asked as the MP does ---- */

/* a group whose one boundary (named as the group) is subnet, if any */
static void
group(struct loc_builder *b, const char *name, const char *subnet)
{
	group_with(b, name, name, subnet);
}

static void
link_groups(struct loc_builder *b, const char *from, const char *to, int dp,
    int mp, int sup)
{
	int m[LOC_NROLES];

	minutes(m, dp, mp, sup);
	assert_int_equal(loc_add_link(b, from, to, m), 0);
}

/*
 * The seed's example: BG_A (the client's) with DP_A1, DP_A2; BG_B at 10
 * minutes; BG_C at 20; the site server's DP in the site default group
 * (120 minutes, the implied link).
 */
static struct loc_builder *
seed_example(void)
{
	struct loc_builder *b = loc_builder_new();

	assert_non_null(b);
	assert_int_equal(loc_add_site(b, "PS1"), 0);
	group(b, "BG_A", "10.1.0.0/24");
	group(b, "BG_B", "10.2.0.0/24");
	group(b, "BG_C", "10.3.0.0/24");
	server(b, "BG_A", "dp_a1", DP);
	server(b, "BG_A", "dp_a2", DP);
	server(b, "BG_B", "dp_b1", DP);
	server(b, "BG_B", "dp_b2", DP);
	server(b, "BG_C", "dp_c1", DP);
	server(b, "BG_C", "dp_c2", DP);
	server(b, DEFAULT_GROUP, "siteserver", DP);
	link_groups(b, "BG_A", "BG_B", 10, 0, 120);
	link_groups(b, "BG_A", "BG_C", 20, 0, 120);
	return b;
}

/* The models asked, kept until the end: answers point into them. */
static struct loc_model *models[64];
static size_t nmodels;

static int
free_models(void **state)
{
	(void)state;
	while (nmodels > 0)
		loc_model_free(models[--nmodels]);
	return 0;
}

/* The engine's answer for a client at addr asking for role. */
static void
ask(struct loc_builder *b, const char *addr, enum loc_role role,
    struct loc_answer *a)
{
	struct loc_model *m = loc_freeze(b, why, sizeof(why));
	struct loc_request r = { .role = role, .site = "PS1" };

	if (m == NULL)
		fail_msg("loc_freeze: %s", why);
	assert_true(nmodels < sizeof(models) / sizeof(models[0]));
	models[nmodels++] = m;
	assert_int_equal(
	    ipnet_parse(addr, IPNET_HOST, &r.addrs[0], why, sizeof(why)), 0);
	r.naddrs = 1;
	if (loc_query(m, &r, a, why, sizeof(why)) != 0)
		fail_msg("loc_query: %s", why);
}

/* ---- a random number generator the test decides ---- */

struct pick {
	uint32_t value; /* what it returns */
	uint32_t asked_n; /* the n it was asked with */
	int calls;
};

static uint32_t
fixed_rnd(void *ctx, uint32_t n)
{
	struct pick *p = ctx;

	p->asked_n = n;
	p->calls++;
	return p->value;
}

static const char *
dp_at(struct fb_dp *w, const struct fb_list *l, double m)
{
	const struct loc_source *s = fb_dp_source(w, l, MIN(m));

	return s != NULL ? s->name : "(none)";
}

/* ---- distribution points ---- */

/*
 * The worked example, first pick DP_A1: two minutes each, start over
 * after the last, BG_B appended at 10, BG_C at 20, the site server at 120.
 */
static void
test_dp_seed_example(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_dp w;
	struct pick p = { .value = 0 };

	(void)state;
	ask(seed_example(), "10.1.0.77/24", LOC_DP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_dp_start(&w, T0, fixed_rnd, &p);
	assert_string_equal(dp_at(&w, &l, 0), "dp_a1");
	/* random among the current pool only: DP_A1 and DP_A2 */
	assert_int_equal(p.asked_n, 2);
	assert_string_equal(dp_at(&w, &l, 1.9), "dp_a1");
	assert_string_equal(dp_at(&w, &l, 2), "dp_a2");
	/* after the last of the pool: the beginning again */
	assert_string_equal(dp_at(&w, &l, 4), "dp_a1");
	assert_string_equal(dp_at(&w, &l, 6), "dp_a2");
	assert_string_equal(dp_at(&w, &l, 8), "dp_a1");
	/* minute 10: BG_B appended, so DP_A2 is not the last any more */
	assert_string_equal(dp_at(&w, &l, 10), "dp_a2");
	assert_string_equal(dp_at(&w, &l, 12), "dp_b1");
	assert_string_equal(dp_at(&w, &l, 14), "dp_b2");
	assert_string_equal(dp_at(&w, &l, 16), "dp_a1");
	assert_string_equal(dp_at(&w, &l, 18), "dp_a2");
	/* minute 20: BG_C appended */
	assert_string_equal(dp_at(&w, &l, 20), "dp_b1");
	assert_string_equal(dp_at(&w, &l, 22), "dp_b2");
	assert_string_equal(dp_at(&w, &l, 24), "dp_c1");
	assert_string_equal(dp_at(&w, &l, 26), "dp_c2");
	assert_string_equal(dp_at(&w, &l, 28), "dp_a1");
	/* six sources from minute 28: minute 118 is the 45th step, DP_B2 */
	assert_string_equal(dp_at(&w, &l, 118), "dp_b2");
	assert_int_equal(fb_pool_size(&l, 119 * 60 + 59), 6);
	/* minute 120: the site default group's server joins, at the end */
	assert_int_equal(fb_pool_size(&l, 120 * 60), 7);
	assert_string_equal(dp_at(&w, &l, 120), "dp_c1");
	assert_string_equal(dp_at(&w, &l, 122), "dp_c2");
	assert_string_equal(dp_at(&w, &l, 124), "siteserver");
	assert_string_equal(dp_at(&w, &l, 126), "dp_a1");
	assert_int_equal(p.calls, 1); /* only the first pick is random */
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* No source is tried before its group's minute, checked every 30 s. */
static void
test_dp_never_early(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct pick p = { .value = 1 };

	(void)state;
	ask(seed_example(), "10.1.0.77/24", LOC_DP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	for (p.value = 0; p.value < 2; p.value++) {
		struct fb_dp w;
		bool saw_b = false, saw_c = false, saw_site = false;

		fb_dp_start(&w, T0, fixed_rnd, &p);
		for (double m = 0; m < 130; m += 0.5) {
			const char *s = dp_at(&w, &l, m);

			if (strncmp(s, "dp_b", 4) == 0)
				assert_true(m >= 10), saw_b = true;
			if (strncmp(s, "dp_c", 4) == 0)
				assert_true(m >= 20), saw_c = true;
			if (strcmp(s, "siteserver") == 0)
				assert_true(m >= 120), saw_site = true;
		}
		assert_true(saw_b && saw_c && saw_site);
	}
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* The first pick is the random one; after the last comes the first. */
static void
test_dp_random_first_pick(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_dp w;
	struct pick p = { .value = 1 };

	(void)state;
	ask(seed_example(), "10.1.0.77/24", LOC_DP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_dp_start(&w, T0, fixed_rnd, &p);
	assert_string_equal(dp_at(&w, &l, 0), "dp_a2");
	assert_string_equal(dp_at(&w, &l, 2), "dp_a1");
	assert_string_equal(dp_at(&w, &l, 4), "dp_a2");
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* A failure reported by the client moves on at once, and the next
 * source then has its two minutes. */
static void
test_dp_failure_moves_on(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_dp w;
	struct pick p = { .value = 0 };

	(void)state;
	ask(seed_example(), "10.1.0.77/24", LOC_DP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_dp_start(&w, T0, fixed_rnd, &p);
	assert_string_equal(dp_at(&w, &l, 0), "dp_a1");
	assert_string_equal(fb_dp_failed(&w, &l, MIN(0.5))->name, "dp_a2");
	assert_string_equal(dp_at(&w, &l, 2.4), "dp_a2");
	assert_string_equal(dp_at(&w, &l, 2.5), "dp_a1");
	/* at minute 10 the pool has grown: a failure goes on to BG_B */
	assert_string_equal(dp_at(&w, &l, 10), "dp_a2");
	assert_string_equal(fb_dp_failed(&w, &l, MIN(10.1))->name, "dp_b1");
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* No current source: nothing until the first group's minute. */
static void
test_dp_empty_current_pool(void **state)
{
	struct loc_builder *b = seed_example();
	struct loc_answer a;
	struct fb_list l;
	struct fb_dp w;
	struct pick p = { .value = 1 };

	(void)state;
	group(b, "BG_EMPTY", "10.9.0.0/24");
	link_groups(b, "BG_EMPTY", "BG_B", 10, 0, 120);
	ask(b, "10.9.0.5/24", LOC_DP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_dp_start(&w, T0, fixed_rnd, &p);
	assert_null(fb_dp_source(&w, &l, MIN(9.9)));
	assert_null(fb_dp_failed(&w, &l, MIN(9.9)));
	assert_string_equal(dp_at(&w, &l, 10), "dp_b2");
	assert_int_equal(p.asked_n, 2);
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* ---- software update points ---- */

/*
 * The seed's example: SUPs of group A fall back after 10 minutes, of B
 * after 130; a client in Z fails to reach its last known-good SUP.
 */
static struct loc_builder *
sup_example(void)
{
	struct loc_builder *b = loc_builder_new();

	assert_non_null(b);
	assert_int_equal(loc_add_site(b, "PS1"), 0);
	group(b, "Z", "10.26.0.0/24");
	group(b, "A", NULL);
	group(b, "B", NULL);
	server(b, "Z", "sup_z", SUP);
	server(b, "A", "sup_a", SUP);
	server(b, "B", "sup_b", SUP);
	link_groups(b, "Z", "A", 120, 0, 10);
	link_groups(b, "Z", "B", 120, 0, 130);
	return b;
}

/* The pool at minute m as "a b c". */
static const char *
sup_pool(const struct fb_sup *w, const struct fb_list *l, double m)
{
	static char s[512];
	const char *names[16];
	size_t n = fb_sup_pool(w, l, MIN(m), names, 16), len = 0;

	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    s + len, sizeof(s) - len, "%s%s", i ? " " : "", names[i]);
	return s;
}

static void
test_sup_seed_example(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_sup w = { 0 };

	(void)state;
	ask(sup_example(), "10.26.0.9/24", LOC_SUP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_sup_reached(&w, "sup_z", MIN(-300));
	fb_sup_failed(&w, MIN(0));
	/* the first 120 minutes: only the original server */
	assert_string_equal(fb_sup_source(&w, &l, MIN(0)), "sup_z");
	assert_string_equal(sup_pool(&w, &l, 9.9), "sup_z");
	/* at 10, A's are in the pool, but not contacted */
	assert_string_equal(sup_pool(&w, &l, 10), "sup_z sup_a");
	assert_string_equal(fb_sup_source(&w, &l, MIN(10)), "sup_z");
	fb_sup_failed(
	    &w, MIN(60)); /* failures during the hold change nothing */
	assert_string_equal(fb_sup_source(&w, &l, MIN(119.99)), "sup_z");
	/* at 120: the search widens to the pool, A's included, B's not */
	assert_string_equal(fb_sup_source(&w, &l, MIN(120)), "sup_a");
	assert_string_equal(sup_pool(&w, &l, 129.9), "sup_z sup_a");
	/* at 130 (10 more minutes) B's join */
	assert_string_equal(sup_pool(&w, &l, 130), "sup_z sup_a sup_b");
	assert_string_equal(fb_sup_source(&w, &l, MIN(130)), "sup_a");
	fb_sup_failed(&w, MIN(131));
	assert_string_equal(fb_sup_source(&w, &l, MIN(131)), "sup_b");
	fb_sup_failed(&w, MIN(132));
	assert_string_equal(fb_sup_source(&w, &l, MIN(132)), "sup_z");
	/* reaching one makes it the last known-good; fallback is over */
	fb_sup_reached(&w, "sup_b", MIN(133));
	assert_string_equal(fb_sup_source(&w, &l, MIN(500)), "sup_b");
	assert_false(w.failing);
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* The hold counts from the first failure, and holds a server that is in
 * none of the client's groups. */
static void
test_sup_hold_from_first_failure(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_sup w = { 0 };

	(void)state;
	ask(sup_example(), "10.26.0.9/24", LOC_SUP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_sup_reached(&w, "sup_elsewhere", MIN(-1));
	assert_string_equal(fb_sup_source(&w, &l, MIN(1000)), "sup_elsewhere");
	fb_sup_failed(&w, MIN(0));
	fb_sup_failed(&w, MIN(100));
	assert_string_equal(fb_sup_source(&w, &l, MIN(119)), "sup_elsewhere");
	/* not in the pool: the turn starts at the pool's first */
	assert_string_equal(fb_sup_source(&w, &l, MIN(120)), "sup_z");
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* A new client has no last known-good server: no hold. */
static void
test_sup_new_client(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_sup w = { 0 };

	(void)state;
	ask(sup_example(), "10.26.0.9/24", LOC_SUP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	assert_string_equal(fb_sup_source(&w, &l, MIN(0)), "sup_z");
	fb_sup_failed(&w, MIN(0));
	assert_string_equal(fb_sup_source(&w, &l, MIN(10)), "sup_a");
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* next-sup: the one after the one in use, at once, wrapping round; the
 * hold is over; a list of one changes nothing. */
static void
test_sup_next(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_sup w = { 0 };

	(void)state;
	ask(sup_example(), "10.26.0.9/24", LOC_SUP, &a);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	fb_sup_reached(&w, "sup_z", MIN(-300));
	fb_sup_failed(&w, MIN(0)); /* the hold on sup_z begins */
	assert_string_equal(fb_sup_next(&w, &l, MIN(1)), "sup_a");
	assert_false(w.failing);
	assert_string_equal(fb_sup_source(&w, &l, MIN(1)), "sup_a");
	assert_string_equal(fb_sup_next(&w, &l, MIN(2)), "sup_b");
	assert_string_equal(fb_sup_next(&w, &l, MIN(3)), "sup_z");
	/* none known: the first of the list is in use, the next is taken */
	memset(&w, 0, sizeof(w));
	assert_string_equal(fb_sup_next(&w, &l, MIN(0)), "sup_a");
	l.n = 1;
	memset(&w, 0, sizeof(w));
	assert_null(fb_sup_next(&w, &l, MIN(0)));
	assert_string_equal(w.known_good, "");
	l.n = 3;
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* ---- management points ---- */

static struct loc_builder *
mp_model(void)
{
	struct loc_builder *b = seed_example();

	loc_set_prefer_bg_mps(b, true);
	server(b, "BG_A", "mp_a", MP);
	server(b, "BG_B", "mp_b", MP);
	server(b, DEFAULT_GROUP, "mp_def", MP);
	return b;
}

/* An answer whose sources are in reverse: the walker sorts by locality. */
static void
reverse(struct loc_answer *a)
{
	for (size_t i = 0; i < a->nsrc / 2; i++) {
		struct loc_source t = a->src[i];

		a->src[i] = a->src[a->nsrc - 1 - i];
		a->src[a->nsrc - 1 - i] = t;
	}
}

static const char *
mp_at(struct fb_mp *w, const struct fb_list *l, double m)
{
	const struct loc_source *s = fb_mp_source(w, l, MIN(m));

	return s != NULL ? s->name : "(none)";
}

static void
test_mp_locality_order(void **state)
{
	struct loc_answer a;
	struct fb_list l;
	struct fb_mp w = { 0 };

	(void)state;
	ask(mp_model(), "10.1.0.5/24", LOC_MP, &a);
	reverse(&a);
	assert_string_equal(a.src[0].name, "mp_def");
	assert_int_equal(fb_list_by_locality(&a, &l), 0);
	assert_string_equal(mp_at(&w, &l, 0), "mp_a");
	assert_int_equal(l.v[0]->locality, 3);
	assert_string_equal(l.v[1]->name, "mp_b");
	assert_int_equal(l.v[1]->locality, 2);
	assert_string_equal(l.v[2]->name, "mp_def");
	assert_int_equal(l.v[2]->locality, 1);
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* errors at minutes m[0..n) */
static bool
errors(struct fb_mp *w, const struct fb_list *l, const double *m, size_t n)
{
	bool moved = false;

	for (size_t i = 0; i < n; i++)
		moved = fb_mp_error(w, l, MIN(m[i]));
	return moved;
}

static void
test_mp_five_errors_in_ten_minutes(void **state)
{
	static const double four[] = { 0, 0.1, 0.2, 0.3 };
	static const double spread[] = { 0, 2.5, 5, 7.5, 10.02 };
	static const double ten[] = { 0, 2.5, 5, 7.5, 10 };
	struct loc_answer a;
	struct fb_list l;
	struct fb_mp w = { 0 };

	(void)state;
	ask(mp_model(), "10.1.0.5/24", LOC_MP, &a);
	assert_int_equal(fb_list_by_locality(&a, &l), 0);
	/* four errors do not move the client */
	assert_false(errors(&w, &l, four, 4));
	assert_string_equal(mp_at(&w, &l, 1), "mp_a");
	/* the fifth within ten minutes does: the next by locality */
	assert_true(fb_mp_error(&w, &l, MIN(9)));
	assert_string_equal(mp_at(&w, &l, 9), "mp_b");
	/* five spread over more than ten minutes do not */
	fb_mp_refresh(&w, MIN(20));
	assert_false(errors(&w, &l, spread, 5) ||
	    strcmp(mp_at(&w, &l, 10.1), "mp_a") != 0);
	/* ... until a sixth makes five within ten minutes */
	assert_true(fb_mp_error(&w, &l, MIN(10.5)));
	assert_string_equal(mp_at(&w, &l, 10.5), "mp_b");
	/* exactly ten minutes is within */
	fb_mp_refresh(&w, MIN(30));
	assert_true(errors(&w, &l, ten, 5));
	/* on from mp_b to mp_def, then round to mp_a */
	fb_mp_refresh(&w, MIN(40));
	for (int hop = 0; hop < 3; hop++) {
		static const char *const next[] = { "mp_b", "mp_def", "mp_a" };

		for (int e = 0; e < 5; e++)
			fb_mp_error(&w, &l, MIN(41 + hop + e * 0.1));
		assert_string_equal(mp_at(&w, &l, 41 + hop + 0.5), next[hop]);
	}
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* Back to the local MP at the next refresh: 24 hours, or a restart. */
static void
test_mp_back_to_local_at_refresh(void **state)
{
	static const double five[] = { 0, 1, 2, 3, 4 };
	struct loc_answer a;
	struct fb_list l;
	struct fb_mp w = { 0 };

	(void)state;
	ask(mp_model(), "10.1.0.5/24", LOC_MP, &a);
	assert_int_equal(fb_list_by_locality(&a, &l), 0);
	assert_string_equal(mp_at(&w, &l, 0), "mp_a"); /* refreshed at 0 */
	assert_true(errors(&w, &l, five, 5));
	assert_string_equal(mp_at(&w, &l, 24 * 60 - 1), "mp_b");
	assert_string_equal(mp_at(&w, &l, 24 * 60), "mp_a");
	/* the next day counts from that refresh */
	assert_true(
	    errors(&w, &l, five, 5) || fb_mp_error(&w, &l, MIN(24 * 60 + 1)));
	assert_string_equal(mp_at(&w, &l, 48 * 60 - 1), "mp_b");
	fb_list_free(&l);
	loc_answer_free(&a);
}

/* ---- what survives a restart ---- */

static char dir[256];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_fallback.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, FB_STATE_FILE);
	unlink(path);
	return rmdir(dir);
}

static void
write_state(const char *text)
{
	char path[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, FB_STATE_FILE);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void
test_state_survives_restart(void **state)
{
	static const double five[] = { 0, 1, 2, 3, 4 };
	struct fb_state s = { 0 }, back;
	struct loc_answer a, b;
	struct fb_list l, lm;

	(void)state;
	ask(sup_example(), "10.26.0.9/24", LOC_SUP, &a);
	ask(mp_model(), "10.1.0.5/24", LOC_MP, &b);
	assert_int_equal(fb_list_by_minute(&a, &l), 0);
	assert_int_equal(fb_list_by_locality(&b, &lm), 0);
	/* nothing saved yet: all none */
	assert_int_equal(fb_state_load(dir, &back, why, sizeof(why)), 0);
	assert_false(back.sup.failing);
	assert_string_equal(back.sup.known_good, "");
	snprintf(s.site, sizeof(s.site), "PS1");
	s.dp_started = MIN(-5);
	fb_sup_reached(&s.sup, "sup_z", MIN(-300));
	fb_sup_failed(&s.sup, MIN(0));
	assert_true(errors(&s.mp, &lm, five, 5));
	fb_mp_error(&s.mp, &lm, MIN(5));
	assert_int_equal(fb_state_save(dir, &s), 0);
	assert_int_equal(fb_state_load(dir, &back, why, sizeof(why)), 0);
	assert_string_equal(back.site, "PS1");
	assert_int_equal(back.dp_started, MIN(-5));
	assert_string_equal(back.sup.known_good, "sup_z");
	assert_int_equal(back.sup.good_at, MIN(-300));
	/* the 120 minutes go on counting from the first failure */
	assert_true(back.sup.failing);
	assert_string_equal(fb_sup_source(&back.sup, &l, MIN(119)), "sup_z");
	assert_string_equal(fb_sup_source(&back.sup, &l, MIN(120)), "sup_a");
	/* the MP and its error times survive, until the agent restarts */
	assert_string_equal(back.mp.current, "mp_b");
	assert_int_equal(back.mp.nerrors, 1);
	assert_int_equal(back.mp.errors[0], MIN(5));
	assert_int_equal(back.mp.refreshed, s.mp.refreshed);
	fb_state_restart(&back, MIN(6));
	assert_string_equal(mp_at(&back.mp, &lm, 6), "mp_a");
	assert_int_equal(back.mp.nerrors, 0);
	assert_string_equal(back.sup.known_good, "sup_z"); /* unchanged */
	fb_list_free(&l);
	fb_list_free(&lm);
	loc_answer_free(&a);
	loc_answer_free(&b);
}

static void
test_state_bad_file(void **state)
{
	struct fb_state s;

	(void)state;
	write_state("{\"format\":\"sitesys.agent-fallback/9\"}");
	assert_int_equal(fb_state_load(dir, &s, why, sizeof(why)), -1);
	assert_non_null(strstr(why,
	    "fallback.json: format is "
	    "\"sitesys.agent-fallback/9\", expected "
	    "\"sitesys.agent-fallback/1\""));
	write_state("{\"format\":\"sitesys.agent-fallback/1\","
	            "\"mp\":{\"errors\":[1,\"x\"]}}");
	assert_int_equal(fb_state_load(dir, &s, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "\"errors\" holds something other"));
	assert_string_equal(s.mp.current, ""); /* all none */
	write_state("not json");
	assert_int_equal(fb_state_load(dir, &s, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "invalid JSON"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dp_seed_example),
		cmocka_unit_test(test_dp_never_early),
		cmocka_unit_test(test_dp_random_first_pick),
		cmocka_unit_test(test_dp_failure_moves_on),
		cmocka_unit_test(test_dp_empty_current_pool),
		cmocka_unit_test(test_sup_seed_example),
		cmocka_unit_test(test_sup_hold_from_first_failure),
		cmocka_unit_test(test_sup_new_client),
		cmocka_unit_test(test_sup_next),
		cmocka_unit_test(test_mp_locality_order),
		cmocka_unit_test(test_mp_five_errors_in_ten_minutes),
		cmocka_unit_test(test_mp_back_to_local_at_refresh),
		cmocka_unit_test_setup_teardown(
		    test_state_survives_restart, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_state_bad_file, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests_name(
	    "fallback", tests, NULL, free_models);
}
