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
 * chained through next[]; each boundary's groups sit in one flat array,
 * so that a look-up touches few cache lines.
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

/* The slot's tag: never 0, which marks an empty slot. */
static uint16_t
net_tag(uint64_t h)
{
	return (uint16_t)(h >> 48 | 1);
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
	while (cap < n + n / 2) /* at most 2/3 full */
		cap *= 2;
	ix->net = loc_xrealloc(NULL, cap, sizeof(*ix->net));
	ix->net_tag = loc_xrealloc(NULL, cap, sizeof(*ix->net_tag));
	memset(ix->net_tag, 0, cap * sizeof(*ix->net_tag));
	for (size_t i = 0; i < cap; i++)
		ix->net[i] = (struct loc_netslot){ .first = LOC_NONE };
	ix->net_mask = cap - 1;
	for (size_t i = 0; i < d->nbnd; i++) {
		const struct loc_bnd *b = &d->bnd[i];
		unsigned bits;
		uint64_t h;
		size_t s;

		if (!net_is(b))
			continue;
		bits = ipnet_bits128(&b->net);
		h = net_hash(&b->net.addr, bits);
		for (s = h & ix->net_mask;; s = (s + 1) & ix->net_mask) {
			struct loc_netslot *slot = &ix->net[s];

			if (slot->first == LOC_NONE) {
				ix->net_tag[s] = net_tag(h);
				*slot =
				    (struct loc_netslot){ .hi = b->net.addr.hi,
					    .lo = b->net.addr.lo,
					    .bits = bits,
					    .first = (uint32_t)i };
				break;
			}
			if (slot->hi == b->net.addr.hi &&
			    slot->lo == b->net.addr.lo && slot->bits == bits) {
				ix->next[i] = ix->next[slot->first];
				ix->next[slot->first] = (uint32_t)i;
				break;
			}
		}
	}
}

/* Every boundary's groups, flat. */
static void
build_groups(struct loc_bindex *ix, const struct loc_data *d)
{
	size_t total = 0;

	for (size_t i = 0; i < d->nbnd; i++)
		total += d->bnd[i].groups.n;
	ix->goff = loc_xrealloc(NULL, d->nbnd + 1, sizeof(uint32_t));
	ix->gids = loc_xrealloc(NULL, total + 1, sizeof(uint32_t));
	total = 0;
	for (size_t i = 0; i < d->nbnd; i++) {
		ix->goff[i] = (uint32_t)total;
		for (size_t k = 0; k < d->bnd[i].groups.n; k++)
			ix->gids[total++] = d->bnd[i].groups.v[k];
	}
	ix->goff[d->nbnd] = (uint32_t)total;
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

/* Append the groups of boundaries ids[0..n) to kg, each once. */
static uint32_t
key_groups(const struct loc_bindex *ix, struct u32vec *kg, const uint32_t *ids,
    size_t n)
{
	size_t start = kg->n;

	for (size_t i = 0; i < n; i++) {
		for (uint32_t k = ix->goff[ids[i]]; k < ix->goff[ids[i] + 1];
		     k++) {
			size_t j = start;

			while (j < kg->n && kg->v[j] != ix->gids[k])
				j++;
			if (j == kg->n)
				u32vec_push(kg, ix->gids[k]);
		}
	}
	return (uint32_t)(kg->n - start);
}

/* The groups of each hash key and range segment, ready for look-ups. */
static void
build_key_groups(struct loc_bindex *ix)
{
	struct u32vec kg = { 0 }, same = { 0 };

	for (size_t s = 0; s <= ix->net_mask; s++) {
		struct loc_netslot *slot = &ix->net[s];

		if (slot->first == LOC_NONE)
			continue;
		same.n = 0;
		for (uint32_t b = slot->first; b != LOC_NONE; b = ix->next[b])
			u32vec_push(&same, b);
		slot->goff = (uint32_t)kg.n;
		slot->gn = key_groups(ix, &kg, same.v, same.n);
		if (slot->gn == 1) /* the usual case: the group itself */
			slot->goff = kg.v[--kg.n];
	}
	if (ix->nseg > 0) {
		ix->seg_goff =
		    loc_xrealloc(NULL, ix->nseg + 1, sizeof(uint32_t));
		for (size_t s = 0; s < ix->nseg; s++) {
			ix->seg_goff[s] = (uint32_t)kg.n;
			key_groups(ix, &kg, ix->seg_ids + ix->seg_off[s],
			    ix->seg_off[s + 1] - ix->seg_off[s]);
		}
		ix->seg_goff[ix->nseg] = (uint32_t)kg.n;
	}
	ix->kgids = kg.v;
	free(same.v);
}

int
loc_bindex_build(
    struct loc_bindex *ix, const struct loc_data *d, char *why, size_t len)
{
	(void)why, (void)len;
	memset(ix, 0, sizeof(*ix));
	strmap_init(&ix->adsite, true);
	ix->next = loc_xrealloc(NULL, d->nbnd + 1, sizeof(uint32_t));
	for (size_t i = 0; i < d->nbnd; i++)
		ix->next[i] = LOC_NONE;
	build_groups(ix, d);
	build_nets(ix, d);
	build_ranges(ix, d);
	for (size_t i = 0; i < d->nbnd; i++) {
		const struct loc_bnd *b = &d->bnd[i];
		uint32_t first;

		if (b->type == LOC_B_VPN)
			u32vec_push(&ix->vpn, (uint32_t)i);
		if (b->type != LOC_B_ADSITE)
			continue;
		if (strmap_get(&ix->adsite, b->text, &first)) {
			ix->next[i] = ix->next[first];
			ix->next[first] = (uint32_t)i;
		} else {
			strmap_put(&ix->adsite, b->text, (uint32_t)i);
		}
	}
	build_key_groups(ix);
	return 0;
}

void
loc_bindex_free(struct loc_bindex *ix)
{
	free(ix->net);
	free(ix->net_tag);
	free(ix->next);
	free(ix->goff);
	free(ix->gids);
	free(ix->seg_start);
	free(ix->seg_off);
	free(ix->seg_ids);
	free(ix->seg_goff);
	free(ix->kgids);
	free(ix->bucket);
	strmap_free(&ix->adsite);
	free(ix->vpn.v);
	memset(ix, 0, sizeof(*ix));
}

/* Append the chain starting at first to out; the new count. */
static size_t
chain(const struct loc_bindex *ix, uint32_t first, uint32_t *out, size_t n,
    size_t max)
{
	for (uint32_t b = first; b != LOC_NONE; b = ix->next[b], n++)
		if (n < max)
			out[n] = b;
	return n;
}

/* The slot of the key, or an empty one; the tags spare most misses a
 * read of the (larger) slot array. */
static const struct loc_netslot *
net_slot(const struct loc_bindex *ix, const struct ipaddr *id, unsigned bits)
{
	static const struct loc_netslot none = { .first = LOC_NONE };
	uint64_t h = net_hash(id, bits);
	uint16_t tag = net_tag(h);

	for (size_t s = h & ix->net_mask; ix->net_tag[s] != 0;
	     s = (s + 1) & ix->net_mask) {
		const struct loc_netslot *slot = &ix->net[s];

		if (ix->net_tag[s] == tag && slot->hi == id->hi &&
		    slot->lo == id->lo && slot->bits == bits)
			return slot;
	}
	return &none;
}

/* The segment of IPv4 address x. */
static uint32_t
range_seg(const struct loc_bindex *ix, uint32_t x)
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
	return lo;
}

