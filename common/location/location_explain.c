/*
 * location_explain.c - the notes of a location answer: why each group and
 * each source is in or out, in words a newcomer follows
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location_query.h"
#include "util/buf.h"

void
loc_note(struct loc_q *q, const char *fmt, ...)
{
	struct loc_answer *a = q->ans;
	va_list ap;
	char *s;

	if (!q->req->explain)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1) {
		fputs("out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	a->notes = loc_xrealloc(a->notes, a->nnotes + 1, sizeof(*a->notes));
	a->notes[a->nnotes++] = s;
}

const char *
loc_cand_name(const struct loc_q *q, const struct loc_cand *c)
{
	return c->kind == LOC_K_PEER ? q->d->peer[c->idx].client
	                             : q->d->srv[c->idx].fqdn;
}

static void
link_how(const struct loc_q *q, const struct loc_reach *r, enum loc_role col,
    char *out, size_t len)
{
	const char *from = q->d->grp[r->via[col]].name,
	           *to = q->d->grp[r->g].name;
	uint32_t site = q->d->grp[r->g].default_of;

	if (r->implied[col])
		snprintf(out, len,
		    "implied link from %s: Default Behavior of site %s, %s=%d",
		    from, q->d->site[site].code, loc_role_name(col),
		    r->minutes[col]);
	else
		snprintf(out, len, "explicit link %s->%s, %s=%d%s", from, to,
		    loc_role_name(col), r->minutes[col],
		    site != LOC_NONE ? ", overriding the Default Behavior"
		                     : "");
}

void
loc_reach_how(const struct loc_q *q, const struct loc_reach *r,
    enum loc_role col, char *out, size_t len)
{
	char link[512], what[300];

	if (r->current) {
		if (q->ans->in_boundary)
			snprintf(
			    out, len, "current group, usable from minute 0");
		else
			snprintf(out, len,
			    "the default group of site %s, which applies "
			    "because no boundary matches the client; usable "
			    "from minute 0",
			    q->ans->site);
		return;
	}
	link_how(q, r, col, link, sizeof(link));
	if (q->d->grp[r->g].default_of != LOC_NONE)
		snprintf(what, sizeof(what), "site default group");
	else
		snprintf(what, sizeof(what), "neighbour of %s",
		    q->d->grp[r->via[col]].name);
	if (q->req->mode == LOC_MODE_NORMAL)
		snprintf(out, len, "%s, usable from minute %d (%s)", what,
		    r->minutes[col], link);
	else if (q->req->mode == LOC_MODE_CLIENT_INSTALL)
		snprintf(out, len,
		    "%s, usable at once: client installation does not wait "
		    "for fallback times (%s)",
		    what, link);
	else
		snprintf(out, len,
		    "%s, tried at once, in order of failover time: a task "
		    "sequence does not wait (%s)",
		    what, link);
}

static void
note_matches(const struct loc_model *m, struct loc_q *q, const char *what,
    const uint32_t *ids, size_t n)
{
	char desc[300];
	struct buf b = { 0 };

	if (n == 0) {
		loc_note(q, "%s is in no boundary", what);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct loc_bnd *x = &m->d.bnd[ids[i]];

		loc_bnd_describe(x, desc, sizeof(desc));
		buf_reset(&b);
		for (size_t k = 0; k < x->groups.n; k++)
			buf_addf(&b, "%s%s", k ? ", " : "",
			    m->d.grp[x->groups.v[k]].name);
		loc_note(q, "%s is in boundary %s (%s), %s %s", what, x->name,
		    desc, x->groups.n ? "a member of" : "which is in no group",
		    b.p ? b.p : "");
	}
	buf_free(&b);
}

void
loc_explain_location(const struct loc_model *m, struct loc_q *q)
{
	const struct loc_request *req = q->req;
	struct loc_request only = { 0 };
	uint32_t ids[64];
	char what[300];
	size_t n;

	if (!req->explain)
		return;
	for (size_t i = 0; i < req->naddrs && i < LOC_MAX_ADDRS; i++) {
		ipnet_format(&req->addrs[i], what, sizeof(what));
		n = loc_bindex_addr(&m->ix, &m->d, &req->addrs[i], ids, 64);
		note_matches(m, q, what, ids, n < 64 ? n : 64);
	}
	if (req->ad_site != NULL) {
		only.ad_site = req->ad_site;
		n = loc_bindex_match(&m->ix, &m->d, &only, ids, 64);
		snprintf(what, sizeof(what), "AD site %s", req->ad_site);
		note_matches(m, q, what, ids, n < 64 ? n : 64);
	}
	if (req->vpn_name != NULL || req->vpn_description != NULL) {
		only.ad_site = NULL;
		only.vpn_name = req->vpn_name;
		only.vpn_description = req->vpn_description;
		n = loc_bindex_match(&m->ix, &m->d, &only, ids, 64);
		snprintf(what, sizeof(what), "the VPN connection");
		note_matches(m, q, what, ids, n < 64 ? n : 64);
	}
}

static const struct loc_reach *
find_reach(const struct loc_q *q, uint32_t g)
{
	for (size_t i = 0; i < q->nr; i++)
		if (q->r[i].g == g)
			return &q->r[i];
	return NULL;
}

/* Groups only a neighbour links to: not used, fallback is not transitive. */
static void
note_indirect(struct loc_q *q, const struct loc_reach *r)
{
	const struct loc_group *g = &q->d->grp[r->g];

	for (size_t k = 0; k < g->nlinks; k++) {
		uint32_t to = g->links[k].to;

		if (find_reach(q, to) != NULL)
			continue;
		loc_note(q,
		    "%s: not used: only %s links to it, and %s is a neighbour, "
		    "not a current group (fallback goes to direct neighbours "
		    "only)",
		    q->d->grp[to].name, g->name, g->name);
	}
}

void
loc_explain_groups(struct loc_q *q)
{
	enum loc_role col = q->req->role;
	struct buf b = { 0 };
	char how[600];

	if (!q->req->explain)
		return;
	for (size_t i = 0; i < q->ans->ncurrent; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", q->ans->current[i]);
	loc_note(q, "current boundary groups: %s%s", b.p,
	    q->ans->in_boundary
	        ? (q->ans->ncurrent > 1
	                  ? " (the union of the groups of every matching "
	                    "boundary)"
	                  : "")
	        : " (no boundary matches: the default group of the assigned "
	          "site)");
	buf_free(&b);
	for (size_t i = 0; i < q->nr; i++) {
		const struct loc_reach *r = &q->r[i];
		const char *name = q->d->grp[r->g].name;

		if (r->current)
			continue;
		if (r->minutes[col] == LOC_NEVER && r->never_via != LOC_NONE)
			loc_note(q,
			    "%s: not used for %s: link %s->%s says never", name,
			    loc_role_name(col), q->d->grp[r->never_via].name,
			    name);
		else if (r->minutes[col] != LOC_NEVER) {
			loc_reach_how(q, r, col, how, sizeof(how));
			loc_note(q, "%s: %s", name, how);
		}
		if (q->d->grp[r->g].default_of == LOC_NONE)
			note_indirect(q, r);
	}
}
