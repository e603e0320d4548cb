/*
 * location_model.h - the inside of the location engine's model, shared by
 * its builder, its boundary index and its rules (not for other callers)
 */
#ifndef SITESYS_LOCATION_MODEL_H
#define SITESYS_LOCATION_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "location.h"
#include "util/ipaddr.h"
#include "util/strmap.h"

#define LOC_NONE UINT32_MAX

/* A growable array of indexes. */
struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

/* u32vec_push - append x; aborts when memory runs out */
void u32vec_push(struct u32vec *a, uint32_t x);

/* u32vec_has - whether x is in a (linear) */
bool u32vec_has(const struct u32vec *a, uint32_t x);

/* loc_xrealloc - realloc that aborts when memory runs out */
void *loc_xrealloc(void *p, size_t n, size_t size);

struct loc_bnd {
	char *name;
	enum loc_btype type;
	struct ipnet net; /* subnet, ipv6 */
	struct iprange range; /* range */
	char *text; /* adsite, vpn */
	enum loc_vpn_field vpn_field;
	enum loc_vpn_match vpn_match;
	struct u32vec groups;
};

struct loc_link {
	uint32_t to;
	int minutes[LOC_NROLES];
};

struct loc_group {
	char *name;
	uint32_t site; /* assigned site, or LOC_NONE */
	uint32_t
	    default_of; /* the site it is the default group of, or LOC_NONE */
	struct loc_group_opts opts;
	struct u32vec servers;
	struct loc_link *links;
	size_t nlinks;
};

struct loc_server {
	char *fqdn;
	uint32_t site;
	unsigned roles;
	struct u32vec content; /* sorted at freeze */
};

struct loc_site {
	char code[LOC_SITE_MAX + 1];
	char *key; /* a copy of code that moves not when the array grows */
	uint32_t default_group;
	int minutes[LOC_NROLES]; /* Default Behavior */
};

struct loc_peer {
	char *client;
	struct ipnet addr;
	struct u32vec content; /* sorted at freeze */
	struct u32vec groups; /* by its address, at freeze */
};

/* A slot of the subnet and IPv6 hash: the key and its first boundary. */
struct loc_netslot {
	uint64_t hi, lo;
	uint32_t bits; /* the prefix length in 128-bit form */
	uint32_t first; /* LOC_NONE: an empty slot */
	uint32_t goff, gn; /* the groups of its boundaries, in kgids; when
			      there is one (gn 1), goff is the group */
};

/* The boundary index: a client's location to the boundaries it is in. */
struct loc_bindex {
	struct loc_netslot *net; /* subnet and ipv6 boundaries by key */
	uint16_t *net_tag; /* by slot: 16 bits of the key's hash; 0: empty */
	size_t net_mask;
	uint32_t *next; /* by boundary: the next of the same key, or NONE */
	uint32_t *goff, *gids; /* by boundary: its groups (nbnd + 1 offsets) */
	uint32_t *seg_start; /* IPv4 range segments, sorted starts */
	uint32_t *seg_off; /* nseg + 1 offsets into seg_ids */
	uint32_t *seg_ids;
	uint32_t *seg_goff; /* nseg + 1 offsets into kgids: their groups */
	size_t nseg;
	uint32_t *kgids; /* the groups of each key and segment, flat */
	uint32_t *bucket; /* 65537: first segment of each top 16 bits */
	struct strmap adsite; /* name -> first boundary */
	struct u32vec vpn; /* every VPN boundary */
};

/* The data of a model, while building and once frozen. */
struct loc_data {
	struct loc_bnd *bnd;
	size_t nbnd;
	struct loc_group *grp;
	size_t ngrp;
	struct loc_server *srv;
	size_t nsrv;
	struct loc_site *site;
	size_t nsite;
	struct loc_peer *peer;
	size_t npeer;
	char **content; /* content IDs, interned */
	size_t ncontent;
	bool *on_demand; /* by content index */
	bool prefer_bg_mps;
	struct strmap bnd_by_name, grp_by_name, srv_by_name, site_by_code,
	    peer_by_name, content_by_id;
};

struct loc_builder {
	struct loc_data d;
	char err[512];
};

struct loc_model {
	struct loc_data d;
	struct loc_bindex ix;
};

/* loc_bindex_build - index d's boundaries; 0, or -1 with the reason */
int loc_bindex_build(
    struct loc_bindex *ix, const struct loc_data *d, char *why, size_t len);

/* loc_bindex_free - release the index */
void loc_bindex_free(struct loc_bindex *ix);

/*
 * loc_bindex_match - the boundaries matching req's location, at most max
 * into out; how many match (may exceed max)
 */
size_t loc_bindex_match(const struct loc_bindex *ix, const struct loc_data *d,
    const struct loc_request *req, uint32_t *out, size_t max);

/*
 * loc_bindex_groups - the groups of the boundaries matching req's
 * location, each once, at most max into out; how many (may exceed max)
 */
size_t loc_bindex_groups(const struct loc_bindex *ix, const struct loc_data *d,
    const struct loc_request *req, uint32_t *out, size_t max);

/* loc_bindex_addr - the boundaries matching one address, as above */
size_t loc_bindex_addr(const struct loc_bindex *ix, const struct loc_data *d,
    const struct ipnet *a, uint32_t *out, size_t max);

/* loc_bnd_describe - "subnet 10.1.2.0/24" and the like, into out */
void loc_bnd_describe(const struct loc_bnd *b, char *out, size_t len);

/* loc_content_index - the index of content id, or LOC_NONE */
uint32_t loc_content_index(const struct loc_data *d, const char *id);

/* loc_holds - whether the sorted content set holds content index c */
bool loc_holds(const struct u32vec *content, uint32_t c);

#endif
