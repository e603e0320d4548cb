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

/* the pushes released since the last one seen and not yet acknowledged
 * (as far as notifymgr has loaded the receipts) */
#define ND_PUSH_SQL                                                            \
	"SELECT p.release_seq, p.task, p.guid "                                \
	"FROM notify_push p JOIN notify_task t ON t.id = p.task "              \
	"WHERE p.release_seq > $1 AND t.valid_until > now() "                  \
	"AND p.received_at IS NULL "                                           \
	"AND t.state = 'pushing' ORDER BY p.release_seq"

/* a task's frame: its action, valid_until in microseconds since the
 * epoch, and its script */
#define ND_TASK_SQL                                                            \
	"SELECT t.action, "                                                    \
	"(extract(epoch FROM t.valid_until) * 1000000)::bigint, "              \
	"s.sha256, s.name, s.body "                                            \
	"FROM notify_task t LEFT JOIN script s ON s.sha256 = t.script "        \
	"WHERE t.id = $1"

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
	free(t->wait);
	free(t);
}

/* The frame of task id from row 0 of res (ND_TASK_SQL); NULL logged. */
static struct nd_task *
nd_task_make(long long id, PGresult *res)
{
	int64_t exp = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	char expires[CLOCK_RFC3339_LEN], why[256];
	struct nd_task *t;
	json_t *doc;

	clock_rfc3339(expires, sizeof(expires), exp, 0);
	doc = json_pack("{s:s,s:I,s:s,s:s}", "type", "task", "task",
	    (json_int_t)id, "action", PQgetvalue(res, 0, 0), "expires",
	    expires);
	if (doc == NULL)
		abort();
	if (!PQgetisnull(res, 0, 2)) {
		json_t *args = json_pack("{s:s,s:s,s:s}", "sha256",
		    PQgetvalue(res, 0, 2), "name", PQgetvalue(res, 0, 3),
		    "body", PQgetvalue(res, 0, 4));

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
	return t;
}

/* Task id, read from the database if new; NULL logged (or gone). */
static struct nd_task *
nd_task_get(struct notifyd *nd, PGconn *db, long long id)
{
	char idtext[32];
	const char *params[1] = { idtext };
	struct nd_task *t;
	PGresult *res;

	/* tasks are few (one per administrator's action): a list will do */
	for (t = nd->tasks; t != NULL; t = t->next)
		if (t->id == id)
			return t;
	snprintf(idtext, sizeof(idtext), "%lld", id);
	if ((res = db_exec(db, ND_TASK_SQL, 1, params)) == NULL) {
		log_error("could not read task %lld: %s", id, db_error());
		return NULL;
	}
	t = PQntuples(res) == 1 ? nd_task_make(id, res) : NULL;
	PQclear(res);
	if (t == NULL)
		return NULL;
	t->next = nd->tasks;
	nd->tasks = t;
	return t;
}

/* Hold t in s's pending pushes (once). */
static void
nd_pend_add(struct nd_slot *s, struct nd_task *t)
{
	size_t k;

	for (k = 0; k < s->npend && s->pend[k] != t; k++)
		continue;
	if (k < s->npend)
		return;
	if (s->npend == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct nd_task **v = realloc(s->pend, cap * sizeof(*v));

		if (v == NULL)
			abort();
		s->pend = v;
		s->cap = cap;
	}
	s->pend[s->npend++] = t;
	t->refs++;
}

/* Let t wait for the client guid, not online here. */
static void
nd_wait_add(struct nd_task *t, const char *guid)
{
	if (t->nwait == t->capwait) {
		size_t cap = t->capwait ? t->capwait * 2 : 64;
		struct nd_waiter *v = realloc(t->wait, cap * sizeof(*v));

		if (v == NULL)
			abort();
		t->wait = v;
		t->capwait = cap;
	}
	if (t->nwait == 0)
		t->refs++;
	memcpy(t->wait[t->nwait].guid, guid, ND_GUID_LEN);
	t->wait[t->nwait++].claimed = false;
}

static int
nd_waiter_cmp(const void *a, const void *b)
{
	return memcmp(((const struct nd_waiter *)a)->guid,
	    ((const struct nd_waiter *)b)->guid, ND_GUID_LEN);
}

/* Sort t's waiters, one per client: a client released again and not
 * claimed since waits again. */
static void
nd_wait_sort(struct nd_task *t)
{
	size_t i, n = 0;

	if (t->nsorted == t->nwait)
		return;
	qsort(t->wait, t->nwait, sizeof(*t->wait), nd_waiter_cmp);
	for (i = 0; i < t->nwait; i++) {
		if (n > 0 && nd_waiter_cmp(&t->wait[n - 1], &t->wait[i]) == 0) {
			t->wait[n - 1].claimed &= t->wait[i].claimed;
			continue;
		}
		t->wait[n++] = t->wait[i];
	}
	t->nwait = t->nsorted = n;
}

/* Forget t's waiters (it expired). */
static void
nd_wait_free(struct notifyd *nd, struct nd_task *t)
{
	bool held = t->nwait > 0;

	free(t->wait);
	t->wait = NULL;
	t->nwait = t->capwait = t->nsorted = 0;
	if (held)
		nd_task_unref(nd, t);
}

/* Whether the client of s is online here: connected, or polling. */
static bool
nd_slot_online(const struct nd_slot *s, double now_mono)
{
	return (s->conn != NULL && !s->conn->closing) || s->poll != NULL ||
	    s->http_until > now_mono;
}

/* Push t to the client of s if it is online. */
static void
nd_push_one(struct notifyd *nd, struct nd_slot *s, struct nd_task *t)
{
	if (s->conn == NULL || s->conn->closing) {
		nd_http_push(nd, s); /* a poll held, if any */
		return;
	}
	nd_conn_send_raw(s->conn, &t->frame);
	nd->n.pushed++;
	nd_bgb_event(nd, t->id, s->guid, "pushed", NULL);
}

/* Row i of res (ND_PUSH_SQL): pushed at once to its client online here,
 * else waiting for it. */
static void
nd_push_row(
    struct notifyd *nd, PGconn *db, PGresult *res, int i, double now_mono)
{
	long long id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	const char *guid = PQgetvalue(res, i, 2);
	struct nd_task *t = nd_task_get(nd, db, id);
	struct nd_slot *s;

	if (t == NULL)
		return;
	if (strlen(guid) != STATEMSG_GUID_LEN) {
		log_warn(
		    "cannot push task %lld to \"%.64s\": not a client GUID",
		    t->id, guid);
		if (t->refs == 0) {
			t->refs = 1;
			nd_task_unref(nd, t);
		}
		return;
	}
	s = nd_slot_get(nd, guid, false);
	if (s == NULL || !nd_slot_online(s, now_mono)) {
		nd_wait_add(t, guid);
		return;
	}
	nd_pend_add(s, t);
	/* released again: pushed again; the client runs it once */
	nd_push_one(nd, s, t);
}

int
nd_push_load(struct notifyd *nd, PGconn *db)
{
	char seq[32];
	const char *params[1] = { seq };
	double now_mono = clock_mono();
	unsigned long pushed = nd->n.pushed;
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

		if (rs > nd->max_seq)
			nd->max_seq = rs;
		nd_push_row(nd, db, res, i, now_mono);
	}
	for (struct nd_task *t = nd->tasks; t != NULL; t = t->next)
		nd_wait_sort(t);
	if (rows > 0)
		log_info("loaded %d released pushes up to release %lld in "
		         "%.0f ms: %lu pushed to clients online here",
		    rows, nd->max_seq, (clock_mono() - now_mono) * 1000.0,
		    nd->n.pushed - pushed);
	PQclear(res);
	return 0;
}

void
nd_push_claim(struct notifyd *nd, struct nd_slot *s)
{
	struct nd_waiter key = { .claimed = false }, *w;
	int64_t now = clock_now_us();

	memcpy(key.guid, s->guid, ND_GUID_LEN);
	for (struct nd_task *t = nd->tasks; t != NULL; t = t->next) {
		if (t->expires_us <= now || t->nsorted == 0)
			continue;
		w = bsearch(
		    &key, t->wait, t->nsorted, sizeof(*w), nd_waiter_cmp);
		if (w == NULL || w->claimed)
			continue;
		w->claimed = true;
		nd_pend_add(s, t);
	}
}

void
nd_push_connected(struct notifyd *nd, struct nd_conn *c)
{
	int64_t now = clock_now_us();

	nd_push_claim(nd, c->slot);
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
	struct nd_task *t, *next;

	for (t = nd->tasks; t != NULL; t = next) {
		next = t->next;
		if (t->expires_us <= now_us)
			nd_wait_free(nd, t);
	}
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
	struct nd_task *t, *next;

	for (t = nd->tasks; t != NULL; t = next) {
		next = t->next;
		nd_wait_free(nd, t);
	}
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
