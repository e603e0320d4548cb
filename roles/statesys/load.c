/*
 * load.c - the hot path: a batch of state message files into the database
 * in the reader's transaction. Serial tracking is decided here in C, per
 * client in serial order; the database gets bulk COPYs, an UPDATE of the
 * current state and an upsert of the counters.
 * A client's serials, never its clock, order its messages: a topic's
 * current state is the message with its highest serial (a resync renumbers
 * the client's cache from its counter, so a later serial is always the
 * client's later view, seed 001); a time far ahead only goes to history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statemsg.h"
#include "statesys.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/copy_bin.h"
#include "util/db.h"
#include "util/log.h"

struct row {
	struct serial_track *t;
	const struct statemsg *m;
};

struct load {
	const struct load_limits *lim;
	struct clientmap *clients;
	struct topicset *topics; /* known clients' current-state topics */
	struct row *rows, *fresh;
	size_t nrows, nfresh, nrefused;
	int64_t now_us;
	int64_t ahead_us; /* a message dated after it is dated ahead */
	size_t nahead;
	struct row first_ahead; /* for the log */
	double collect_ms, read_ms; /* for the debug log */
};

static int
cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->t->rank != y->t->rank)
		return x->t->rank < y->t->rank ? -1 : 1;
	return x->m->serial < y->m->serial ? -1 : x->m->serial > y->m->serial;
}

/* Highest serial first within each (client, topic): the first of a run
 * wins. */
static int
cmp_topic_newest(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = (x->t->rank > y->t->rank) - (x->t->rank < y->t->rank);

	if (c == 0)
		c = x->m->topic_type - y->m->topic_type;
	if (c == 0)
		c = strcmp(x->m->topic_id, y->m->topic_id);
	if (c != 0)
		return c;
	return x->m->serial > y->m->serial ? -1 : x->m->serial < y->m->serial;
}

static void
load_free(struct load *L)
{
	free(L->rows);
	free(L->fresh);
	topicset_free(L->topics);
	if (L->clients != NULL)
		clientmap_free(L->clients);
}

/* True if batch b of f is to be applied: fsp_check did not hold it. */
static bool
applied(const struct smfile *f, size_t b)
{
	return f->held == NULL || !f->held[b];
}

/* List every message of the files with its client's tracking. */
static int
load_collect(struct load *L, struct inbox_item *items, size_t n)
{
	size_t total = 1, k = 0; /* 1: never malloc(0) */

	L->clients = clientmap_new();
	for (size_t i = 0; i < n; i++) {
		const struct smfile *f = items[i].parsed;

		if (f == NULL) { /* ss_validate parses every file */
			log_error("%s: not parsed by its check", items[i].name);
			return -1;
		}
		for (size_t b = 0; b < f->n; b++)
			total += f->batches[b].n;
	}
	L->rows = malloc(total * sizeof(*L->rows));
	L->fresh = malloc(total * sizeof(*L->fresh));
	if (L->rows == NULL || L->fresh == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct smfile *f = items[i].parsed;

		for (size_t b = 0; b < f->n; b++) {
			const struct statemsg_batch *sb = &f->batches[b];
			struct serial_track *t;

			if (!applied(f, b))
				continue;
			t = clientmap_get(L->clients, sb->client);

			for (size_t j = 0; j < sb->n; j++)
				L->rows[k++] = (struct row){ t, &sb->msgs[j] };
		}
	}
	L->nrows = k;
	return 0;
}

struct names {
	struct buf *out;
	bool (*pick)(const struct serial_track *);
};

static void
add_name(struct serial_track *t, void *arg)
{
	struct names *n = arg;

	if (n->pick != NULL && !n->pick(t))
		return;
	if (n->out->len > 1)
		buf_addc(n->out, ',');
	buf_addc(n->out, '"');
	buf_adds(n->out, t->client); /* a checked GUID: nothing to escape */
	buf_addc(n->out, '"');
}

/* The GUIDs of the batch's clients that pick (NULL: all) as a text[]
 * literal in out; whether there is any. */
