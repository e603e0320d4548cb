/*
 * boundary_index.c - from a client's location to the boundaries it is in
 *
 * Subnet and IPv6 boundaries match the client's subnet ID (its address
 * with the host bits of its own prefix cleared) and prefix length exactly:
 * one probe of a hash table keyed by both. IPv4 ranges, which may overlap,
 * are cut at every start and end into disjoint segments, each with the
 * list of ranges that cover it; a client's address finds its segment by a
 * binary search narrowed by a table of the top 16 bits. AD sites: one hash
 * probe; VPN boundaries (few): a scan. Boundaries that share a key are
 * chained through next_same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "location_model.h"

static uint64_t
net_hash(const struct ipaddr *a, unsigned bits)
{
	uint64_t h = a->hi * 0x9e3779b97f4a7c15ULL ^
	    a->lo * 0xc2b2ae3d27d4eb4fULL ^
	    (uint64_t)bits * 0x165667b19e3779f9ULL;

	return h ^ h >> 31;
}

static bool
net_is(const struct loc_bnd *b)
{
	return b->type == LOC_B_SUBNET || b->type == LOC_B_IPV6;
}

static void
build_nets(struct loc_bindex *ix, const struct loc_data *d)
{
	size_t n = 0, cap = 16;

	for (size_t i = 0; i < d->nbnd; i++)
		n += net_is(&d->bnd[i]);
	while (cap < 2 * n)
		cap *= 2;
	ix->net_slots = loc_xrealloc(NULL, cap, sizeof(uint32_t));
	memset(ix->net_slots, 0xff, cap * sizeof(uint32_t));
	ix->net_mask = cap - 1;
	for (size_t i = 0; i < d->nbnd; i++) {
		struct loc_bnd *b = &d->bnd[i];
		unsigned bits;
		size_t s;

		if (!net_is(b))
			continue;
		bits = ipnet_bits128(&b->net);
		s = net_hash(&b->net.addr, bits) & ix->net_mask;
		for (;; s = (s + 1) & ix->net_mask) {
			uint32_t o = ix->net_slots[s];

			if (o == LOC_NONE) {
				ix->net_slots[s] = (uint32_t)i;
				break;
			}
			if (ipaddr_eq(&d->bnd[o].net.addr, &b->net.addr) &&
			    ipnet_bits128(&d->bnd[o].net) == bits) {
				b->next_same = d->bnd[o].next_same;
				d->bnd[o].next_same = (uint32_t)i;
				break;
			}
		}
	}
}

struct rng {
	uint32_t start, end, id;
};

static int
cmp_rng(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The segment starts: 0, every start, every end + 1; sorted, unique. */
static size_t
range_points(const struct rng *r, size_t n, uint32_t *pts)
{
	size_t np = 0, k = 0;

	pts[np++] = 0;
	for (size_t i = 0; i < n; i++) {
		pts[np++] = r[i].start;
		if (r[i].end != UINT32_MAX)
			pts[np++] = r[i].end + 1;
	}
	qsort(pts, np, sizeof(uint32_t), cmp_u32);
	for (size_t i = 0; i < np; i++)
		if (k == 0 || pts[k - 1] != pts[i])
			pts[k++] = pts[i];
	return k;
}

/* Sweep the segments, keeping the ranges active at each start. */
static void
range_sweep(struct loc_bindex *ix, const struct rng *r, size_t n)
{
	struct u32vec active = { 0 }, ids = { 0 };
	size_t next = 0;

	ix->seg_off = loc_xrealloc(NULL, ix->nseg + 1, sizeof(uint32_t));
	for (size_t s = 0; s < ix->nseg; s++) {
		uint32_t p = ix->seg_start[s];
		size_t k = 0;

		for (; next < n && r[next].start == p; next++)
			u32vec_push(&active, (uint32_t)next);
		for (size_t i = 0; i < active.n; i++)
			if (r[active.v[i]].end >= p)
				active.v[k++] = active.v[i];
		active.n = k;
		ix->seg_off[s] = (uint32_t)ids.n;
		for (size_t i = 0; i < active.n; i++)
			u32vec_push(&ids, r[active.v[i]].id);
	}
	ix->seg_off[ix->nseg] = (uint32_t)ids.n;
	ix->seg_ids = ids.v;
	free(active.v);
}

static void
build_ranges(struct loc_bindex *ix, const struct loc_data *d)
{
	struct rng *r = loc_xrealloc(NULL, d->nbnd + 1, sizeof(*r));
	size_t n = 0;

	for (size_t i = 0; i < d->nbnd; i++) {
		if (d->bnd[i].type != LOC_B_RANGE)
			continue;
		r[n].start = (uint32_t)d->bnd[i].range.start.lo;
		r[n].end = (uint32_t)d->bnd[i].range.end.lo;
		r[n++].id = (uint32_t)i;
	}
	if (n > 0) {
		qsort(r, n, sizeof(*r), cmp_rng);
		ix->seg_start = loc_xrealloc(NULL, 2 * n + 1, sizeof(uint32_t));
		ix->nseg = range_points(r, n, ix->seg_start);
		range_sweep(ix, r, n);
		ix->bucket = loc_xrealloc(NULL, 65537, sizeof(uint32_t));
		for (size_t h = 0, s = 0; h <= 65536; h++) {
			while (s < ix->nseg && (ix->seg_start[s] >> 16) < h)
				s++;
			ix->bucket[h] = (uint32_t)s;
		}
	}
	free(r);
}

