/*
 * push.c - the pushes released to clients, kept by client until they are
 * received or expire; each pushed at once to a client online, else when
 * it connects within the task's validity
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifyd.h"
#include "util/clock.h"
#include "util/db.h"
#include "util/log.h"

/* the contract's query (notify-contract section 3), valid_until also in
 * microseconds since the epoch */
#define ND_PUSH_SQL                                                            \
	"SELECT p.release_seq, p.task, p.guid, t.action, "                     \
	"(extract(epoch FROM t.valid_until) * 1000000)::bigint, "              \
	"s.sha256, s.name, s.body "                                            \
	"FROM notify_push p JOIN notify_task t ON t.id = p.task "              \
	"LEFT JOIN script s ON s.sha256 = t.script "                           \
	"WHERE p.release_seq > $1 AND t.valid_until > now() "                  \
	"AND t.state = 'pushing' ORDER BY p.release_seq"

struct nd_slot *
nd_slot_get(struct notifyd *nd, const char *guid, bool create)
{
	uint64_t h = strmap_hash(guid, false);
	struct nd_slot *s;
	uint32_t i;

	if (strmap_get_h(&nd->slot_map, guid, h, &i))
		return nd->slots[i];
	if (!create)
		return NULL;
	if (nd->nslots == nd->capslots) {
		size_t cap = nd->capslots ? nd->capslots * 2 : 1024;
		struct nd_slot **v = realloc(nd->slots, cap * sizeof(*v));

		if (v == NULL)
			abort();
		nd->slots = v;
		nd->capslots = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	snprintf(s->guid, sizeof(s->guid), "%s", guid);
	nd->slots[nd->nslots] = s;
	/* the key is the slot's own copy, which lives as long as the map */
	strmap_put_h(&nd->slot_map, s->guid, h, (uint32_t)nd->nslots);
	nd->nslots++;
	return s;
}

static void
nd_task_unref(struct notifyd *nd, struct nd_task *t)
{
	struct nd_task **pp;

	if (--t->refs > 0)
		return;
	for (pp = &nd->tasks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	buf_free(&t->frame);
	free(t);
}

/* The task of row i, made (with its frame) if new; NULL logged. */
static struct nd_task *
nd_task_get(struct notifyd *nd, PGresult *res, int i)
{
	long long id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	int64_t exp = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	char expires[CLOCK_RFC3339_LEN], why[256];
	struct nd_task *t;
	json_t *doc;

	/* tasks are few (one per administrator's action): a list will do */
	for (t = nd->tasks; t != NULL; t = t->next)
		if (t->id == id)
			return t;
	clock_rfc3339(expires, sizeof(expires), exp, 0);
	doc = json_pack("{s:s,s:I,s:s,s:s}", "type", "task", "task",
	    (json_int_t)id, "action", PQgetvalue(res, i, 3), "expires",
	    expires);
	if (doc == NULL)
		abort();
	if (!PQgetisnull(res, i, 5)) {
		json_t *args = json_pack("{s:s,s:s,s:s}", "sha256",
		    PQgetvalue(res, i, 5), "name", PQgetvalue(res, i, 6),
		    "body", PQgetvalue(res, i, 7));

		if (args == NULL)
			abort();
		json_object_set_new(doc, "args", args);
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	t->id = id;
	t->expires_us = exp;
	if (notify_frame_encode(doc, &t->frame, why, sizeof(why)) == -1) {
		log_error("cannot push task %lld: %s", id, why);
		json_decref(doc);
		free(t);
		return NULL;
	}
	json_decref(doc);
	t->next = nd->tasks;
	nd->tasks = t;
	return t;
}

/* Push t to the client of s if it is online. */
static void
nd_push_one(struct notifyd *nd, struct nd_slot *s, struct nd_task *t)
{
	if (s->conn == NULL || s->conn->closing)
		return;
	nd_conn_send_raw(s->conn, &t->frame);
	nd->n.pushed++;
	nd_bgb_event(nd, t->id, s->guid, "pushed", NULL);
}

int
nd_push_load(struct notifyd *nd, PGconn *db)
{
	char seq[32];
	const char *params[1] = { seq };
	PGresult *res;
	int rows;

	snprintf(seq, sizeof(seq), "%lld", nd->max_seq);
	if ((res = db_exec(db, ND_PUSH_SQL, 1, params)) == NULL) {
		log_error("could not load the released pushes: %s", db_error());
		return -1;
	}
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++) {
		long long rs = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		struct nd_task *t = nd_task_get(nd, res, i);
		struct nd_slot *s;
		size_t k;

		if (rs > nd->max_seq)
			nd->max_seq = rs;
		if (t == NULL)
			continue;
		if (strlen(PQgetvalue(res, i, 2)) != STATEMSG_GUID_LEN) {
			log_warn("cannot push task %lld to \"%.64s\": not a "
			         "client GUID",
			    t->id, PQgetvalue(res, i, 2));
			if (t->refs == 0) {
				t->refs = 1;
				nd_task_unref(nd, t);
			}
			continue;
		}
		s = nd_slot_get(nd, PQgetvalue(res, i, 2), true);
		for (k = 0; k < s->npend && s->pend[k] != t; k++)
			continue;
		if (k == s->npend) {
			if (s->npend == s->cap) {
				size_t cap = s->cap ? s->cap * 2 : 4;
				struct nd_task **v =
				    realloc(s->pend, cap * sizeof(*v));

				if (v == NULL)
					abort();
				s->pend = v;
				s->cap = cap;
			}
			s->pend[s->npend++] = t;
			t->refs++;
		}
		/* released again: pushed again; the client runs it once */
		nd_push_one(nd, s, t);
	}
	if (rows > 0)
		log_debug("loaded %d released pushes, up to release %lld", rows,
		    nd->max_seq);
	PQclear(res);
	return 0;
}

void
nd_push_connected(struct notifyd *nd, struct nd_conn *c)
{
	int64_t now = clock_now_us();

	for (size_t k = 0; k < c->slot->npend; k++)
		if (c->slot->pend[k]->expires_us > now)
			nd_push_one(nd, c->slot, c->slot->pend[k]);
}

/* Drop the k-th push of s. */
static void
nd_push_drop(struct notifyd *nd, struct nd_slot *s, size_t k)
{
	struct nd_task *t = s->pend[k];

	s->pend[k] = s->pend[--s->npend];
	nd_task_unref(nd, t);
}

void
nd_push_received(struct notifyd *nd, struct nd_slot *slot, long long task)
{
	for (size_t k = 0; k < slot->npend; k++)
		if (slot->pend[k]->id == task) {
			nd_push_drop(nd, slot, k);
			return;
		}
}

void
nd_push_sweep(struct notifyd *nd, int64_t now_us)
{
	for (size_t i = 0; i < nd->nslots; i++) {
		struct nd_slot *s = nd->slots[i];

		for (size_t k = s->npend; k > 0; k--)
			if (s->pend[k - 1]->expires_us <= now_us)
				nd_push_drop(nd, s, k - 1);
	}
}

void
nd_push_free(struct notifyd *nd)
{
	for (size_t i = 0; i < nd->nslots; i++) {
		while (nd->slots[i]->npend > 0)
			nd_push_drop(nd, nd->slots[i], 0);
		free(nd->slots[i]->pend);
		free(nd->slots[i]);
	}
	free(nd->slots);
	strmap_free(&nd->slot_map);
	nd->slots = NULL;
	nd->nslots = nd->capslots = 0;
}
