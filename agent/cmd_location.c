/*
 * cmd_location.c - "location": ask the management point (or read an
 * answer from a file) where the client may go for a role, and show which
 * source the fallback walker uses at a given minute of fallback
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/sjson.h"

enum { OPT_CONTENT = 256, OPT_AT, OPT_JSON, OPT_ANSWER, OPT_NEXT };

/* The arguments of "location". */
struct loc_args {
	enum loc_role role;
	const char *content, *answer;
	long minutes;
	bool json;
	bool next; /* sup: switch to the next one (next-sup) */
};

/* What the walker says at the asked minute. */
struct loc_use {
	char name[LOC_NAME_MAX + 1]; /* the source in use, "" if none */
	const char **pool; /* the pool it is taken from */
	size_t npool;
	char why[LOC_NAME_MAX + 128]; /* how it was chosen, for people */
};

static const struct option location_opts[] = {
	{ "content", required_argument, NULL, OPT_CONTENT },
	{ "at", required_argument, NULL, OPT_AT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "answer", required_argument, NULL, OPT_ANSWER },
	{ "next", no_argument, NULL, OPT_NEXT },
	{ NULL, 0, NULL, 0 },
};

/* Minutes from text: 0 to LOCATION_MAX_MINUTES; 0 or -1. */
static int
location_minutes(const char *text, long *out)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || v < 0 || v > LOCATION_MAX_MINUTES)
		return -1;
	*out = v;
	return 0;
}

/* One option of "location" into a; 0, or 2 after a message. */
static int
location_option(struct loc_args *a, int ch, const char *arg)
{
	switch (ch) {
	case OPT_CONTENT:
		a->content = arg;
		return 0;
	case OPT_AT:
		if (location_minutes(arg, &a->minutes) == 0)
			return 0;
		fprintf(stderr,
		    "sitesys-agent: --at: \"%s\" is not a number of minutes "
		    "from 0 to %d\n",
		    arg, LOCATION_MAX_MINUTES);
		return 2;
	case OPT_JSON:
		a->json = true;
		return 0;
	case OPT_ANSWER:
		a->answer = arg;
		return 0;
	case OPT_NEXT:
		a->next = true;
		return 0;
	default:
		return agent_usage(stderr, 2);
	}
}

/* Parse "location ROLE [options]" into a; 0 or an exit status. */
static int
location_args(struct loc_args *a, int argc, char **argv)
{
	char roles[LOC_ROLE_LIST_MAX];
	int ch;

	memset(a, 0, sizeof(*a));
	loc_role_list(roles, sizeof(roles), "|", "|");
	optind = 0; /* 0: glibc starts over, permuting: options after ROLE */
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "", location_opts, NULL)) != -1) {
		int rc = location_option(a, ch, optarg);

		if (rc != 0)
			return rc;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "sitesys-agent: location needs one role: %s\n",
		    roles);
		return 2;
	}
	if (loc_role_parse(argv[optind], &a->role) == -1) {
		fprintf(stderr, "sitesys-agent: unknown role \"%s\" (%s)\n",
		    argv[optind], roles);
		return 2;
	}
	if (a->next && a->role != LOC_SUP) {
		fprintf(stderr, "sitesys-agent: --next is for sup only\n");
		return 2;
	}
	if (a->content != NULL && a->role != LOC_DP && a->role != LOC_CLOUDDP) {
		fprintf(stderr,
		    "sitesys-agent: --content is for dp and clouddp only\n");
		return 2;
	}
	return 0;
}

/* Keep the site the MP assigned, for every later request. */
static void
location_remember_site(struct agent *ag, struct fb_state *fs, const char *site)
{
	char why[512];

	if (store_lock(&ag->st) == -1)
		return;
	/* the daemon may have changed the rest since it was read */
	if (fb_state_load(ag->st.dir, fs, why, sizeof(why)) == -1)
		log_warn("%s; starting over", why);
	snprintf(fs->site, sizeof(fs->site), "%s", site);
	if (fb_state_save(ag->st.dir, fs) == -1)
		log_error("could not remember the assigned site: %m");
	store_unlock(&ag->st);
}

/* Ask the management point; the assigned site it gives is remembered. */
static int
location_ask_mp(struct agent *ag, const struct loc_args *a, struct fb_state *fs,
    struct location_answer *la, char *why, size_t len)
{
	struct location_ask q = { .role = a->role, .content = a->content };
	struct mp_route r;
	json_t *req;
	int rc;

