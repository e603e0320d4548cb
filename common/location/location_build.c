/* location_build.c - the location model's builder, freezing and freeing */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location_model.h"

void *
loc_xrealloc(void *p, size_t n, size_t size)
{
	void *q = n == 0 ? p : reallocarray(p, n, size);

	if (q == NULL && n != 0) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return q;
}

void
u32vec_push(struct u32vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 4;
		a->v = loc_xrealloc(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = x;
}

bool
u32vec_has(const struct u32vec *a, uint32_t x)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == x)
			return true;
	return false;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return p;
}

__attribute__((format(printf, 2, 3))) static int
fail(struct loc_builder *b, const char *fmt, ...)
{
	if (b->err[0] == '\0') {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(b->err, sizeof(b->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Grow an array of n elements of size by one; returns the new element. */
static void *
grow1(void *pp, size_t *n, size_t size)
{
	void **p = pp;
	char *q;

	if ((*n & (*n - 1)) == 0) /* 0, 1, 2, 4 ...: double */
		*p = loc_xrealloc(*p, *n ? *n * 2 : 1, size);
	q = (char *)*p + *n * size;
	memset(q, 0, size);
	(*n)++;
	return q;
}

struct loc_builder *
loc_builder_new(void)
{
	struct loc_builder *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	strmap_init(&b->d.bnd_by_name, false);
	strmap_init(&b->d.grp_by_name, false);
	strmap_init(&b->d.srv_by_name, true);
	strmap_init(&b->d.site_by_code, true);
	strmap_init(&b->d.peer_by_name, true);
	strmap_init(&b->d.content_by_id, false);
	return b;
}

const char *
loc_builder_error(const struct loc_builder *b)
{
	return b->err[0] ? b->err : NULL;
}

static int
check_name(struct loc_builder *b, const char *what, const char *s, size_t max)
{
	if (s == NULL || *s == '\0')
		return fail(b, "a %s name is missing", what);
	if (strlen(s) > max)
		return fail(b, "the %s name \"%.40s...\" is longer than %zu",
		    what, s, max);
	return 0;
}

static int
find(struct loc_builder *b, const struct strmap *m, const char *what,
    const char *name, uint32_t *out)
{
	if (name == NULL || !strmap_get(m, name, out))
		return fail(
		    b, "unknown %s \"%s\"", what, name ? name : "(none)");
	return 0;
}

void
loc_default_group_name(const char *code, char *out, size_t len)
{
	snprintf(out, len, LOC_DEFAULT_GROUP_PREFIX "<%s>", code);
}

void
loc_fallback_defaults(int minutes[LOC_NROLES])
{
	for (int r = 0; r < LOC_NROLES; r++)
		minutes[r] =
		    r == LOC_MP ? LOC_DEFAULT_MP_MINUTES : LOC_DEFAULT_MINUTES;
}

static uint32_t
new_group(struct loc_builder *b, const char *name, uint32_t site)
{
	struct loc_group *g = grow1(&b->d.grp, &b->d.ngrp, sizeof(*g));
	uint32_t gi = (uint32_t)(b->d.ngrp - 1);

	g->name = xstrdup(name);
	g->site = site;
	g->default_of = LOC_NONE;
	g->opts.allow_peers = true;
	strmap_put(&b->d.grp_by_name, g->name, gi);
	return gi;
}

int
loc_add_site(struct loc_builder *b, const char *code)
{
	char name[64];
	struct loc_site *s;
	uint32_t si, gi;

	if (check_name(b, "site", code, LOC_SITE_MAX) == -1)
		return -1;
	if (strmap_get(&b->d.site_by_code, code, &si))
		return fail(b, "site %s is added twice", code);
	loc_default_group_name(code, name, sizeof(name));
	if (strmap_get(&b->d.grp_by_name, name, &gi))
		return fail(b, "group %s exists before its site", name);
	s = grow1(&b->d.site, &b->d.nsite, sizeof(*s));
	si = (uint32_t)(b->d.nsite - 1);
	snprintf(s->code, sizeof(s->code), "%s", code);
	loc_fallback_defaults(s->minutes);
	s->key = xstrdup(s->code);
	strmap_put(&b->d.site_by_code, s->key, si);
	gi = new_group(b, name, si);
	b->d.grp[gi].default_of = si;
	s->default_group = gi;
	return 0;
}

int
loc_add_group(struct loc_builder *b, const char *name, const char *site)
{
	uint32_t si = LOC_NONE, gi;

	if (check_name(b, "group", name, LOC_NAME_MAX) == -1)
		return -1;
	if (strmap_get(&b->d.grp_by_name, name, &gi))
		return fail(b, "group %s is added twice", name);
	if (site != NULL && find(b, &b->d.site_by_code, "site", site, &si))
		return -1;
	new_group(b, name, si);
	return 0;
}

int
loc_set_group_opts(
    struct loc_builder *b, const char *group, const struct loc_group_opts *opts)
{
	uint32_t gi;

	if (find(b, &b->d.grp_by_name, "group", group, &gi) == -1)
		return -1;
	b->d.grp[gi].opts = *opts;
	return 0;
}

static struct loc_bnd *
new_boundary(struct loc_builder *b, const char *name, enum loc_btype type)
{
	struct loc_bnd *x;
	uint32_t bi;

	if (check_name(b, "boundary", name, LOC_NAME_MAX) == -1)
		return NULL;
	if (strmap_get(&b->d.bnd_by_name, name, &bi)) {
		fail(b, "boundary %s is added twice", name);
		return NULL;
	}
	x = grow1(&b->d.bnd, &b->d.nbnd, sizeof(*x));
	x->name = xstrdup(name);
	x->type = type;
	strmap_put(&b->d.bnd_by_name, x->name, (uint32_t)(b->d.nbnd - 1));
	return x;
}

static int
parse_value(struct loc_builder *b, struct loc_bnd *x, const char *value)
{
	char why[256];

	switch (x->type) {
	case LOC_B_SUBNET:
	case LOC_B_IPV6:
		if (ipnet_parse(value, IPNET_SUBNET_ID, &x->net, why,
		        sizeof(why)) == -1)
			return fail(b, "boundary %s: %s", x->name, why);
		if (ipaddr_is_v4(&x->net.addr) != (x->type == LOC_B_SUBNET))
			return fail(b, "boundary %s: \"%s\" is not an %s",
			    x->name, value,
			    x->type == LOC_B_SUBNET ? "IPv4 subnet"
			                            : "IPv6 prefix");
		return 0;
	case LOC_B_RANGE:
		if (iprange_parse(value, &x->range, why, sizeof(why)) == -1)
			return fail(b, "boundary %s: %s", x->name, why);
		return 0;
	default:
		if (check_name(b, "AD site", value, LOC_NAME_MAX) == -1)
			return -1;
		x->text = xstrdup(value);
		return 0;
	}
}

int
loc_add_boundary(struct loc_builder *b, const char *name, enum loc_btype type,
    const char *value)
{
	struct loc_bnd *x;

	if (type == LOC_B_VPN)
		return loc_add_vpn_boundary(
		    b, name, value, LOC_VPN_NAME, LOC_VPN_EXACT);
	if ((unsigned)type > LOC_B_VPN)
		return fail(b, "boundary %s: unknown type", name);
	if (value == NULL)
		return fail(b, "boundary %s: a value is missing", name);
	if ((x = new_boundary(b, name, type)) == NULL)
		return -1;
	return parse_value(b, x, value);
}

int
loc_add_vpn_boundary(struct loc_builder *b, const char *name, const char *text,
    enum loc_vpn_field field, enum loc_vpn_match match)
{
	struct loc_bnd *x;

	if (check_name(b, "VPN", text, LOC_NAME_MAX) == -1)
		return -1;
	if ((x = new_boundary(b, name, LOC_B_VPN)) == NULL)
		return -1;
	x->text = xstrdup(text);
	x->vpn_field = field;
	x->vpn_match = match;
	return 0;
}

int
loc_add_member(struct loc_builder *b, const char *group, const char *boundary)
{
	uint32_t gi, bi;

	if (find(b, &b->d.grp_by_name, "group", group, &gi) == -1 ||
	    find(b, &b->d.bnd_by_name, "boundary", boundary, &bi) == -1)
		return -1;
	if (!u32vec_has(&b->d.bnd[bi].groups, gi))
		u32vec_push(&b->d.bnd[bi].groups, gi);
	return 0;
}

int
loc_add_server(
    struct loc_builder *b, const char *fqdn, const char *site, unsigned roles)
{
	struct loc_server *s;
	uint32_t si, xi;

	if (check_name(b, "server", fqdn, LOC_FQDN_MAX) == -1 ||
	    find(b, &b->d.site_by_code, "site", site, &si) == -1)
		return -1;
	if (roles >> LOC_NROLES != 0)
		return fail(b, "server %s: unknown role", fqdn);
	if (strmap_get(&b->d.srv_by_name, fqdn, &xi)) {
		if (b->d.srv[xi].site != si)
			return fail(b, "server %s is in site %s, not %s", fqdn,
			    b->d.site[b->d.srv[xi].site].code, site);
		b->d.srv[xi].roles |= roles;
		return 0;
	}
	s = grow1(&b->d.srv, &b->d.nsrv, sizeof(*s));
	s->fqdn = xstrdup(fqdn);
	s->site = si;
	s->roles = roles;
	strmap_put(&b->d.srv_by_name, s->fqdn, (uint32_t)(b->d.nsrv - 1));
	return 0;
}

int
loc_add_group_server(struct loc_builder *b, const char *group, const char *fqdn)
{
	uint32_t gi, si;

	if (find(b, &b->d.grp_by_name, "group", group, &gi) == -1 ||
	    find(b, &b->d.srv_by_name, "server", fqdn, &si) == -1)
		return -1;
	if (!u32vec_has(&b->d.grp[gi].servers, si))
		u32vec_push(&b->d.grp[gi].servers, si);
	return 0;
}

static int
intern_content(struct loc_builder *b, const char *id, uint32_t *out)
{
	if (check_name(b, "content", id, LOC_NAME_MAX) == -1)
		return -1;
	if (strmap_get(&b->d.content_by_id, id, out))
		return 0;
	*out = (uint32_t)b->d.ncontent;
	*(char **)grow1(&b->d.content, &b->d.ncontent, sizeof(char *)) =
	    xstrdup(id);
	b->d.on_demand =
	    loc_xrealloc(b->d.on_demand, b->d.ncontent, sizeof(bool));
	b->d.on_demand[*out] = false;
	strmap_put(&b->d.content_by_id, b->d.content[*out], *out);
	return 0;
}

int
loc_add_content(struct loc_builder *b, const char *fqdn, const char *id)
{
	uint32_t si, ci;

	if (find(b, &b->d.srv_by_name, "server", fqdn, &si) == -1 ||
	    intern_content(b, id, &ci) == -1)
		return -1;
	if ((b->d.srv[si].roles &
	        (LOC_ROLE_BIT(LOC_DP) | LOC_ROLE_BIT(LOC_CLOUDDP))) == 0)
		return fail(b, "server %s is not a distribution point", fqdn);
	if (!u32vec_has(&b->d.srv[si].content, ci))
		u32vec_push(&b->d.srv[si].content, ci);
	return 0;
}

int
loc_set_on_demand(struct loc_builder *b, const char *id)
{
	uint32_t ci;

	if (intern_content(b, id, &ci) == -1)
		return -1;
	b->d.on_demand[ci] = true;
	return 0;
}

static int
check_minutes(struct loc_builder *b, const char *what, const int *minutes)
{
	for (int r = 0; r < LOC_NROLES; r++)
		if (minutes[r] < 0 && minutes[r] != LOC_NEVER)
			return fail(b,
			    "%s: %s minutes must be 0 or more, or never", what,
			    loc_role_name((enum loc_role)r));
	return 0;
}

int
loc_add_link(struct loc_builder *b, const char *from, const char *to,
    const int minutes[LOC_NROLES])
{
	struct loc_group *g;
	struct loc_link *l;
	uint32_t fi, ti;

	if (find(b, &b->d.grp_by_name, "group", from, &fi) == -1 ||
	    find(b, &b->d.grp_by_name, "group", to, &ti) == -1 ||
	    check_minutes(b, "link", minutes) == -1)
		return -1;
	if (fi == ti)
		return fail(b, "group %s cannot link to itself", from);
	g = &b->d.grp[fi];
	for (size_t i = 0; i < g->nlinks; i++)
		if (g->links[i].to == ti)
			return fail(b, "link %s->%s is added twice", from, to);
	l = grow1(&g->links, &g->nlinks, sizeof(*l));
	l->to = ti;
	memcpy(l->minutes, minutes, sizeof(l->minutes));
	return 0;
}

int
loc_set_default_behavior(
    struct loc_builder *b, const char *site, const int minutes[LOC_NROLES])
{
	uint32_t si;

	if (find(b, &b->d.site_by_code, "site", site, &si) == -1 ||
	    check_minutes(b, "default behavior", minutes) == -1)
		return -1;
	memcpy(b->d.site[si].minutes, minutes, sizeof(b->d.site[si].minutes));
	return 0;
}

void
loc_set_prefer_bg_mps(struct loc_builder *b, bool on)
{
	b->d.prefer_bg_mps = on;
}

int
loc_add_peer(struct loc_builder *b, const char *client, const char *addr)
{
	struct loc_peer *p;
	struct ipnet n;
	char why[256];
	uint32_t pi;

	if (check_name(b, "peer", client, LOC_NAME_MAX) == -1)
		return -1;
	if (strmap_get(&b->d.peer_by_name, client, &pi))
		return fail(b, "peer %s is added twice", client);
	if (addr == NULL ||
	    ipnet_parse(addr, IPNET_HOST, &n, why, sizeof(why)) == -1)
		return fail(b, "peer %s: %s", client,
		    addr ? why : "an address is missing");
	p = grow1(&b->d.peer, &b->d.npeer, sizeof(*p));
	p->client = xstrdup(client);
	p->addr = n;
	strmap_put(&b->d.peer_by_name, p->client, (uint32_t)(b->d.npeer - 1));
	return 0;
}

int
loc_add_peer_content(struct loc_builder *b, const char *client, const char *id)
{
	uint32_t pi, ci;

	if (find(b, &b->d.peer_by_name, "peer", client, &pi) == -1 ||
	    intern_content(b, id, &ci) == -1)
		return -1;
	if (!u32vec_has(&b->d.peer[pi].content, ci))
		u32vec_push(&b->d.peer[pi].content, ci);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
sort_set(struct u32vec *a)
{
	if (a->n > 1)
		qsort(a->v, a->n, sizeof(uint32_t), cmp_u32);
}

/* Sort content sets; place each peer in the groups of its address. */
static void
settle(struct loc_model *m)
{
	uint32_t ids[64];

	for (size_t i = 0; i < m->d.nsrv; i++)
		sort_set(&m->d.srv[i].content);
	for (size_t i = 0; i < m->d.npeer; i++) {
		struct loc_peer *p = &m->d.peer[i];
		size_t n = loc_bindex_addr(&m->ix, &m->d, &p->addr, ids, 64);

		sort_set(&p->content);
		for (size_t k = 0; k < n && k < 64; k++) {
			const struct u32vec *g = &m->d.bnd[ids[k]].groups;

			for (size_t j = 0; j < g->n; j++)
				if (!u32vec_has(&p->groups, g->v[j]))
					u32vec_push(&p->groups, g->v[j]);
		}
	}
}

static void
data_free(struct loc_data *d)
{
	for (size_t i = 0; i < d->nbnd; i++)
		free(d->bnd[i].name), free(d->bnd[i].text),
		    free(d->bnd[i].groups.v);
	for (size_t i = 0; i < d->ngrp; i++)
		free(d->grp[i].name), free(d->grp[i].servers.v),
		    free(d->grp[i].links);
	for (size_t i = 0; i < d->nsrv; i++)
		free(d->srv[i].fqdn), free(d->srv[i].content.v);
	for (size_t i = 0; i < d->npeer; i++)
		free(d->peer[i].client), free(d->peer[i].content.v),
		    free(d->peer[i].groups.v);
	for (size_t i = 0; i < d->ncontent; i++)
		free(d->content[i]);
	for (size_t i = 0; i < d->nsite; i++)
		free(d->site[i].key);
	free(d->bnd), free(d->grp), free(d->srv), free(d->site);
	free(d->peer), free(d->content), free(d->on_demand);
	strmap_free(&d->bnd_by_name), strmap_free(&d->grp_by_name);
	strmap_free(&d->srv_by_name), strmap_free(&d->site_by_code);
	strmap_free(&d->peer_by_name), strmap_free(&d->content_by_id);
}

void
loc_builder_free(struct loc_builder *b)
{
	if (b == NULL)
		return;
	data_free(&b->d);
	free(b);
}

struct loc_model *
loc_freeze(struct loc_builder *b, char *why, size_t len)
{
	struct loc_model *m;

	if (b == NULL) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (b->err[0] != '\0') {
		snprintf(why, len, "%s", b->err);
		goto fail;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	m->d = b->d;
	free(b);
	if (loc_bindex_build(&m->ix, &m->d, why, len) == -1) {
		loc_model_free(m);
		return NULL;
	}
	settle(m);
	return m;
fail:
	data_free(&b->d);
	free(b);
	return NULL;
}

void
loc_model_free(struct loc_model *m)
{
	if (m == NULL)
		return;
	loc_bindex_free(&m->ix);
	data_free(&m->d);
	free(m);
}

void
loc_model_counts(const struct loc_model *m, size_t *boundaries, size_t *groups,
    size_t *servers)
{
	*boundaries = m->d.nbnd;
	*groups = m->d.ngrp;
	*servers = m->d.nsrv;
}
