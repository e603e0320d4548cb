/*
 * cmd_location.c - sitectl location: what a client at a given network
 * location may use, from which minute, and why (the location engine on
 * the model in the site database; nothing is recorded)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "location/location.h"
#include "location/location_db.h"
#include "location/location_json.h"
#include "sitectl.h"
#include "util/sjson.h"

#define AT_MAX 1000000 /* minutes: about two years */

struct loc_args {
	struct loc_request req;
	long at; /* -1: every source, with its minute */
	char site[LOC_SITE_MAX + 1];
	bool auto_site; /* the site came from automatic site assignment */
};

static int
bad(const char *opt, const char *why)
{
	ctl_err("location: %s: %s", opt, why);
	return -1;
}

static int
parse_at(const char *s, long *out)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > AT_MAX)
		return bad("--at",
		    "minutes must be a whole number from 0 to "
		    "1000000");
	*out = v;
	return 0;
}

static int
parse_opt(struct loc_args *a, int ch, const char *v)
{
	char why[256];

	switch (ch) {
	case 'i':
		if (a->req.naddrs == LOC_MAX_ADDRS)
			return bad("--ip", "at most 16 addresses");
		if (ipnet_parse(v, IPNET_HOST, &a->req.addrs[a->req.naddrs],
		        why, sizeof(why)) == -1)
			return bad("--ip", why);
		a->req.naddrs++;
		return 0;
	case 'a':
		return a->req.ad_site = v, 0;
	case 'v':
		return a->req.vpn_name = v, 0;
	case 'd':
		return a->req.vpn_description = v, 0;
	case 's':
		if (site_code_check(v, a->site) == -1)
			return -1;
		return a->req.site = a->site, 0;
	case 'c':
		return a->req.content = v, 0;
	case 'm':
		if (loc_mode_parse(v, &a->req.mode) == -1)
			return bad("--mode",
			    "use normal, client-install or "
			    "task-sequence");
		return 0;
	case 'r':
		return a->req.ts_use_remote = true, 0;
	case 'D':
		return a->req.ts_use_default = true, 0;
	case 't':
		return parse_at(v, &a->at);
	case 'e':
		return a->req.explain = true, 0;
	default:
		return -1;
	}
}