	location_ask_conf(&q, ag->cf);
	if (q.site[0] == '\0')
		q.site = fs->site;
	req = location_request_doc(ag->st.guid, netaddr_list(), &q);
	mp_route_begin(ag, &r);
	rc = location_fetch(&r.http, r.url, req, la, why, len);
	mp_route_end(ag, &r);
	json_decref(req);
	if (rc == 0 && fs->site[0] == '\0' && la->assigned_site != NULL)
		location_remember_site(ag, fs, la->assigned_site);
	return rc;
}

/* The content walker (dp, clouddp, smp, cmg) at minute m. */
static void
location_walk_dp(const struct fb_list *l, long m, struct loc_use *u)
{
	struct fb_dp w;
	const struct loc_source *s;
	size_t first;

	fb_dp_start(&w, 0, fb_random, NULL);
	s = fb_dp_source(&w, l, (int64_t)m * 60);
	u->npool = fb_pool_size(l, (int64_t)m * 60);
	for (size_t i = 0; i < u->npool; i++)
		u->pool[i] = l->v[i]->name;
	first = l->n > 0 ? fb_pool_size(l, (int64_t)l->v[0]->minute * 60) : 0;
	snprintf(u->name, sizeof(u->name), "%s", s ? s->name : "");
	snprintf(u->why, sizeof(u->why),
	    "first pick at random among %zu, two minutes each, in pool order",
	    first);
}

/* The SUP walker at minute m after the last known-good one failed. */
static void
location_walk_sup(const struct fb_list *l, const struct fb_sup *known, long m,
    struct loc_use *u)
{
	struct fb_sup w = *known;
	const char *s;

	w.failing = true;
	w.failing_since = 0;
	w.cur = 0;
	s = fb_sup_source(&w, l, (int64_t)m * 60);
	u->npool = fb_sup_pool(&w, l, (int64_t)m * 60, u->pool, l->n);
	snprintf(u->name, sizeof(u->name), "%s", s ? s : "");
	if (w.known_good[0] == '\0')
		snprintf(u->why, sizeof(u->why),
		    "no last known-good server: the pool at once");
	else if (m < FB_SUP_HOLD_SECONDS / 60)
		snprintf(u->why, sizeof(u->why),
		    "last known-good %s alone for 120 minutes", w.known_good);
	else
		snprintf(u->why, sizeof(u->why),
		    "after 120 minutes on %s: the pool, one after the other",
		    w.known_good);
}

/* The MP walker at minute m from now, from the current one if any. */
static void
location_walk_mp(const struct fb_list *l, const struct fb_mp *known, long m,
    struct loc_use *u)
{
	struct fb_mp w = *known;
	const struct loc_source *s;
	int64_t now = clock_now_us() / 1000000 + (int64_t)m * 60;

	s = fb_mp_source(&w, l, now);
	u->npool = l->n;
	for (size_t i = 0; i < l->n; i++)
		u->pool[i] = l->v[i]->name;
	snprintf(u->name, sizeof(u->name), "%s", s ? s->name : "");
	snprintf(u->why, sizeof(u->why), "%s",
	    s != NULL && s == l->v[0]
	        ? "the most local one (locality order)"
	        : "moved on after five errors in ten minutes");
}

/* Run the role's walker over ans at a->minutes; 0 or -1 (memory). */
static int
location_walk(const struct loc_args *a, const struct fb_state *fs,
    const struct loc_answer *ans, struct loc_use *u)
{
	struct fb_list l;
	int rc = a->role == LOC_MP ? fb_list_by_locality(ans, &l)
	                           : fb_list_by_minute(ans, &l);

	memset(u, 0, sizeof(*u));
	if (rc == -1 ||
	    (u->pool = calloc(ans->nsrc + 1, sizeof(char *))) == NULL) {
		fb_list_free(&l);
		return -1;
	}
	if (a->role == LOC_SUP)
		location_walk_sup(&l, &fs->sup, a->minutes, u);
	else if (a->role == LOC_MP)
		location_walk_mp(&l, &fs->mp, a->minutes, u);
	else
		location_walk_dp(&l, a->minutes, u);
	fb_list_free(&l);
	return 0;
}

/* The answer and the walker's choice as one JSON document. */
static json_t *
location_json(const struct loc_args *a, const struct location_answer *la,
    const struct loc_use *u)
{
	json_t *pool = json_array();
	json_t *doc =
	    json_pack("{s:s,s:O,s:I,s:o,s:o}", "role", loc_role_name(a->role),
	        "answer", la->doc, "at", (json_int_t)a->minutes, "pool", pool,
	        "use", u->name[0] ? json_string(u->name) : json_null());

	if (doc == NULL)
		abort();
	for (size_t i = 0; i < u->npool; i++)
		sjson_append(pool, json_string(u->pool[i]));
	return doc;
}