int
loc_bindex_build(
    struct loc_bindex *ix, const struct loc_data *d, char *why, size_t len)
{
	(void)why, (void)len;
	memset(ix, 0, sizeof(*ix));
	strmap_init(&ix->adsite, true);
	for (size_t i = 0; i < d->nbnd; i++)
		d->bnd[i].next_same = LOC_NONE;
	build_nets(ix, d);
	build_ranges(ix, d);
	for (size_t i = 0; i < d->nbnd; i++) {
		struct loc_bnd *b = &d->bnd[i];
		uint32_t first;

		if (b->type == LOC_B_VPN)
			u32vec_push(&ix->vpn, (uint32_t)i);
		if (b->type != LOC_B_ADSITE)
			continue;
		if (strmap_get(&ix->adsite, b->text, &first)) {
			b->next_same = d->bnd[first].next_same;
			d->bnd[first].next_same = (uint32_t)i;
		} else {
			strmap_put(&ix->adsite, b->text, (uint32_t)i);
		}
	}
	return 0;
}

void
loc_bindex_free(struct loc_bindex *ix)
{
	free(ix->net_slots);
	free(ix->seg_start);
	free(ix->seg_off);
	free(ix->seg_ids);
	free(ix->bucket);
	strmap_free(&ix->adsite);
	free(ix->vpn.v);
	memset(ix, 0, sizeof(*ix));
}

/* Append the chain starting at first to out; the new count. */
static size_t
chain(const struct loc_data *d, uint32_t first, uint32_t *out, size_t n,
    size_t max)
{
	for (uint32_t b = first; b != LOC_NONE; b = d->bnd[b].next_same, n++)
		if (n < max)
			out[n] = b;
	return n;
}

static uint32_t
net_find(const struct loc_bindex *ix, const struct loc_data *d,
    const struct ipaddr *id, unsigned bits)
{
	for (size_t s = net_hash(id, bits) & ix->net_mask;;
	     s = (s + 1) & ix->net_mask) {
		uint32_t o = ix->net_slots[s];

		if (o == LOC_NONE ||
		    (ipaddr_eq(&d->bnd[o].net.addr, id) &&
		        ipnet_bits128(&d->bnd[o].net) == bits))
			return o;
	}
}

static size_t
range_find(const struct loc_bindex *ix, uint32_t x, uint32_t *out, size_t n,
    size_t max)
{
	uint32_t h = x >> 16, lo = ix->bucket[h], hi = ix->bucket[h + 1];

	lo = lo > 0 ? lo - 1 : 0;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ix->seg_start[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	for (uint32_t i = ix->seg_off[lo]; i < ix->seg_off[lo + 1]; i++, n++)
		if (n < max)
			out[n] = ix->seg_ids[i];
	return n;
}

size_t
loc_bindex_addr(const struct loc_bindex *ix, const struct loc_data *d,
    const struct ipnet *a, uint32_t *out, size_t max)
{
	unsigned bits = ipnet_bits128(a);
	struct ipaddr id = ipaddr_mask(&a->addr, bits);
	size_t n = chain(d, net_find(ix, d, &id, bits), out, 0, max);

	if (ix->nseg > 0 && ipaddr_is_v4(&a->addr))
		n = range_find(ix, (uint32_t)a->addr.lo, out, n, max);
	return n;
}

static bool
vpn_matches(const struct loc_bnd *b, const struct loc_request *req)
{
	const char *s =
	    b->vpn_field == LOC_VPN_NAME ? req->vpn_name : req->vpn_description;

	if (s == NULL)
		return false;
	if (b->vpn_match == LOC_VPN_EXACT)
		return strcasecmp(s, b->text) == 0;
	return strncasecmp(s, b->text, strlen(b->text)) == 0;
}

size_t
loc_bindex_match(const struct loc_bindex *ix, const struct loc_data *d,
    const struct loc_request *req, uint32_t *out, size_t max)
{
	size_t n = 0;
	uint32_t first;

	for (size_t i = 0; i < req->naddrs && i < LOC_MAX_ADDRS; i++)
		n += loc_bindex_addr(ix, d, &req->addrs[i],
		    out + (n < max ? n : max), n < max ? max - n : 0);
	if (req->ad_site != NULL &&
	    strmap_get(&ix->adsite, req->ad_site, &first))
		n = chain(d, first, out, n, max);
	if (req->vpn_name != NULL || req->vpn_description != NULL) {
		for (size_t i = 0; i < ix->vpn.n; i++) {
			if (!vpn_matches(&d->bnd[ix->vpn.v[i]], req))
				continue;
			if (n < max)
				out[n] = ix->vpn.v[i];
			n++;
		}
	}
	return n;
}

void
loc_bnd_describe(const struct loc_bnd *b, char *out, size_t len)
{
	char v[IPRANGE_STRLEN];

	switch (b->type) {
	case LOC_B_SUBNET:
	case LOC_B_IPV6:
		ipnet_format(&b->net, v, sizeof(v));
		snprintf(out, len, "%s %s",
		    b->type == LOC_B_SUBNET ? "subnet" : "IPv6 prefix", v);
		break;
	case LOC_B_RANGE:
		iprange_format(&b->range, v, sizeof(v));
		snprintf(out, len, "range %s", v);
		break;
	case LOC_B_ADSITE:
		snprintf(out, len, "AD site %s", b->text);
		break;
	case LOC_B_VPN:
		snprintf(out, len, "VPN %s %s \"%s\"",
		    b->vpn_field == LOC_VPN_NAME ? "name" : "description",
		    b->vpn_match == LOC_VPN_EXACT ? "is" : "starts with",
		    b->text);
		break;
	}
}
