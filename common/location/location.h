/*
 * location.h - the location engine: which site systems a client may use,
 * from which minute, and why (seed 003, "boundary groups")
 *
 * The model is made through a builder (loc_builder_new, loc_add_...),
 * then frozen (loc_freeze) into a read-only struct loc_model that any
 * number of threads may query at once (loc_query, loc_current_groups,
 * loc_assign_site). Objects are named as the administrator names them:
 * boundary and group names, server FQDNs, site codes, content IDs; names
 * of groups and boundaries are compared exactly, site codes, FQDNs, AD
 * sites and VPN names without regard to case.
 *
 * The rules, as the seed gives them:
 *   - current groups: the union of the groups of every boundary that
 *     matches the client; none: the default group of its assigned site;
 *   - servers of a current group: from minute 0;
 *   - a direct neighbour (one explicit link from a current group): from the
 *     link's minutes for the role, never if it says never; a group reached
 *     from several current groups: the earliest; neighbours of neighbours:
 *     never (no transitive fallback);
 *   - every group but a default group has an implied link to each site's
 *     default group, with that site's Default Behavior minutes (120, and 0
 *     for management points, unless changed); an explicit link to a default
 *     group overrides the implied one;
 *   - content: a distribution point is a source only if it holds the
 *     content; on-demand content missing on a distribution point of a
 *     current group makes that point a source and a distribution request;
 *   - management points: locality 3 (in a current group), 2 (neighbour),
 *     1 (only the site default group), 0 (the complete list, given when the
 *     current groups hold none); with "prefer management points in boundary
 *     groups" off, every management point of the assigned site, locality 3.
 */
#ifndef SITESYS_LOCATION_H
#define SITESYS_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

/* The site system roles a client asks for. */
enum loc_role {
	LOC_DP, /* distribution point (its answer also holds cloud ones, peers) */
	LOC_CLOUDDP, /* cloud distribution point */
	LOC_SUP, /* software update point */
	LOC_SMP, /* state migration point */
	LOC_MP, /* management point */
	LOC_CMG, /* cloud management gateway */
	LOC_NROLES
};

#define LOC_ROLE_BIT(r) (1u << (r))

/* A fallback time that never comes ("never fall back"). */
#define LOC_NEVER (-1)

/* The seed's defaults: 120 minutes, management points 0. */
#define LOC_DEFAULT_MINUTES 120
#define LOC_DEFAULT_MP_MINUTES 0

/* Longest names the model takes (without the NUL). */
#define LOC_NAME_MAX 256
#define LOC_FQDN_MAX 253
#define LOC_SITE_MAX 3

/* The types of boundary. */
enum loc_btype {
	LOC_B_SUBNET, /* IPv4 subnet ID "10.1.2.0/24": the client's, exactly */
	LOC_B_RANGE, /* IPv4 "START-END": the client's address inside */
	LOC_B_IPV6, /* IPv6 prefix "2001:db8:1::/64": the client's, exactly */
	LOC_B_ADSITE, /* Active Directory site name */
	LOC_B_VPN, /* VPN connection name or description */
};

/* What a VPN boundary's text is compared with, and how. */
enum loc_vpn_field { LOC_VPN_NAME, LOC_VPN_DESCRIPTION };
enum loc_vpn_match { LOC_VPN_EXACT, LOC_VPN_PREFIX };

/* The peer-download options of a boundary group (the seed's defaults). */
struct loc_group_opts {
	bool allow_peers; /* default true */
	bool peers_same_subnet_only;
	bool prefer_dp_over_peers; /* in the same subnet as the peer */
	bool prefer_cloud; /* cloud-based sources over on-premises ones */
};

struct loc_builder;
struct loc_model;

/* ---- building ---- */

/*
 * Every loc_add_... and loc_set_... returns 0, or -1 and keeps the first
 * error (with its reason) for loc_freeze to report; a reference to a name
 * not added before is an error.
 */

/* loc_builder_new - an empty model: no sites, prefer_bg_mps off */
struct loc_builder *loc_builder_new(void);

/* loc_builder_free - abandon a builder that will not be frozen */
void loc_builder_free(struct loc_builder *b);

/* loc_builder_error - the first error so far, or NULL */
const char *loc_builder_error(const struct loc_builder *b);

/*
 * loc_add_site - a site and its group Default-Site-Boundary-Group<CODE>,
 * whose Default Behavior starts as the seed's defaults
 */
int loc_add_site(struct loc_builder *b, const char *code);

/* What the name of every site's default group begins with. */
#define LOC_DEFAULT_GROUP_PREFIX "Default-Site-Boundary-Group"