static bool
client_names(
    struct load *L, bool (*pick)(const struct serial_track *), struct buf *out)
{
	struct names n = { out, pick };

	buf_addc(out, '{');
	clientmap_each(L->clients, add_name, &n);
	buf_addc(out, '}');
	return out->len > 2;
}

static bool
is_stored(const struct serial_track *t)
{
	return t->stored;
}

static bool
ranges_changed(const struct serial_track *t)
{
	return t->ranges_changed;
}

/* The clients' counters and missing ranges; 0 or -1. */
static int
load_serials(PGconn *db, struct load *L, const char *const *names)
{
	PGresult *res = db_exec(db,
	    "SELECT client, next_expected_serial, highest_serial "
	    "FROM client_message_stats WHERE client = ANY($1::text[])",
	    1, names);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct serial_track *t =
		    clientmap_get(L->clients, PQgetvalue(res, i, 0));

		t->known = t->stored = true;
		t->next = atoll(PQgetvalue(res, i, 1));
		t->highest = atoll(PQgetvalue(res, i, 2));
	}
	PQclear(res);
	res = db_exec(db,
	    "SELECT client, first_serial, last_serial, "
	    "(extract(epoch FROM detected) * 1000000)::bigint "
	    "FROM client_missing_range WHERE client = ANY($1::text[]) "
	    "ORDER BY client, first_serial",
	    1, names);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		serial_add_range(
		    clientmap_get(L->clients, PQgetvalue(res, i, 0)),
		    atoll(PQgetvalue(res, i, 1)), atoll(PQgetvalue(res, i, 2)),
		    atoll(PQgetvalue(res, i, 3)));
	PQclear(res);
	return 0;
}

/* The topics the known clients hold a current state for; 0 or -1. */
static int
load_topics(PGconn *db, struct load *L)
{
	struct buf names = { 0 };
	const char *params[1];
	PGresult *res;

	L->topics = topicset_new();
	if (!client_names(L, is_stored, &names)) {
		buf_free(&names);
		return 0;
	}
	params[0] = names.p;
	res = db_exec(db,
	    "SELECT client, topic_type, topic_id, serial "
	    "FROM client_state WHERE client = ANY($1::text[])",
	    1, params);
	buf_free(&names);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		topicset_add(L->topics,
		    clientmap_get(L->clients, PQgetvalue(res, i, 0)),
		    atoi(PQgetvalue(res, i, 1)), PQgetvalue(res, i, 2),
		    atoll(PQgetvalue(res, i, 3)));
	PQclear(res);
	return 0;
}

/*
 * The time of the batch: the database's, as of its transaction, which
 * stamps the history's receipt and the resync requests' issue too; so a
 * completion and a request are compared on one clock, whatever this
 * host's says. 0 or -1 (logged).
 */
static int
load_now(PGconn *db, struct load *L)
{
	PGresult *res = db_exec(db,
	    "SELECT (extract(epoch FROM now()) * 1000000)::bigint", 0, NULL);

	if (res == NULL) {
		log_error(
		    "could not read the database's clock: %s", db_error());
		return -1;
	}
	L->now_us = atoll(PQgetvalue(res, 0, 0));
	L->ahead_us = L->now_us + L->lim->future_minutes * 60 * 1000000;
	PQclear(res);
	return 0;
}

/* Load the clients' tracking and current topics from the database. */
static int
load_tracks(PGconn *db, struct load *L)
{
	struct buf names = { 0 };
	const char *params[1];
	int rc;

	client_names(L, NULL, &names);
	params[0] = names.p;
	rc = load_serials(db, L, params);
	if (rc == 0)
		rc = load_topics(db, L);
	if (rc == -1)
		log_error("could not read serial tracking: %s", db_error());
	buf_free(&names);
	return rc;
}

/* r's serial is beyond the window: count it on its client for the log. */
static void
load_refuse(struct load *L, const struct row *r)
{
	struct serial_track *t = r->t;

	if (t->refused++ == 0) {
		t->refused_serial = r->m->serial;
		t->refused_expected = serial_expected(t);
	}
	L->nrefused++;
}

