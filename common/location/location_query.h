/*
 * location_query.h - the state of one location query, shared by the
 * rules (location.c) and their explanations (location_explain.c)
 */
#ifndef SITESYS_LOCATION_QUERY_H
#define SITESYS_LOCATION_QUERY_H

#include "location_model.h"

/* A group the client may reach, and how. */
struct loc_reach {
	uint32_t g;
	bool current; /* a current group (minute 0 for every role) */
	int minutes[LOC_NROLES]; /* else: earliest per role, or LOC_NEVER */
	uint32_t via[LOC_NROLES]; /* the current group whose link gave it */
	bool implied[LOC_NROLES]; /* through an implied link */
	uint32_t never_via; /* a current group linking with never, or NONE */
};

/* A server or peer considered, with the best way to it. */
struct loc_cand {
	uint32_t idx; /* server or peer index */
	enum loc_kind kind;
	uint32_t reach; /* the best reach entry, or LOC_NONE */
	int minute; /* from that entry; LOC_NEVER: blocked everywhere */
	bool in_current, in_neighbour, in_default;
	bool on_demand, same_subnet, peer_demoted;
};

struct loc_q {
	const struct loc_data *d;
	const struct loc_request *req;
	struct loc_answer *ans;
	struct loc_reach *r;
	size_t nr;
	struct loc_cand *c;
	size_t nc;
	uint32_t site; /* the assigned site, or LOC_NONE */
	uint32_t content; /* LOC_NONE: none asked, or unknown to the model */
	bool prefer_cloud; /* a current group prefers cloud-based sources */
};

/* loc_note - append one explanation line to the answer (if asked for) */
__attribute__((format(printf, 2, 3))) void loc_note(
    struct loc_q *q, const char *fmt, ...);

/* loc_reach_how - "neighbour of BG_A, usable from minute 10 (...)" */
void loc_reach_how(const struct loc_q *q, const struct loc_reach *r,
    enum loc_role col, char *out, size_t len);

/* loc_explain_location - notes on which boundaries match the client */
void loc_explain_location(const struct loc_model *m, struct loc_q *q);

/* loc_explain_groups - notes on the groups reached, blocked, not direct */
void loc_explain_groups(struct loc_q *q);

/* loc_cand_name - the name of a candidate's server or peer */
const char *loc_cand_name(const struct loc_q *q, const struct loc_cand *c);

/* loc_role_col - the fallback column a candidate of kind uses */
enum loc_role loc_role_col(const struct loc_q *q, enum loc_kind kind);

#endif