/* The longest such name, "Default-Site-Boundary-Group<CODE>", with its NUL. */
#define LOC_DEFAULT_GROUP_MAX (sizeof(LOC_DEFAULT_GROUP_PREFIX) + 5)

/*
 * loc_default_group_name - the name seed 003 gives site code's default
 * group, "Default-Site-Boundary-Group<CODE>" (angle brackets included),
 * into out (cut to len)
 */
void loc_default_group_name(const char *code, char *out, size_t len);

/* loc_add_group - a boundary group; site: its assigned site, or NULL */
int loc_add_group(struct loc_builder *b, const char *name, const char *site);

/* loc_set_group_opts - a group's peer options (defaults: allow peers) */
int loc_set_group_opts(struct loc_builder *b, const char *group,
    const struct loc_group_opts *opts);

/*
 * loc_add_boundary - a boundary of type subnet, range, ipv6 or adsite
 * from its text (as in sitectl boundary add --value)
 */
int loc_add_boundary(struct loc_builder *b, const char *name,
    enum loc_btype type, const char *value);

/* loc_add_vpn_boundary - a VPN boundary matching text by field and match */
int loc_add_vpn_boundary(struct loc_builder *b, const char *name,
    const char *text, enum loc_vpn_field field, enum loc_vpn_match match);

/* loc_add_member - boundary belongs to group (a boundary may be in many) */
int loc_add_member(
    struct loc_builder *b, const char *group, const char *boundary);

/* loc_add_server - a site system server of site holding roles (a mask of
 * LOC_ROLE_BIT); adding it again adds roles */
int loc_add_server(
    struct loc_builder *b, const char *fqdn, const char *site, unsigned roles);

/* loc_add_group_server - group assigns server (all its roles) to clients */
int loc_add_group_server(
    struct loc_builder *b, const char *group, const char *fqdn);

/* loc_add_content - the distribution point fqdn holds content */
int loc_add_content(struct loc_builder *b, const char *fqdn, const char *id);

/* loc_set_on_demand - content distributes on demand */
int loc_set_on_demand(struct loc_builder *b, const char *id);

/* loc_fallback_defaults - minutes[] set to the seed's defaults */
void loc_fallback_defaults(int minutes[LOC_NROLES]);

/*
 * loc_add_link - a one-way relationship from -> to with a fallback time in
 * minutes (>= 0) or LOC_NEVER per role; from and to must differ
 */
int loc_add_link(struct loc_builder *b, const char *from, const char *to,
    const int minutes[LOC_NROLES]);

/* loc_set_default_behavior - site's Default Behavior: its implied links */
int loc_set_default_behavior(
    struct loc_builder *b, const char *site, const int minutes[LOC_NROLES]);

/* loc_set_prefer_bg_mps - the hierarchy setting "clients prefer to use
 * management points specified in boundary groups" */
void loc_set_prefer_bg_mps(struct loc_builder *b, bool on);

/* loc_add_peer - a peer cache source: a client and its "ADDR/PREFIX" */
int loc_add_peer(struct loc_builder *b, const char *client, const char *addr);

/* loc_add_peer_content - the peer cache source client holds content */
int loc_add_peer_content(
    struct loc_builder *b, const char *client, const char *id);

/*
 * loc_freeze - the read-only model, consuming b (freed in every case);
 * NULL with the builder's first error (or why it cannot be built)
 */
struct loc_model *loc_freeze(struct loc_builder *b, char *why, size_t len);

/* loc_model_free - release a frozen model */
void loc_model_free(struct loc_model *m);

/* loc_model_counts - how many boundaries, groups and servers it holds */
void loc_model_counts(const struct loc_model *m, size_t *boundaries,
    size_t *groups, size_t *servers);

/* ---- asking ---- */

/* How the client acquires what it asks for. */
enum loc_mode {
	LOC_MODE_NORMAL, /* the client's timed fallback */
	LOC_MODE_CLIENT_INSTALL, /* ccmsetup: current, neighbours, default, at
				    once; no peers */
	LOC_MODE_TASK_SEQUENCE, /* peers, current, neighbours by shortest
				   time, default; at once */
};

#define LOC_MAX_ADDRS 16