/* r is fresh: is it dated ahead (history only)? Counted for the log. */
static bool
load_ahead(struct load *L, const struct row *r)
{
	if (r->m->time_us <= L->ahead_us)
		return false;
	if (L->nahead++ == 0)
		L->first_ahead = *r;
	return true;
}

/* Decide each message: fresh, a repeat or refused; a 700/2 closes earlier
 * gaps. */
static void
load_track(struct load *L)
{
	clientmap_rank(L->clients);
	qsort(L->rows, L->nrows, sizeof(*L->rows), cmp_rows);
	for (size_t i = 0; i < L->nrows; i++) {
		struct serial_track *t = L->rows[i].t;
		const struct statemsg *m = L->rows[i].m;

		switch (serial_apply(
		    t, m->serial, L->lim->serial_window, L->now_us)) {
		case SERIAL_REFUSED:
			load_refuse(L, &L->rows[i]);
			continue;
		case SERIAL_DUPLICATE:
			t->duplicates++;
			continue;
		case SERIAL_FRESH:
			break;
		}
		t->messages++;
		if (!load_ahead(L, &L->rows[i]) &&
		    m->time_us > t->last_message_us)
			t->last_message_us = m->time_us;
		if (m->topic_type == 700 && m->state_id == 2) {
			/* completed when processed: the client's clock may lag
			 * the site's, and a request is issued by the site's */
			serial_close_before(t, m->serial);
			t->completed_us = L->now_us;
		}
		L->fresh[L->nfresh++] = L->rows[i];
	}
}

/* m's parameters (m->params not NULL, checked strings) into vals; how
 * many. */
static size_t
param_values(const struct statemsg *m, const char **vals)
{
	size_t np = json_array_size(m->params);

	for (size_t i = 0; i < np; i++)
		vals[i] = json_string_value(json_array_get(m->params, i));
	return np;
}

void
load_message_fields(struct buf *b, struct buf *tmp, const char *client,
    const struct statemsg *m)
{
	buf_adds(b, client);
	buf_addc(b, '\t');
	buf_addi(b, m->serial);
	buf_addc(b, '\t');
	buf_adds(b, m->time);
	buf_addc(b, '\t');
	buf_addi(b, m->topic_type);
	buf_addc(b, '\t');
	db_copy_field(b, m->topic_id);
	buf_addc(b, '\t');
	buf_addi(b, m->topic_id_type);
	buf_addc(b, '\t');
	buf_addi(b, m->state_id);
	buf_addc(b, '\t');
	buf_addi(b, m->criticality);
	buf_addc(b, '\t');
	db_copy_field(b, m->details);
	buf_addc(b, '\t');
	if (m->params == NULL) {
		buf_adds(b, "\\N");
	} else {
		const char *vals[STATEMSG_MAX_PARAMS];
		size_t np = param_values(m, vals);

		buf_reset(tmp);
		db_text_array(tmp, vals, np);
		db_copy_field(b, tmp->p);
	}
}

int
load_copy(PGconn *db, const char *sql, const struct buf *b)
{
	if (db_copy_begin(db, sql) == -1)
		return -1;
	int rc = b->len ? db_copy_put(db, b->p, b->len) : 0;
	if (db_copy_end(db) == -1)
		rc = -1;
	return rc;
}

/* How much COPY data to build before sending it: PostgreSQL loads one
 * part while the next is built. */
#define COPY_PART (256 * 1024)

/* Send b's rows if a part is built (or if all is, with all); 0 or -1. */
static int
copy_part(PGconn *db, struct buf *b, bool all)
{
	if (b->len == 0 || (!all && b->len < COPY_PART))
		return 0;
	if (db_copy_put(db, b->p, b->len) == -1)
		return -1;
	buf_reset(b);
	return 0;
}

/* COPY (FORMAT binary) with sql the rows built in rows (copy_bin.h),
 * header and trailer added here; 0 or -1. */