static int
parse(struct ctl *ctl, int argc, char **argv, struct loc_args *a)
{
	static const struct option opts[] = { { "ip", required_argument, NULL,
		                                  'i' },
		{ "ad-site", required_argument, NULL, 'a' },
		{ "vpn", required_argument, NULL, 'v' },
		{ "vpn-description", required_argument, NULL, 'd' },
		{ "site", required_argument, NULL, 's' },
		{ "content", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "ts-remote", no_argument, NULL, 'r' },
		{ "ts-default", no_argument, NULL, 'D' },
		{ "at", required_argument, NULL, 't' },
		{ "explain", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' }, { 0 } };
	int ch;

	memset(a, 0, sizeof(*a));
	a->at = -1;
	if (argc < 2 || loc_role_parse(argv[1], &a->req.role) == -1) {
		char roles[LOC_ROLE_LIST_MAX];

		loc_role_list(roles, sizeof(roles), ", ", " or ");
		if (argc >= 2 && argv[1][0] != '-')
			ctl_err("location: unknown role \"%s\": use %s",
			    argv[1], roles);
		return -1;
	}
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (ch == 'j')
			ctl->json = true;
		else if (parse_opt(a, ch, optarg) == -1)
			return -1;
	}
	if (optind != argc - 1) {
		ctl_err(
		    "location: unexpected argument \"%s\"", argv[optind + 1]);
		return -1;
	}
	if (a->req.naddrs == 0 && a->req.ad_site == NULL &&
	    a->req.vpn_name == NULL && a->req.vpn_description == NULL &&
	    a->req.site == NULL)
		return bad("location",
		    "say where the client is: --ip, "
		    "--ad-site, --vpn or at least --site");
	return 0;
}

static uint32_t
pick(void *ctx, uint32_t n)
{
	(void)ctx;
	return (uint32_t)random() % n;
}

static bool
usable(const struct loc_args *a, const struct loc_source *s)
{
	return a->at < 0 || s->minute <= a->at;
}

static void
print_sources(const struct loc_args *a, const struct loc_answer *ans)
{
	int wn = 6, wg = 5, n = 0;

	for (size_t i = 0; i < ans->nsrc; i++) {
		const struct loc_source *s = &ans->src[i];
		int ln = (int)strlen(ctl_text(s->name)) +
		    (s->kind == LOC_K_PEER ? 5 : 0);

		if (!usable(a, s))
			continue;
		wn = ln > wn ? ln : wn;
		if (s->group != NULL && (int)strlen(ctl_text(s->group)) > wg)
			wg = (int)strlen(ctl_text(s->group));
	}
	printf("%-5s %-*s %-*s %-12s %6s%s\n", "ORDER", wn, "SOURCE", wg,
	    "GROUP", "RELATION", "MINUTE",
	    a->req.role == LOC_MP ? " LOCALITY" : "");
	for (size_t i = 0; i < ans->nsrc; i++) {
		const struct loc_source *s = &ans->src[i];
		char name[4 * LOC_NAME_MAX + 8];

		if (!usable(a, s))
			continue;
		snprintf(name, sizeof(name), "%s%s",
		    s->kind == LOC_K_PEER ? "peer " : "", ctl_text(s->name));
		printf("%-5d %-*s %-*s %-12s %6d", ++n, wn, name, wg,
		    s->group ? ctl_text(s->group) : "-",
		    loc_relation_name(s->relation), s->minute);
		if (a->req.role == LOC_MP)
			printf(" %8d", s->locality);
		printf("%s%s\n", s->kind == LOC_K_CLOUD ? "  (cloud)" : "",
		    s->on_demand ? "  (on demand)" : "");
	}
	if (n == 0)
		printf("(none)\n");
}

static void
print_text(const struct loc_args *a, const struct loc_answer *ans,
    const char *assigned)
{
	size_t later = 0;

	printf("site: %s%s\n", assigned ? ctl_text(assigned) : "(none)",
	    a->auto_site ? " (by automatic site assignment)" : "");
	printf("current boundary groups:");
	for (size_t i = 0; i < ans->ncurrent; i++)
		printf("%s %s", i ? "," : "", ctl_text(ans->current[i]));
	printf("%s\n", ans->in_boundary ? "" : " (no boundary matches)");
	if (a->at >= 0)
		printf("usable at minute %ld, in order:\n", a->at);
	print_sources(a, ans);
	for (size_t i = 0; i < ans->nsrc; i++) {
		if (usable(a, &ans->src[i]))
			continue;
		printf("%s %s (from minute %d)",
		    later++ ? "," : "later:", ctl_text(ans->src[i].name),
		    ans->src[i].minute);
	}
	if (later)
		printf("\n");
	for (size_t i = 0; i < ans->ndist; i++)
		printf("on-demand distribution of %s to %s (a management point "
		       "records it; sitectl does not)\n",
		    ctl_text(ans->dist[i].content),
		    ctl_text(ans->dist[i].server));
	if (a->req.explain) {
		printf("why:\n");
		for (size_t i = 0; i < ans->nnotes; i++)
			printf("  %s\n", ctl_text(ans->notes[i]));
	}
}

static int
print_json(
    const struct loc_args *a, struct loc_answer *ans, const char *assigned)
{
	size_t k = 0, n = ans->nsrc;
	json_t *doc;
	int rc;

	for (size_t i = 0; i < n; i++) /* only what is usable at --at */
		if (usable(a, &ans->src[i]))
			ans->src[k++] = ans->src[i];
	ans->nsrc = k;
	doc = loc_answer_json(ans, a->req.role, assigned);
	if (doc == NULL)
		return -1;
	if (a->at >= 0)
		sjson_set(doc, "at", json_integer(a->at));
	rc = ctl_json(doc);
	json_decref(doc);
	return rc;
}

static int
answer(struct ctl *ctl, struct loc_args *a, const struct loc_model *m)
{
	struct loc_answer ans;
	const char *assigned;
	char why[512];
	int rc;

	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	assigned = loc_assign_site(
	    m, &a->req, a->req.site, pick, NULL, why, sizeof(why));
	if (a->req.site == NULL && assigned != NULL) {
		a->req.site = assigned;
		a->auto_site = true;
	}
	if (loc_query(m, &a->req, &ans, why, sizeof(why)) == -1) {
		ctl_err("location: %s", why);
		return EXIT_FAIL;
	}
	if (ctl->json) {
		rc = print_json(a, &ans, assigned) == 0 ? EXIT_OK : EXIT_FAIL;
	} else {
		print_text(a, &ans, assigned);
		rc = EXIT_OK;
	}
	loc_answer_free(&ans);
	return rc;
}

int
cmd_location(struct ctl *ctl, int argc, char **argv)
{
	struct loc_args a;
	struct loc_model *m;
	char why[1024];
	PGconn *db;
	int rc;

	if (parse(ctl, argc, argv, &a) == -1)
		return ctl_usage("location");
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	m = loc_db_load(db, why, sizeof(why));
	PQfinish(db);
	if (m == NULL) {
		ctl_err("location: loading the boundary "
		        "model: %s",
		    why);
		return EXIT_FAIL;
	}
	rc = answer(ctl, &a, m);
	loc_model_free(m);
	return rc;
}