/* The question: a client, where it is and what it wants. */
struct loc_request {
	struct ipnet addrs[LOC_MAX_ADDRS]; /* addresses and prefix lengths */
	size_t naddrs;
	const char *ad_site; /* or NULL */
	const char *vpn_name, *vpn_description; /* or NULL */
	const char *site; /* assigned site code, or NULL: unassigned */
	enum loc_role role;
	const char *content; /* content ID, or NULL (dp, clouddp only) */
	enum loc_mode mode;
	/* task sequence deployment options: "when no local distribution point
	 * is available, use a remote distribution point" (neighbours) and
	 * "allow clients to use distribution points from the default site
	 * boundary group" */
	bool ts_use_remote;
	bool ts_use_default;
	bool explain; /* fill the answer's notes */
};

/* How a source relates to the client. */
enum loc_relation {
	LOC_REL_CURRENT, /* in a current group (peers too) */
	LOC_REL_NEIGHBOUR, /* in a direct neighbour of a current group */
	LOC_REL_SITE_DEFAULT, /* in a site's default group */
	LOC_REL_SITE_LIST, /* management points: the complete list */
};

/* What kind of source. */
enum loc_kind {
	LOC_K_SERVER, /* a site system server in the asked role */
	LOC_K_CLOUD, /* a cloud distribution point (answering LOC_DP) */
	LOC_K_PEER, /* a peer cache source (a client) */
};

/* One usable source, in the order the client should try them. */
struct loc_source {
	const char *name; /* FQDN, or the peer's client name */
	const char *group; /* the group it is usable through; NULL: site list */
	enum loc_kind kind;
	enum loc_relation relation;
	int minute; /* usable from this minute of fallback (0: at once) */
	int link_minutes; /* the relationship's time (task sequences order
			     by it; 0 for current) */
	int locality; /* management points: 3, 2, 1, 0; else 0 */
	bool on_demand; /* lacks the content; a distribution was requested */
	bool same_subnet; /* peers: in a subnet of the client */
};

/* An on-demand distribution the caller records (content to a server). */
struct loc_distribution {
	const char *server;
	const char *content;
};

/* The answer. Strings point into the model or the answer. */
struct loc_answer {
	const char *site; /* the site whose default group applied, or NULL */
	bool in_boundary; /* false: no boundary matched (site default used) */
	const char **current; /* current group names */
	size_t ncurrent;
	struct loc_source *src;
	size_t nsrc;
	struct loc_distribution *dist;
	size_t ndist;
	char **notes; /* with explain: one line each, for a newcomer */
	size_t nnotes;
};

/*
 * loc_query - answer req from m; 0, or -1 with the reason (an unknown
 * site, a role the mode does not serve, content asked of a role that has
 * none); safe to call from many threads at once
 */
int loc_query(const struct loc_model *m, const struct loc_request *req,
    struct loc_answer *ans, char *why, size_t len);

/* loc_answer_free - release what loc_query put in ans */
void loc_answer_free(struct loc_answer *ans);

/*
 * loc_current_groups - the indexes of the groups whose boundaries match
 * req's location (the union, without the default-group rule), at most
 * max of them into out; returns how many there are (may exceed max)
 */
size_t loc_current_groups(const struct loc_model *m,
    const struct loc_request *req, uint32_t *out, size_t max);

/* loc_group_name - the name of group index g */
const char *loc_group_name(const struct loc_model *m, uint32_t g);

/*
 * loc_assign_site - automatic site assignment: a client already assigned
 * (assigned non-NULL, non-empty) keeps its site; otherwise one of the
 * assigned sites of its current groups, chosen by rnd (uniform below n);
 * NULL with the reason when no group of its location assigns a site
 */
const char *loc_assign_site(const struct loc_model *m,
    const struct loc_request *req, const char *assigned,
    uint32_t (*rnd)(void *ctx, uint32_t n), void *ctx, char *why, size_t len);

/*
 * loc_role_name - "dp", "clouddp", "sup", "smp", "mp", "cmg": the one
 * table of the roles' names, which sitectl, the MP and the agent use
 */
const char *loc_role_name(enum loc_role r);

/* Room for every role's name joined by separators of up to 8 bytes. */
#define LOC_ROLE_LIST_MAX 96

/*
 * loc_role_list - every role's name in order, joined by sep and the last
 * two by last ("dp, clouddp, ... mp and cmg"), into out (cut to len);
 * the length written
 */
size_t loc_role_list(char *out, size_t len, const char *sep, const char *last);

/* loc_role_parse - the role of its name; 0, or -1 */
int loc_role_parse(const char *s, enum loc_role *out);

/* loc_relation_name - "current", "neighbour", "site-default", "site-list" */
const char *loc_relation_name(enum loc_relation r);

/* loc_mode_parse - "normal", "client-install", "task-sequence"; 0 or -1 */
int loc_mode_parse(const char *s, enum loc_mode *out);

#endif