static int
load_copy_bin(PGconn *db, const char *sql, const struct buf *rows)
{
	struct buf head = { 0 }, tail = { 0 };
	int rc;

	copy_bin_header(&head);
	copy_bin_trailer(&tail);
	if (db_copy_begin(db, sql) == -1) {
		rc = -1;
		goto out;
	}
	rc = db_copy_put(db, head.p, head.len);
	if (rc == 0 && rows->len > 0)
		rc = db_copy_put(db, rows->p, rows->len);
	if (rc == 0)
		rc = db_copy_put(db, tail.p, tail.len);
	if (db_copy_end(db) == -1)
		rc = -1;
out:
	buf_free(&head);
	buf_free(&tail);
	return rc;
}

/* m as a row of statemsg_history's COPY below, in binary. */
static void
add_history_row(struct buf *b, const char *client, const struct statemsg *m)
{
	copy_bin_row(b, 10);
	copy_bin_text(b, client);
	copy_bin_int8(b, m->serial);
	copy_bin_time(b, m->time_us);
	copy_bin_int4(b, m->topic_type);
	copy_bin_text(b, m->topic_id);
	copy_bin_int4(b, m->topic_id_type);
	copy_bin_int4(b, m->state_id);
	copy_bin_int4(b, m->criticality);
	copy_bin_text(b, m->details);
	if (m->params == NULL) {
		copy_bin_text(b, NULL);
	} else {
		const char *vals[STATEMSG_MAX_PARAMS];
		size_t np = param_values(m, vals);

		copy_bin_text_array(b, vals, np);
	}
}

static int
save_history(PGconn *db, struct load *L)
{
	struct buf b = { 0 };
	int rc = 0;

	if (db_copy_begin(db,
	        "COPY statemsg_history (client, serial, msg_time, topic_type, "
	        "topic_id, topic_id_type, state_id, criticality, details, "
	        "params) FROM STDIN (FORMAT binary)") == -1)
		return -1;
	copy_bin_header(&b);
	for (size_t i = 0; i < L->nfresh && rc == 0; i++) {
		add_history_row(&b, L->fresh[i].t->client, L->fresh[i].m);
		rc = copy_part(db, &b, false);
	}
	copy_bin_trailer(&b);
	if (rc == 0)
		rc = copy_part(db, &b, true);
	if (db_copy_end(db) == -1)
		rc = -1;
	buf_free(&b);
	return rc;
}

/* r as a row of client_state (and cs_stage, its copy), in binary. */
static void
add_state_row(struct buf *b, const struct row *r)
{
	copy_bin_row(b, 7);
	copy_bin_text(b, r->t->client);
	copy_bin_int4(b, r->m->topic_type);
	copy_bin_text(b, r->m->topic_id);
	copy_bin_int4(b, r->m->state_id);
	copy_bin_int4(b, r->m->criticality);
	copy_bin_time(b, r->m->time_us);
	copy_bin_int8(b, r->m->serial);
}

/*
 * The staged rows' topics have a state (read in this transaction, and
 * only statesys writes client_state): a plain UPDATE, which costs less
 * than INSERT ... ON CONFLICT's insertion attempt per row. The serial
 * test is the last guard that an older message never wins.
 */
static const char update_sql[] =
    "UPDATE client_state AS cs SET state_id = s.state_id, "
    "criticality = s.criticality, msg_time = s.msg_time, serial = s.serial "
    "FROM cs_stage s WHERE cs.client = s.client "
    "AND cs.topic_type = s.topic_type AND cs.topic_id = s.topic_id "
    "AND cs.serial < s.serial";

/* When rows thought new turn out to exist: some staged rows may not. */
static const char upsert_sql[] =
    "INSERT INTO client_state AS cs SELECT * FROM cs_stage "
    "ON CONFLICT (client, topic_type, topic_id) DO UPDATE SET "
    "state_id = EXCLUDED.state_id, criticality = EXCLUDED.criticality, "
    "msg_time = EXCLUDED.msg_time, serial = EXCLUDED.serial "
    "WHERE cs.serial < EXCLUDED.serial";

