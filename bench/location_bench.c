/*
 * location_bench - finding a client's current boundary groups among
 * 100,000 boundaries (70% IPv4 subnets, 20% IPv4 ranges, some of them
 * overlapping, 10% AD sites), one core, beside the baseline measured in
 * the same run: a binary search of a plain sorted array of the same
 * subnet IDs and range starts
 *
 * Then a whole location answer (the seed's rules, no notes) on the same
 * model, for scale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location/location.h"
#include "util/clock.h"

#define NBOUNDARIES 100000
#define NSUBNETS (NBOUNDARIES * 7 / 10)
#define NRANGES (NBOUNDARIES * 2 / 10)
#define NADSITES (NBOUNDARIES - NSUBNETS - NRANGES)
#define NGROUPS 10000
#define NREQ 65536 /* distinct requests, cycled */
#define NLOOKUPS 2000000
#define ROUNDS 3 /* alternating, so that both see the same machine */
#define RANGE_BASE 0x0b000000u /* 11.0.0.0 */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "location_bench: %s: %s\n", what, why);
	exit(1);
}

static void
check(struct loc_builder *b, int rc)
{
	if (rc != 0)
		die("model", loc_builder_error(b));
}

static uint32_t subnet_ids[NSUBNETS]; /* host order, each a /24 */
static struct loc_request req[NREQ];
static char adsite_name[NADSITES][24];

struct key {
	uint64_t hi, lo;
	unsigned bits;
};

static struct key *keys; /* the baseline's sorted array */
static size_t nkeys;

static int
cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->bits > y->bits) - (x->bits < y->bits);
}

static void
add_key(const struct ipaddr *a, unsigned bits)
{
	keys[nkeys++] = (struct key){ a->hi, a->lo, bits };
}

static void
add_boundaries(struct loc_builder *b)
{
	char name[32], val[2 * IPADDR_STRLEN + 8], grp[32];

	for (int i = 0; i < NSUBNETS; i++) {
		/* distinct /24s of 10.0.0.0/8 and 172.16.0.0/12 */
		uint32_t net = i < 65536
		    ? 0x0a000000u | (uint32_t)i << 8
		    : 0xac100000u + ((uint32_t)(i - 65536) << 8);
		struct ipaddr a = ipaddr_from_v4(net);

		subnet_ids[i] = net;
		snprintf(name, sizeof(name), "S%d", i);
		snprintf(grp, sizeof(grp), "G%u", rnd() % NGROUPS);
		ipaddr_format(&a, val, sizeof(val));
		strcat(val, "/24");
		check(b, loc_add_boundary(b, name, LOC_B_SUBNET, val));
		check(b, loc_add_member(b, grp, name));
		add_key(&a, 120);
	}
	for (int i = 0; i < NRANGES; i++) {
		/* one per 512-address slot of 11.0.0.0/8, 16-600 addresses
		 * long: a few overlap the next slot */
		uint32_t start = RANGE_BASE + (uint32_t)i * 512 + rnd() % 64;
		uint32_t end = start + 16 + rnd() % 585;
		struct ipaddr s = ipaddr_from_v4(start),
		              e = ipaddr_from_v4(end);
		char sa[IPADDR_STRLEN], ea[IPADDR_STRLEN];

		ipaddr_format(&s, sa, sizeof(sa));
		ipaddr_format(&e, ea, sizeof(ea));
		snprintf(name, sizeof(name), "R%d", i);
		snprintf(val, sizeof(val), "%s-%s", sa, ea);
		snprintf(grp, sizeof(grp), "G%u", rnd() % NGROUPS);
		check(b, loc_add_boundary(b, name, LOC_B_RANGE, val));
		check(b, loc_add_member(b, grp, name));
		add_key(&s, 128);
	}
	for (int i = 0; i < NADSITES; i++) {
		snprintf(name, sizeof(name), "A%d", i);
		snprintf(
		    adsite_name[i], sizeof(adsite_name[i]), "Site-%05d", i);
		snprintf(grp, sizeof(grp), "G%u", rnd() % NGROUPS);
		check(
		    b, loc_add_boundary(b, name, LOC_B_ADSITE, adsite_name[i]));
		check(b, loc_add_member(b, grp, name));
	}
}

