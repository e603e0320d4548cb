/*
 * location.c - the rules of the seed: current groups, timed fallback to
 * direct neighbours and site default groups, content, peers, the client
 * installation and task sequence orders, management point locality
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "location_query.h"

static const char *const role_names[LOC_NROLES] = { "dp", "clouddp", "sup",
	"smp", "mp", "cmg" };

const char *
loc_role_name(enum loc_role r)
{
	return (unsigned)r < LOC_NROLES ? role_names[r] : "?";
}

size_t
loc_role_list(char *out, size_t len, const char *sep, const char *last)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	out[0] = '\0';
	for (int r = 0; r < LOC_NROLES; r++) {
		const char *before = r == 0 ? ""
		    : r == LOC_NROLES - 1   ? last
		                            : sep;
		int w =
		    snprintf(out + n, len - n, "%s%s", before, role_names[r]);

		if (w < 0 || (size_t)w >= len - n)
			return len - 1; /* cut */
		n += (size_t)w;
	}
	return n;
}

int
loc_role_parse(const char *s, enum loc_role *out)
{
	for (int r = 0; r < LOC_NROLES; r++)
		if (strcmp(s, role_names[r]) == 0)
			return *out = (enum loc_role)r, 0;
	return -1;
}

const char *
loc_relation_name(enum loc_relation r)
{
	static const char *const names[] = { "current", "neighbour",
		"site-default", "site-list" };

	return (unsigned)r <= LOC_REL_SITE_LIST ? names[r] : "?";
}

int
loc_mode_parse(const char *s, enum loc_mode *out)
{
	static const char *const names[] = { "normal", "client-install",
		"task-sequence" };

	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0)
			return *out = (enum loc_mode)i, 0;
	return -1;
}

const char *
loc_group_name(const struct loc_model *m, uint32_t g)
{
	return g < m->d.ngrp ? m->d.grp[g].name : NULL;
}

uint32_t
loc_content_index(const struct loc_data *d, const char *id)
{
	uint32_t c;

	return id != NULL && strmap_get(&d->content_by_id, id, &c) ? c
	                                                           : LOC_NONE;
}