/*
 * COPY rows that cannot exist yet (a client or topic first seen in this
 * batch): a third of the upsert's cost. Should some exist after all (a row
 * put in by hand), the savepoint sends them the upsert's way via stage:
 * 0 when COPYed, 1 when staged, -1 on error.
 */
typedef int (*copy_fn)(PGconn *, const char *, const struct buf *);

static int
copy_new_rows(PGconn *db, copy_fn copy, const char *copy_sql, struct buf *rows,
    struct buf *stage)
{
	if (rows->len == 0)
		return 0;
	if (db_cmd(db, "SAVEPOINT new_rows", 0, NULL) == -1)
		return -1;
	if (copy(db, copy_sql, rows) == 0)
		return db_cmd(db, "RELEASE new_rows", 0, NULL);
	log_warn("rows thought new exist already (%s); upserting", db_error());
	if (db_cmd(db, "ROLLBACK TO new_rows", 0, NULL) == -1)
		return -1;
	buf_add(stage, rows->p, rows->len);
	return 1;
}

/* Where r goes: a new topic, one to update, or nothing (older). */
static struct buf *
state_target(const struct load *L, const struct row *r, struct buf *fresh,
    struct buf *stage)
{
	int64_t serial;

	if (!r->t->stored ||
	    !topicset_find(
	        L->topics, r->t, r->m->topic_type, r->m->topic_id, &serial))
		return fresh;
	if (serial >= r->m->serial)
		return NULL; /* late: the state it would replace is newer */
	return stage;
}

/* Keep in L->fresh only the rows that may become current state: the
 * history has them all already; those dated ahead never pin a state. */
static void
drop_ahead(struct load *L)
{
	size_t k = 0;

	if (L->nahead == 0)
		return;
	for (size_t i = 0; i < L->nfresh; i++)
		if (L->fresh[i].m->time_us <= L->ahead_us)
			L->fresh[k++] = L->fresh[i];
	L->nfresh = k;
}

static int
save_current_state(PGconn *db, struct load *L)
{
	struct buf fresh = { 0 }, stage = { 0 };
	int rc, staged;

	drop_ahead(L);
	qsort(L->fresh, L->nfresh, sizeof(*L->fresh), cmp_topic_newest);
	for (size_t i = 0; i < L->nfresh; i++) {
		const struct row *r = &L->fresh[i];
		struct buf *to;

		if (i > 0 && L->fresh[i - 1].t == r->t &&
		    L->fresh[i - 1].m->topic_type == r->m->topic_type &&
		    strcmp(L->fresh[i - 1].m->topic_id, r->m->topic_id) == 0)
			continue; /* a lower serial of the same topic */
		if ((to = state_target(L, r, &fresh, &stage)) != NULL)
			add_state_row(to, r);
	}
	staged = copy_new_rows(db, load_copy_bin,
	    "COPY client_state FROM STDIN (FORMAT binary)", &fresh, &stage);
	rc = staged == -1 ? -1 : 0;
	if (rc == 0 && stage.len > 0) {
		rc = load_copy_bin(
		    db, "COPY cs_stage FROM STDIN (FORMAT binary)", &stage);
		if (rc == 0)
			rc = db_cmd(
			    db, staged ? upsert_sql : update_sql, 0, NULL);
	}
	buf_free(&fresh);
	buf_free(&stage);
	return rc;
}

struct stats_out {
	struct buf stats, fresh, ranges;
};