static struct loc_model *
build(void)
{
	struct loc_builder *b = loc_builder_new();
	char grp[32], fqdn[64], why[512];
	struct loc_model *m;

	if (b == NULL)
		die("model", "out of memory");
	check(b, loc_add_site(b, "PS1"));
	for (int i = 0; i < NGROUPS; i++) {
		snprintf(grp, sizeof(grp), "G%d", i);
		snprintf(fqdn, sizeof(fqdn), "dp%d.example", i);
		check(b, loc_add_group(b, grp, "PS1"));
		check(b, loc_add_server(b, fqdn, "PS1", LOC_ROLE_BIT(LOC_DP)));
		check(b, loc_add_group_server(b, grp, fqdn));
	}
	keys = calloc(NBOUNDARIES, sizeof(*keys));
	if (keys == NULL)
		die("baseline", "out of memory");
	add_boundaries(b);
	if ((m = loc_freeze(b, why, sizeof(why))) == NULL)
		die("model", why);
	qsort(keys, nkeys, sizeof(*keys), cmp_key);
	return m;
}

/* Clients: 60% in a subnet, 25% in the ranges' area, 15% nowhere; a third
 * of them also report an AD site. */
static void
make_requests(void)
{
	for (int i = 0; i < NREQ; i++) {
		uint32_t p = rnd() % 100, a;

		if (p < 60)
			a = subnet_ids[rnd() % NSUBNETS] | (1 + rnd() % 254);
		else if (p < 85)
			a = RANGE_BASE + rnd() % (NRANGES * 512u);
		else
			a = 0x64400000u + rnd() % (1u << 22); /* 100.64/10 */
		req[i].addrs[0].addr = ipaddr_from_v4(a);
		req[i].addrs[0].plen = 24;
		req[i].naddrs = 1;
		req[i].ad_site =
		    rnd() % 3 == 0 ? adsite_name[rnd() % NADSITES] : NULL;
		req[i].role = LOC_DP;
		req[i].site = "PS1";
	}
}

static double
bench_index(const struct loc_model *m, size_t *found)
{
	uint32_t out[64];
	double t0 = clock_mono();

	*found = 0;
	for (int i = 0; i < NLOOKUPS; i++)
		*found += loc_current_groups(m, &req[i & (NREQ - 1)], out, 64);
	return NLOOKUPS / (clock_mono() - t0);
}

static double
bench_sorted_array(size_t *found)
{
	double t0 = clock_mono();

	*found = 0;
	for (int i = 0; i < NLOOKUPS; i++) {
		const struct ipnet *n = &req[i & (NREQ - 1)].addrs[0];
		struct ipaddr id = ipnet_id(n);
		struct key k = { id.hi, id.lo, ipnet_bits128(n) };

		*found +=
		    bsearch(&k, keys, nkeys, sizeof(*keys), cmp_key) != NULL;
	}
	return NLOOKUPS / (clock_mono() - t0);
}

static double
bench_answer(const struct loc_model *m)
{
	const int n = 200000;
	struct loc_answer a;
	char why[512];
	double t0 = clock_mono();

	for (int i = 0; i < n; i++) {
		if (loc_query(m, &req[i & (NREQ - 1)], &a, why, sizeof(why)))
			die("loc_query", why);
		loc_answer_free(&a);
	}
	return n / (clock_mono() - t0);
}

int
main(void)
{
	struct loc_model *m;
	size_t found_ix, found_base;
	double t0 = clock_mono(), ours, base, answers;

	m = build();
	printf("location engine, %d boundaries (%d subnets, %d ranges, %d AD "
	       "sites) in %d groups, model built in %.2f s\n",
	    NBOUNDARIES, NSUBNETS, NRANGES, NADSITES, NGROUPS,
	    clock_mono() - t0);
	make_requests();
	base = ours = 0;
	for (int round = 0; round < ROUNDS; round++) { /* the best of each */
		double b = bench_sorted_array(&found_base);
		double o = bench_index(m, &found_ix);

		base = b > base ? b : base;
		ours = o > ours ? o : ours;
	}
	printf("%-34s %9.0f lookups/s baseline (%s) %9.0f lookups/s   %.2fx\n",
	    "current groups, one core, best of 3", ours,
	    "bsearch, sorted array", base, ours / base);
	printf("%-34s %9zu groups found, the baseline %zu boundaries\n", "",
	    found_ix, found_base);
	answers = bench_answer(m);
	printf(
	    "%-34s %9.0f answers/s\n", "whole answer (dp, no notes)", answers);
	loc_model_free(m);
	free(keys);
	if (ours < 1000000 || ours * 2 < base)
		printf("%-34s below the target: 1,000,000 lookups/s and within "
		       "2x of the baseline\n",
		    "");
	return 0;
}