static size_t
range_find(const struct loc_bindex *ix, uint32_t x, uint32_t *out, size_t n,
    size_t max)
{
	uint32_t lo = range_seg(ix, x);

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
	size_t n = chain(ix, net_slot(ix, &id, bits)->first, out, 0, max);

	(void)d;

	if (ix->nseg > 0 && ipaddr_is_v4(&a->addr))
		n = range_find(ix, (uint32_t)a->addr.lo, out, n, max);
	return n;
}

/* Add groups gids[0..n) to out[0..*nout), each once. */
static void
add_groups(
    const uint32_t *gids, size_t n, uint32_t *out, size_t *nout, size_t max)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, lim = *nout < max ? *nout : max;

		while (k < lim && out[k] != gids[i])
			k++;
		if (k < lim)
			continue;
		if (*nout < max)
			out[*nout] = gids[i];
		(*nout)++;
	}
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
		n = chain(ix, first, out, n, max);
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

size_t
loc_bindex_groups(const struct loc_bindex *ix, const struct loc_data *d,
    const struct loc_request *req, uint32_t *out, size_t max)
{
	size_t n = 0;
	uint32_t b;

	for (size_t i = 0; i < req->naddrs && i < LOC_MAX_ADDRS; i++) {
		const struct ipnet *a = &req->addrs[i];
		unsigned bits = ipnet_bits128(a);
		struct ipaddr id = ipaddr_mask(&a->addr, bits);
		const struct loc_netslot *s = net_slot(ix, &id, bits);

		add_groups(s->gn == 1 ? &s->goff : ix->kgids + s->goff, s->gn,
		    out, &n, max);
		if (ix->nseg > 0 && ipaddr_is_v4(&a->addr)) {
			uint32_t g = range_seg(ix, (uint32_t)a->addr.lo);

			add_groups(ix->kgids + ix->seg_goff[g],
			    ix->seg_goff[g + 1] - ix->seg_goff[g], out, &n,
			    max);
		}
	}
	if (req->ad_site != NULL && strmap_get(&ix->adsite, req->ad_site, &b))
		for (; b != LOC_NONE; b = ix->next[b])
			add_groups(ix->gids + ix->goff[b],
			    ix->goff[b + 1] - ix->goff[b], out, &n, max);
	if (req->vpn_name == NULL && req->vpn_description == NULL)
		return n;
	for (size_t i = 0; i < ix->vpn.n; i++)
		if (vpn_matches(&d->bnd[ix->vpn.v[i]], req))
			add_groups(ix->gids + ix->goff[ix->vpn.v[i]],
			    ix->goff[ix->vpn.v[i] + 1] - ix->goff[ix->vpn.v[i]],
			    out, &n, max);
	return n;
}