static void
add_stats_row(struct serial_track *t, void *arg)
{
	struct stats_out *o = arg;
	struct buf *b = t->stored ? &o->stats : &o->fresh;

	if (!t->known)
		return; /* new, and every message of it refused: no tracking */
	buf_adds(b, t->client);
	buf_addc(b, '\t');
	buf_addi(b, t->next);
	buf_addc(b, '\t');
	buf_addi(b, t->highest);
	buf_addc(b, '\t');
	buf_addi(b, t->messages);
	buf_addc(b, '\t');
	buf_addi(b, t->duplicates);
	buf_addc(b, '\t');
	if (t->last_message_us != 0)
		db_copy_time(b, t->last_message_us);
	else
		buf_adds(b, "\\N");
	buf_addc(b, '\t');
	if (t->completed_us != 0)
		db_copy_time(b, t->completed_us);
	else
		buf_adds(b, "\\N");
	buf_addc(b, '\n');
	if (!t->ranges_changed)
		return;
	for (size_t i = 0; i < t->nranges; i++) {
		buf_adds(&o->ranges, t->client);
		buf_addc(&o->ranges, '\t');
		buf_addi(&o->ranges, t->ranges[i].first);
		buf_addc(&o->ranges, '\t');
		buf_addi(&o->ranges, t->ranges[i].last);
		buf_addc(&o->ranges, '\t');
		db_copy_time(&o->ranges, t->ranges[i].detected_us);
		buf_addc(&o->ranges, '\n');
	}
}

/* Every client's counters: new ones COPYed, known ones upserted. */
static int
save_counters(PGconn *db, struct stats_out *o)
{
	int rc = copy_new_rows(db, load_copy,
	             "COPY client_message_stats (client, next_expected_serial, "
	             "highest_serial, messages, duplicates, last_message_time, "
	             "last_resync_client_completed_time) FROM STDIN",
	             &o->fresh, &o->stats) == -1
	    ? -1
	    : 0;

	if (rc == 0 && o->stats.len > 0)
		rc = load_copy(db, "COPY stats_stage FROM STDIN", &o->stats);
	if (rc == 0 && o->stats.len > 0)
		rc = db_cmd(db,
		    "INSERT INTO client_message_stats AS s (client, "
		    "next_expected_serial, highest_serial, messages, "
		    "duplicates, "
		    "last_message_time, last_resync_client_completed_time) "
		    "SELECT * FROM stats_stage ON CONFLICT (client) DO UPDATE "
		    "SET "
		    "next_expected_serial = EXCLUDED.next_expected_serial, "
		    "highest_serial = EXCLUDED.highest_serial, "
		    "messages = s.messages + EXCLUDED.messages, "
		    "duplicates = s.duplicates + EXCLUDED.duplicates, "
		    "last_message_time = greatest(s.last_message_time, "
		    "EXCLUDED.last_message_time), "
		    "last_resync_client_completed_time = greatest("
		    "s.last_resync_client_completed_time, "
		    "EXCLUDED.last_resync_client_completed_time)",
		    0, NULL);
	return rc;
}

/* Save every client's counters; rewrite the ranges of those changed. */
static int
save_tracking(PGconn *db, struct load *L)
{
	struct stats_out o = { 0 };
	struct buf changed = { 0 };
	const char *params[1];
	int rc;

	clientmap_each(L->clients, add_stats_row, &o);
	rc = save_counters(db, &o);
	if (rc == 0 && client_names(L, ranges_changed, &changed)) {
		params[0] = changed.p;
		rc = db_cmd(db,
		    "DELETE FROM client_missing_range WHERE client = "
		    "ANY($1::text[])",
		    1, params);
	}
	if (rc == 0 && o.ranges.len > 0)
		rc = load_copy(db,
		    "COPY client_missing_range (client, first_serial, "
		    "last_serial, detected) FROM STDIN",
		    &o.ranges);
	buf_free(&o.stats);
	buf_free(&o.fresh);
	buf_free(&o.ranges);
	buf_free(&changed);
	return rc;
}