bool
loc_holds(const struct u32vec *content, uint32_t c)
{
	size_t lo = 0, hi = content->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (content->v[mid] == c)
			return true;
		if (content->v[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

size_t
loc_current_groups(const struct loc_model *m, const struct loc_request *req,
    uint32_t *out, size_t max)
{
	return loc_bindex_groups(&m->ix, &m->d, req, out, max);
}

static bool
is_default(const struct loc_q *q, uint32_t g)
{
	return q->d->grp[g].default_of != LOC_NONE;
}

static struct loc_reach *
reach_find(const struct loc_q *q, uint32_t g)
{
	for (size_t i = 0; i < q->nr; i++)
		if (q->r[i].g == g)
			return &q->r[i];
	return NULL;
}

static struct loc_reach *
reach_get(struct loc_q *q, uint32_t g)
{
	struct loc_reach *r;

	for (size_t i = 0; i < q->nr; i++)
		if (q->r[i].g == g)
			return &q->r[i];
	if ((q->nr & (q->nr - 1)) == 0)
		q->r = loc_xrealloc(q->r, q->nr ? q->nr * 2 : 1, sizeof(*q->r));
	r = &q->r[q->nr++];
	memset(r, 0, sizeof(*r));
	r->g = g;
	r->never_via = LOC_NONE;
	for (int c = 0; c < LOC_NROLES; c++)
		r->minutes[c] = LOC_NEVER, r->via[c] = LOC_NONE;
	return r;
}

/* Offer group to through a link from current group from. */
static void
reach_offer(struct loc_q *q, uint32_t from, uint32_t to, const int *minutes,
    bool implied)
{
	struct loc_reach *r = reach_get(q, to);

	for (int c = 0; c < LOC_NROLES; c++) {
		if (minutes[c] == LOC_NEVER) {
			if (r->never_via == LOC_NONE && c == (int)q->req->role)
				r->never_via = from;
			continue;
		}
		if (r->minutes[c] == LOC_NEVER || minutes[c] < r->minutes[c]) {
			r->minutes[c] = minutes[c];
			r->via[c] = from;
			r->implied[c] = implied;
		}
	}
}

static bool
has_link(const struct loc_group *g, uint32_t to)
{
	for (size_t i = 0; i < g->nlinks; i++)
		if (g->links[i].to == to)
			return true;
	return false;
}

/* The direct neighbours of the current groups, explicit and implied. */
static void
reach_neighbours(struct loc_q *q, const uint32_t *cur, size_t ncur)
{
	for (size_t i = 0; i < ncur; i++) {
		const struct loc_group *g = &q->d->grp[cur[i]];

		for (size_t k = 0; k < g->nlinks; k++)
			if (!reach_get(q, g->links[k].to)->current)
				reach_offer(q, cur[i], g->links[k].to,
				    g->links[k].minutes, false);
		if (g->default_of != LOC_NONE)
			continue; /* default groups have no implied links */
		for (size_t s = 0; s < q->d->nsite; s++) {
			uint32_t dg = q->d->site[s].default_group;

			if (!has_link(g, dg) && !reach_get(q, dg)->current)
				reach_offer(
				    q, cur[i], dg, q->d->site[s].minutes, true);
		}
	}
}

enum loc_role
loc_role_col(const struct loc_q *q, enum loc_kind kind)
{
	return kind == LOC_K_CLOUD ? LOC_CLOUDDP : q->req->role;
}

static int
serves(const struct loc_q *q, const struct loc_server *s, enum loc_kind *kind)
{
	enum loc_role role = q->req->role;

	if (role == LOC_DP && (s->roles & LOC_ROLE_BIT(LOC_DP)))
		return *kind = LOC_K_SERVER, 1;
	if (role == LOC_DP && (s->roles & LOC_ROLE_BIT(LOC_CLOUDDP)))
		return *kind = LOC_K_CLOUD, 1;
	if (role != LOC_DP && (s->roles & LOC_ROLE_BIT(role)))
		return *kind = role == LOC_CLOUDDP ? LOC_K_CLOUD : LOC_K_SERVER,
		       1;
	return 0;
}

static struct loc_cand *
cand_get(struct loc_q *q, uint32_t idx, enum loc_kind kind)
{
	struct loc_cand *c;

	for (size_t i = 0; i < q->nc; i++)
		if (q->c[i].idx == idx &&
		    (q->c[i].kind == LOC_K_PEER) == (kind == LOC_K_PEER))
			return &q->c[i];
	if ((q->nc & (q->nc - 1)) == 0)
		q->c = loc_xrealloc(q->c, q->nc ? q->nc * 2 : 1, sizeof(*q->c));
	c = &q->c[q->nc++];
	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->kind = kind;
	c->reach = LOC_NONE;
	c->minute = LOC_NEVER;
	return c;
}

/* Is the group of reach r allowed in this mode at all? */
static bool
mode_allows(const struct loc_q *q, const struct loc_reach *r)
{
	if (q->req->mode != LOC_MODE_TASK_SEQUENCE || r->current)
		return true;
	return is_default(q, r->g) ? q->req->ts_use_default
	                           : q->req->ts_use_remote;
}

/* Every server in the role, in every group reached, with its best way. */
static void
collect_servers(struct loc_q *q)
{
	for (size_t i = 0; i < q->nr; i++) {
		const struct loc_reach *r = &q->r[i];
		const struct u32vec *sv = &q->d->grp[r->g].servers;

		for (size_t k = 0; k < sv->n; k++) {
			enum loc_kind kind;
			struct loc_cand *c;
			int min;

			if (!serves(q, &q->d->srv[sv->v[k]], &kind))
				continue;
			c = cand_get(q, sv->v[k], kind);
			min =
			    r->current ? 0 : r->minutes[loc_role_col(q, kind)];
			if (c->reach == LOC_NONE)
				c->reach = (uint32_t)i;
			if (min == LOC_NEVER || !mode_allows(q, r))
				continue;
			if (r->current)
				c->in_current = true;
			else if (is_default(q, r->g))
				c->in_default = true;
			else
				c->in_neighbour = true;
			if (c->minute == LOC_NEVER || min < c->minute ||
			    (min == c->minute && r->current))
				c->minute = min, c->reach = (uint32_t)i;
		}
	}
}

static void
dist_request(struct loc_q *q, const struct loc_server *s)
{
	struct loc_answer *a = q->ans;

	a->dist = loc_xrealloc(a->dist, a->ndist + 1, sizeof(*a->dist));
	a->dist[a->ndist].server = s->fqdn;
	a->dist[a->ndist++].content = q->d->content[q->content];
}

/* Content presence and on-demand distribution; false: left out. */
static bool
content_ok(struct loc_q *q, struct loc_cand *c)
{
	const struct loc_server *s = &q->d->srv[c->idx];

	if (q->req->content == NULL ||
	    (q->content != LOC_NONE && loc_holds(&s->content, q->content)))
		return true;
	if (q->content != LOC_NONE && q->d->on_demand[q->content] &&
	    c->in_current) {
		c->on_demand = true;
		c->minute = 0; /* in_current: reach is the current group */
		dist_request(q, s);
		return true;
	}
	loc_note(q, "%s: left out: it does not hold content %s%s", s->fqdn,
	    q->req->content,
	    q->content != LOC_NONE && q->d->on_demand[q->content]
	        ? " (on demand, but only for distribution points of a "
	          "current group)"
	        : ", which does not distribute on demand");
	return false;
}

static int
locality(const struct loc_q *q, const struct loc_cand *c)
{
	if (q->req->role != LOC_MP)
		return 0;
	if (!q->d->prefer_bg_mps || c->in_current)
		return 3;
	if (c->in_neighbour)
		return 2;
	return c->in_default ? 1 : 0;
}

static enum loc_relation
relation(const struct loc_q *q, const struct loc_reach *r)
{
	if (r->current)
		return q->ans->in_boundary ? LOC_REL_CURRENT
		                           : LOC_REL_SITE_DEFAULT;
	return is_default(q, r->g) ? LOC_REL_SITE_DEFAULT : LOC_REL_NEIGHBOUR;
}

static void
add_source(struct loc_q *q, const struct loc_cand *c)
{
	struct loc_answer *a = q->ans;
	const struct loc_reach *r =
	    c->reach != LOC_NONE ? &q->r[c->reach] : NULL;
	struct loc_source *s;

	a->src = loc_xrealloc(a->src, a->nsrc + 1, sizeof(*a->src));
	s = &a->src[a->nsrc++];
	memset(s, 0, sizeof(*s));
	s->name = loc_cand_name(q, c);
	s->kind = c->kind;
	s->group = r ? q->d->grp[r->g].name : NULL;
	s->relation = r ? relation(q, r) : LOC_REL_SITE_LIST;
	s->link_minutes = r && !r->current ? c->minute : 0;
	s->minute = q->req->mode == LOC_MODE_NORMAL ? c->minute : 0;
	s->locality = locality(q, c);
	s->on_demand = c->on_demand;
	s->same_subnet = c->same_subnet;
}

static bool
same_subnet(const struct loc_request *req, const struct ipnet *p)
{
	struct ipaddr pid = ipnet_id(p);

	for (size_t i = 0; i < req->naddrs && i < LOC_MAX_ADDRS; i++) {
		struct ipaddr id = ipnet_id(&req->addrs[i]);

		if (req->addrs[i].plen == p->plen &&
		    ipaddr_is_v4(&id) == ipaddr_is_v4(&pid) &&
		    ipaddr_eq(&id, &pid))
			return true;
	}
	return false;
}

/* The first current group of peer p that lets the client use it. */
static uint32_t
peer_group(struct loc_q *q, const struct loc_peer *p, bool ss)
{
	for (size_t k = 0; k < p->groups.n; k++) {
		const struct loc_group *g = &q->d->grp[p->groups.v[k]];
		const struct loc_reach *r = reach_find(q, p->groups.v[k]);

		if (r == NULL || !r->current)
			continue;
		if (!g->opts.allow_peers)
			loc_note(q,
			    "peer %s in %s: left out: %s does not allow peer "
			    "downloads",
			    p->client, g->name, g->name);
		else if (g->opts.peers_same_subnet_only && !ss)
			loc_note(q,
			    "peer %s in %s: left out: %s allows only peers in "
			    "the client's own subnet",
			    p->client, g->name, g->name);
		else
			return (uint32_t)(r - q->r);
	}
	return LOC_NONE;
}

/* Peer cache sources in a current group that hold the content. */
static void
collect_peers(struct loc_q *q)
{
	const struct loc_request *req = q->req;

	if (req->role != LOC_DP || q->content == LOC_NONE ||
	    req->mode == LOC_MODE_CLIENT_INSTALL || !q->ans->in_boundary)
		return;
	for (size_t i = 0; i < q->d->npeer; i++) {
		const struct loc_peer *p = &q->d->peer[i];
		bool ss = same_subnet(req, &p->addr);
		struct loc_cand *c;
		uint32_t r;

		if (!loc_holds(&p->content, q->content))
			continue;
		if ((r = peer_group(q, p, ss)) == LOC_NONE)
			continue;
		c = cand_get(q, (uint32_t)i, LOC_K_PEER);
		c->reach = r;
		c->minute = 0;
		c->in_current = true;
		c->same_subnet = ss;
		c->peer_demoted =
		    ss && q->d->grp[q->r[r].g].opts.prefer_dp_over_peers;
	}
}

static int
rank(const struct loc_q *q, const struct loc_cand *c)
{
	if (c->kind == LOC_K_CLOUD)
		return q->prefer_cloud ? 0 : 4;
	if (c->kind == LOC_K_PEER)
		return c->peer_demoted ? 3 : 1;
	return 2;
}

/* current 0, neighbour 1, site default 2, the complete list 3 */
static int
tier(const struct loc_q *q, const struct loc_cand *c)
{
	const struct loc_reach *r;

	if (c->reach == LOC_NONE)
		return 3;
	r = &q->r[c->reach];
	return r->current ? 0 : is_default(q, r->g) ? 2 : 1;
}

static int
cmp_int(int a, int b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_cand(const void *pa, const void *pb, void *arg)
{
	const struct loc_q *q = arg;
	const struct loc_cand *a = pa, *b = pb;
	int r = 0;

	if (q->req->role == LOC_MP)
		r = cmp_int(locality(q, b), locality(q, a));
	else if (q->req->mode == LOC_MODE_TASK_SEQUENCE)
		r = cmp_int(a->kind != LOC_K_PEER, b->kind != LOC_K_PEER);
	if (r == 0 && q->req->mode != LOC_MODE_NORMAL)
		r = cmp_int(tier(q, a), tier(q, b));
	if (r == 0)
		r = cmp_int(a->minute, b->minute);
	if (r == 0)
		r = cmp_int(rank(q, a), rank(q, b));
	if (r == 0)
		r = cmp_int(tier(q, a), tier(q, b));
	return r ? r : strcasecmp(loc_cand_name(q, a), loc_cand_name(q, b));
}

/* Why candidate c, considered, is not a source. */
static void
note_left_out(struct loc_q *q, const struct loc_cand *c)
{
	const struct loc_reach *r = &q->r[c->reach];
	const char *g = q->d->grp[r->g].name, *name = loc_cand_name(q, c);

	if (!mode_allows(q, r))
		loc_note(q,
		    "%s in %s: left out: this task sequence deployment does "
		    "not allow distribution points %s",
		    name, g,
		    is_default(q, r->g) ? "of the default site boundary group"
		                        : "of neighbour groups (remote)");
	else if (r->never_via != LOC_NONE)
		loc_note(q, "%s in %s: left out: link %s->%s says never for %s",
		    name, g, q->d->grp[r->never_via].name, g,
		    loc_role_name(loc_role_col(q, c->kind)));
	else
		loc_note(q, "%s in %s: left out: no link leads there for %s",
		    name, g, loc_role_name(loc_role_col(q, c->kind)));
}

/* The management points of the site (all sites if unknown) not yet in
 * the pool; blocked ones stay out. */
static void
mp_site_list(struct loc_q *q, const char *why)
{
	for (size_t i = 0; i < q->d->nsrv; i++) {
		const struct loc_server *s = &q->d->srv[i];
		size_t before = q->nc;
		struct loc_cand *c;

		if (!(s->roles & LOC_ROLE_BIT(LOC_MP)) ||
		    (q->site != LOC_NONE && s->site != q->site))
			continue;
		c = cand_get(q, (uint32_t)i, LOC_K_SERVER);
		if (q->nc == before)
			continue; /* in the pool, or blocked and noted */
		c->minute = 0;
		loc_note(q,
		    "%s: in the complete list of management points%s%s "
		    "(%s)",
		    s->fqdn, q->site != LOC_NONE ? " of site " : "",
		    q->site != LOC_NONE ? q->d->site[q->site].code : "", why);
	}
}

/* Drop what may not be used, noting why; true if a current MP remains. */
static bool
filter(struct loc_q *q)
{
	bool current_mp = false;

	for (size_t i = 0; i < q->nc; i++) {
		struct loc_cand *c = &q->c[i];

		if (c->minute == LOC_NEVER) {
			note_left_out(q, c);
			continue;
		}
		if (c->kind != LOC_K_PEER &&
		    (q->req->role == LOC_DP || q->req->role == LOC_CLOUDDP) &&
		    !content_ok(q, c)) {
			c->minute = LOC_NEVER;
			continue;
		}
		current_mp |= c->in_current;
	}
	return current_mp;
}

static void
note_source(struct loc_q *q, const struct loc_cand *c)
{
	char how[512];

	if (c->reach == LOC_NONE)
		return; /* noted when the list was made */
	loc_reach_how(
	    q, &q->r[c->reach], loc_role_col(q, c->kind), how, sizeof(how));
	if (q->req->role == LOC_MP)
		snprintf(how + strlen(how), sizeof(how) - strlen(how),
		    ", locality %d", locality(q, c));
	loc_note(q, "%s%s in %s: %s%s%s", c->kind == LOC_K_PEER ? "peer " : "",
	    loc_cand_name(q, c), q->d->grp[q->r[c->reach].g].name, how,
	    c->on_demand ? "; it lacks the content, which distributes on "
	                   "demand: a distribution to it was requested"
	                 : "",
	    c->kind == LOC_K_PEER && c->same_subnet ? "; in the client's subnet"
	                                            : "");
}

/* Sort the usable candidates into the answer. */
static void
order(struct loc_q *q)
{
	size_t k = 0;

	for (size_t i = 0; i < q->nc; i++)
		if (q->c[i].minute != LOC_NEVER)
			q->c[k++] = q->c[i];
	q->nc = k;
	if (q->nc > 1)
		qsort_r(q->c, q->nc, sizeof(*q->c), cmp_cand, q);
	for (size_t i = 0; i < q->nc; i++) {
		note_source(q, &q->c[i]);
		add_source(q, &q->c[i]);
	}
}

static int
check_request(const struct loc_model *m, const struct loc_request *req,
    struct loc_q *q, char *why, size_t len)
{
	if ((unsigned)req->role >= LOC_NROLES ||
	    (unsigned)req->mode > LOC_MODE_TASK_SEQUENCE)
		return snprintf(why, len, "unknown role or mode"), -1;
	if (req->naddrs > LOC_MAX_ADDRS)
		return snprintf(
		           why, len, "more than %d addresses", LOC_MAX_ADDRS),
		       -1;
	if (req->mode != LOC_MODE_NORMAL && req->role != LOC_DP)
		return snprintf(why, len,
		           "client installation and task sequences ask for "
		           "distribution points (dp), not %s",
		           loc_role_name(req->role)),
		       -1;
	if (req->content != NULL && req->role != LOC_DP &&
	    req->role != LOC_CLOUDDP)
		return snprintf(why, len,
		           "content is asked of distribution points (dp, "
		           "clouddp), not %s",
		           loc_role_name(req->role)),
		       -1;
	q->site = LOC_NONE;
	if (req->site != NULL && *req->site != '\0' &&
	    !strmap_get(&m->d.site_by_code, req->site, &q->site))
		return snprintf(why, len, "unknown site \"%s\"", req->site), -1;
	return 0;
}

/* The current groups into q and the answer; -1 if there are none. */
static int
current(const struct loc_model *m, struct loc_q *q, uint32_t *cur, size_t n,
    char *why, size_t len)
{
	struct loc_answer *a = q->ans;

	a->in_boundary = n > 0;
	if (n == 0) {
		if (q->site == LOC_NONE)
			return snprintf(why, len,
			           "no boundary matches this client and no "
			           "assigned site is given, whose default "
			           "group would apply"),
			       -1;
		cur[n++] = m->d.site[q->site].default_group;
	}
	a->current = loc_xrealloc(NULL, n, sizeof(*a->current));
	for (size_t i = 0; i < n; i++) {
		reach_get(q, cur[i])->current = true;
		a->current[a->ncurrent++] = m->d.grp[cur[i]].name;
		q->prefer_cloud |= m->d.grp[cur[i]].opts.prefer_cloud;
	}
	reach_neighbours(q, cur, n);
	return 0;
}

int
loc_query(const struct loc_model *m, const struct loc_request *req,
    struct loc_answer *ans, char *why, size_t len)
{
	struct loc_q q = { .d = &m->d, .req = req, .ans = ans };
	uint32_t cur[256];
	size_t n;

	memset(ans, 0, sizeof(*ans));
	if (check_request(m, req, &q, why, len) == -1)
		return -1;
	q.content = loc_content_index(&m->d, req->content);
	ans->site = q.site != LOC_NONE ? m->d.site[q.site].code : NULL;
	loc_explain_location(m, &q);
	n = loc_current_groups(m, req, cur, 256);
	if (current(m, &q, cur, n < 256 ? n : 256, why, len) == -1) {
		loc_answer_free(ans);
		return -1;
	}
	loc_explain_groups(&q);
	if (req->role == LOC_MP && !m->d.prefer_bg_mps) {
		mp_site_list(&q,
		    "clients do not prefer management points of "
		    "boundary groups: locality 3 for all");
	} else {
		collect_servers(&q);
		collect_peers(&q);
		if (!filter(&q) && req->role == LOC_MP)
			mp_site_list(&q,
			    "no current group has a management "
			    "point: locality 0");
	}
	order(&q);
	free(q.r);
	free(q.c);
	return 0;
}

void
loc_answer_free(struct loc_answer *ans)
{
	for (size_t i = 0; i < ans->nnotes; i++)
		free(ans->notes[i]);
	free(ans->notes);
	free(ans->current);
	free(ans->src);
	free(ans->dist);
	memset(ans, 0, sizeof(*ans));
}

const char *
loc_assign_site(const struct loc_model *m, const struct loc_request *req,
    const char *assigned, uint32_t (*rnd)(void *ctx, uint32_t n), void *ctx,
    char *why, size_t len)
{
	uint32_t cur[256], sites[256];
	size_t n, ns = 0;

	if (assigned != NULL && *assigned != '\0')
		return assigned; /* site assignment is never redone */
	n = loc_current_groups(m, req, cur, 256);
	for (size_t i = 0; i < n && i < 256; i++) {
		uint32_t s = m->d.grp[cur[i]].site;
		size_t k = 0;

		while (k < ns && sites[k] != s)
			k++;
		if (s != LOC_NONE && k == ns)
			sites[ns++] = s;
	}
	if (ns == 0) {
		snprintf(why, len,
		    n == 0 ? "no boundary matches this client"
		           : "no boundary group of this client assigns a site");
		return NULL;
	}
	return m->d.site[sites[ns > 1 ? rnd(ctx, (uint32_t)ns) % ns : 0]].code;
}