/* The answer, one source a line, then the walker's choice. */
static void
location_text(const struct loc_args *a, const struct location_answer *la,
    const struct loc_use *u)
{
	const struct loc_answer *ans = &la->a;

	printf("%-9s %s\n", "role", loc_role_name(a->role));
	printf("%-9s %s%s\n", "site", ans->site ? ans->site : "-",
	    ans->in_boundary ? ""
	                     : " (no boundary matched: its default group)");
	printf("%-9s", "current");
	for (size_t i = 0; i < ans->ncurrent; i++)
		printf(" %s", ans->current[i]);
	printf(
	    "%s\n%-9s %zu\n", ans->ncurrent ? "" : " -", "sources", ans->nsrc);
	for (size_t i = 0; i < ans->nsrc; i++) {
		const struct loc_source *s = &ans->src[i];

		printf("  %s %s %s %s from minute %d", s->name,
		    location_kind_name(s->kind), loc_relation_name(s->relation),
		    s->group ? s->group : "-", s->minute);
		if (a->role == LOC_MP)
			printf(" locality %d", s->locality);
		printf("%s\n", s->on_demand ? " on-demand" : "");
	}
	for (size_t i = 0; i < ans->nnotes; i++)
		printf("  note: %s\n", ans->notes[i]);
	printf("at minute %ld: %s (pool of %zu; %s)\n", a->minutes,
	    u->name[0] ? u->name : "none", u->npool, u->why);
}

/* The answer of the MP, or of --answer; 0, or an exit status. */
static int
location_get(struct agent *ag, const struct loc_args *a, struct fb_state *fs,
    struct location_answer *la)
{
	char why[1024];

	if (a->answer != NULL) {
		if (location_read(a->answer, la, why, sizeof(why)) == -1) {
			fprintf(stderr, "sitesys-agent: %s\n", why);
			return 2;
		}
		if (la->role != NULL &&
		    strcmp(la->role, loc_role_name(a->role)) != 0) {
			fprintf(stderr,
			    "sitesys-agent: %s: an answer for %s, not %s\n",
			    a->answer, la->role, loc_role_name(a->role));
			location_answer_free(la);
			return 2;
		}
		return 0;
	}
	if (location_ask_mp(ag, a, fs, la, why, sizeof(why)) == 0)
		return 0;
	fprintf(stderr, "sitesys-agent: location: %s\n", why);
	return 1;
}

/* next-sup: the SUP after the one in use becomes the one to use, kept in
 * fallback.json; an exit status, what changed on standard output. */
static int
location_next_sup(struct agent *ag, const struct loc_answer *ans)
{
	struct fb_state fs;
	struct fb_list l;
	const char *next;
	char why[512], was[LOC_NAME_MAX + 1];
	int64_t now = clock_now_us() / 1000000;
	int rc = 0;

	if (fb_list_by_minute(ans, &l) == -1)
		abort();
	if (store_lock(&ag->st) == -1) {
		fb_list_free(&l);
		return 1;
	}
	/* the daemon may have changed the rest since it was read */
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s; starting over", why);
	next = fb_sup_source(&fs.sup, &l, now);
	snprintf(was, sizeof(was), "%s", next != NULL ? next : "none");
	if (l.n == 0) {
		printf("no software update point in the management point's "
		       "answer\n");
		rc = 1;
	} else if ((next = fb_sup_next(&fs.sup, &l, now)) == NULL) {
		printf("%s is the only software update point: kept\n", was);
		rc = 1;
	} else if (fb_state_save(ag->st.dir, &fs) == -1) {
		printf("could not keep the switch to %s: %s\n", next,
		    strerror(errno));
		rc = 1;
	} else
		printf("software update point: %s -> %s\n", was, next);
	store_unlock(&ag->st);
	fb_list_free(&l);
	return rc;
}

int
cmd_location(struct agent *ag, int argc, char **argv)
{
	struct loc_args a;
	struct fb_state fs;
	struct location_answer la;
	struct loc_use u;
	char why[1024];
	int rc;

	if ((rc = location_args(&a, argc, argv)) != 0)
		return rc;
	if (agent_open(ag) == -1)
		return 1;
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s; using none", why);
	if ((rc = location_get(ag, &a, &fs, &la)) != 0)
		return rc;
	if (a.next) {
		rc = location_next_sup(ag, &la.a);
		location_answer_free(&la);
		return rc;
	}
	if (location_walk(&a, &fs, &la.a, &u) == -1)
		abort();
	if (a.json) {
		json_t *doc = location_json(&a, &la, &u);

		sjson_print(stdout, doc);
		json_decref(doc);
	} else
		location_text(&a, &la, &u);
	free(u.pool);
	location_answer_free(&la);
	return 0;
}