int
load_prepare(PGconn *db)
{
	/*
	 * Every read here is a keyed look-up into tables that grow fast from
	 * empty; stale statistics would have the planner scan them whole (and
	 * start parallel workers that fight the loader for two cores). JIT
	 * would compile each small statement anew: 90 ms for 2 ms of work.
	 */
	if (db_cmd(db, "SET enable_seqscan = off", 0, NULL) == -1 ||
	    db_cmd(db, "SET jit = off", 0, NULL) == -1 ||
	    db_cmd(db, "SET max_parallel_workers_per_gather = 0", 0, NULL) ==
	        -1 ||
	    db_cmd(db,
	        "CREATE TEMP TABLE IF NOT EXISTS cs_stage "
	        "(LIKE client_state) ON COMMIT DELETE ROWS",
	        0, NULL) == -1 ||
	    db_cmd(db,
	        "CREATE TEMP TABLE IF NOT EXISTS stats_stage (client text, "
	        "next bigint, highest bigint, messages bigint, duplicates "
	        "bigint, "
	        "last_message timestamptz, completed timestamptz) "
	        "ON COMMIT DELETE ROWS",
	        0, NULL) == -1) {
		log_error(
		    "could not prepare the staging tables: %s", db_error());
		return -1;
	}
	return 0;
}

/* The database's share of a batch, timed for the debug log; 0 or -1. */
static int
load_save(PGconn *db, struct load *L)
{
	double t0 = clock_mono(), t1, t2, t3;

	if (save_history(db, L) == -1)
		return -1;
	t1 = clock_mono();
	if (save_current_state(db, L) == -1)
		return -1;
	t2 = clock_mono();
	if (save_tracking(db, L) == -1)
		return -1;
	t3 = clock_mono();
	log_debug("%zu messages: collect %.0f ms, read tracking %.0f ms, "
	          "history %.0f ms, current state %.0f ms, tracking %.0f ms",
	    L->nrows, L->collect_ms, L->read_ms, (t1 - t0) * 1e3,
	    (t2 - t1) * 1e3, (t3 - t2) * 1e3);
	return 0;
}

static void
log_refused(struct serial_track *t, void *arg)
{
	const struct load *L = arg;

	if (t->refused == 0)
		return;
	log_warn("refused %ld state message%s of %s: serial %lld is more "
	         "than serial_window (%lld) beyond the next expected serial "
	         "%lld",
	    t->refused, t->refused == 1 ? "" : "s", t->client,
	    (long long)t->refused_serial, (long long)L->lim->serial_window,
	    (long long)t->refused_expected);
}

/* The batch is applied: log what was refused or dated ahead, once. */
static void
load_log(struct load *L)
{
	const struct row *r = &L->first_ahead;

	if (L->nrefused > 0)
		clientmap_each(L->clients, log_refused, L);
	if (L->nahead > 0)
		log_warn("%zu state message%s dated more than %lld minutes "
		         "ahead kept in history only: %s serial %lld dated "
		         "%s%s",
		    L->nahead, L->nahead == 1 ? "" : "s",
		    (long long)L->lim->future_minutes, r->t->client,
		    (long long)r->m->serial, r->m->time,
		    L->nahead == 1 ? "" : ", and others");
}

int
load_batch(PGconn *db, struct inbox_item *items, size_t n,
    const struct load_limits *lim, struct load_counts *counts)
{
	struct load L = { .lim = lim };
	double t0 = clock_mono();
	size_t applied_n;
	int rc = -1;

	if (load_collect(&L, items, n) == -1)
		goto out;
	if (L.nrows == 0) { /* every batch held: nothing to apply */
		rc = 0;
		goto out;
	}
	L.collect_ms = (clock_mono() - t0) * 1e3;
	if (load_now(db, &L) == -1 || load_tracks(db, &L) == -1)
		goto out;
	L.read_ms = (clock_mono() - t0) * 1e3 - L.collect_ms;
	load_track(&L);
	applied_n = L.nfresh; /* load_save keeps only the state's rows */
	if (load_save(db, &L) == -1) {
		log_error("could not load %zu files: %s", n, db_error());
		goto out;
	}
	load_log(&L);
	counts->messages += applied_n;
	counts->duplicates += L.nrows - applied_n - L.nrefused;
	counts->refused += L.nrefused;
	counts->ahead += L.nahead;
	rc = 0;
out:
	load_free(&L);
	return rc;
}
