/*
 * fspcheck.c - the batches that came through a fallback status point,
 * checked against their clients' registered certificates before anything
 * of them is applied: anybody may post to an FSP in any client's name.
 *
 *   registered (client.certificate set), signed by that key: applied as a
 *       batch from a management point if the client is approved; kept
 *       as unverified (below) while it waits for approval; refused if
 *       the client is blocked, as its management points refuse it;
 *   registered, not signed or signed otherwise: forged, applied to
 *       nothing, counted on the client and logged;
 *   not registered: its messages of the FSP's topic types kept in
 *       statemsg_unverified, the others dropped; nothing else touched.
 *
 * Everything happens in the transaction that loads the files, so it
 * counts once, as they do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statemsg.h"
#include "statesys.h"
#include "util/db.h"
#include "util/log.h"
#include "util/strmap.h"

/*
 * The topic types a fallback status point is for: client deployment and
 * assignment, client-MP communication, local certificate, client health.
 */
static bool
fsp_topic(int type)
{
	return type == 800 || type == 1000 || type == 1001 || type == 1300;
}

struct check {
	struct certcache *certs;
	struct fsp_run *run;
	PGresult *ids; /* guid, fingerprint, certificate, approved, blocked */
	struct strmap registered; /* guid -> row of ids */
	struct buf forged; /* the clients of forged batches, a text[] */
	struct buf unverified, tmp; /* COPY rows, and scratch */
};

/* Append a client id (checked: nothing to escape) to a text[] literal. */
static void
add_client(struct buf *b, const char *client)
{
	buf_adds(b, b->len > 1 ? ",\"" : "\"");
	buf_adds(b, client);
	buf_addc(b, '"');
}

/*
 * The clients of the batches that came through an FSP, as a text[]
 * literal in out, their files' held[] cleared; false if there are none.
 */
static bool
fsp_clients(struct inbox_item *items, size_t n, struct buf *out)
{
	buf_addc(out, '{');
	for (size_t i = 0; i < n; i++) {
		struct smfile *f = items[i].parsed;

		if (f == NULL || !f->via_fsp)
			continue;
		memset(f->held, 0, f->n * sizeof(*f->held));
		for (size_t b = 0; b < f->n; b++)
			add_client(out, f->batches[b].client);
	}
	buf_addc(out, '}');
	return out->len > 2;
}

/* Read the certificates those clients registered; 0 or -1 (logged). */
static int
read_identities(PGconn *db, struct check *c, const char *names)
{
	c->ids = db_exec(db,
	    "SELECT guid, fingerprint, certificate, approved, blocked "
	    "FROM client "
	    "WHERE guid = ANY($1::text[]) AND certificate IS NOT NULL",
	    1, &names);
	if (c->ids == NULL) {
		log_error(
		    "could not read the clients' certificates: %s", db_error());
		return -1;
	}
	for (int i = 0; i < PQntuples(c->ids); i++)
		strmap_put(
		    &c->registered, PQgetvalue(c->ids, i, 0), (uint32_t)i);
	return 0;
}

/*
 * True if v holds a number with a fraction or an exponent, whose printing
 * the signed text does not fix (sitesys-statemsg(5)).
 */
static bool
holds_real(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_real(v))
		return true;
	if (json_is_object(v)) {
		json_object_foreach(v, k, e)
		{
			if (holds_real(e))
				return true;
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (holds_real(e))
				return true;
		}
	}
	return false;
}

/*
 * Whether b is signed by the key of the certificate in row of c->ids: 1,
 * or 0 with why (also when it cannot be checked at all: unchecked is not
 * applied).
 */
static int
signed_by_client(struct check *c, uint32_t row, const struct statemsg_batch *b,
    char *why, size_t len)
{
	X509 *cert = certcache_get(c->certs, PQgetvalue(c->ids, (int)row, 1),
	    PQgetvalue(c->ids, (int)row, 2), why, len);
	char *text;
	int rc;

	if (cert == NULL)
		return 0;
	if (b->signature == NULL) {
		snprintf(why, len, "it is not signed");
		return 0;
	}
	if (holds_real(b->doc)) {
		snprintf(why, len,
		    "it holds a number with a fraction or an exponent, which "
		    "no signature covers");
		return 0;
	}
	if ((text = statemsg_signed_text(b->doc)) == NULL)
		abort();
	rc = x509_verify(cert, text, strlen(text), b->signature, why, len);
	free(text);
	return rc == 1;
}

/* A registered client's batch that it did not sign: noted, counted. */
static void
forged(struct check *c, const char *file, const struct statemsg_batch *b,
    const char *why)
{
	add_client(&c->forged, b->client);
	c->run->counts.forged++;
	buf_addf(&c->run->warnings,
	    "refused a forged batch of %s in %s through a fallback status "
	    "point (messages: %zu): %s\n",
	    b->client, file, b->n, why);
}

/*
 * A batch of a client the site does not take messages from yet (because,
 * says why, it has not registered a certificate, or waits for approval):
 * its FSP topics kept, the rest dropped.
 */
static void
unverified(struct check *c, const char *file, const struct statemsg_batch *b,
    const char *why)
{
	size_t kept = 0;

	for (size_t j = 0; j < b->n; j++) {
		if (!fsp_topic(b->msgs[j].topic_type))
			continue;
		load_message_fields(
		    &c->unverified, &c->tmp, b->client, &b->msgs[j]);
		buf_addc(&c->unverified, '\t');
		db_copy_field(&c->unverified, file);
		buf_addc(&c->unverified, '\n');
		kept++;
	}
	c->run->counts.unverified += kept;
	c->run->counts.dropped += b->n - kept;
	buf_addf(&c->run->infos,
	    "kept %zu messages of %s in %s as unverified: it came through a "
	    "fallback status point and %s; dropped %zu of other topic "
	    "types\n",
	    kept, b->client, file, why, b->n - kept);
}

/* A blocked client's batch, signed by it: refused, counted, logged. */
static void
blocked(struct check *c, const char *file, const struct statemsg_batch *b)
{
	c->run->counts.blocked++;
	buf_addf(&c->run->warnings,
	    "refused a batch of %s in %s through a fallback status point "
	    "(messages: %zu): the client is blocked\n",
	    b->client, file, b->n);
}

/* Decide each FSP batch of f, the file name: held, and why. */
static void
check_file(struct check *c, struct smfile *f, const char *file)
{
	char why[256];
	uint32_t row;

	for (size_t i = 0; i < f->n; i++) {
		const struct statemsg_batch *b = &f->batches[i];

		f->held[i] = true;
		if (!strmap_get(&c->registered, b->client, &row)) {
			unverified(
			    c, file, b, "has not registered a certificate");
		} else if (!signed_by_client(c, row, b, why, sizeof(why))) {
			forged(c, file, b, why);
		} else if (*PQgetvalue(c->ids, (int)row, 4) == 't') {
			blocked(c, file, b);
		} else if (*PQgetvalue(c->ids, (int)row, 3) != 't') {
			unverified(c, file, b, "waits for the site's approval");
		} else {
			c->run->counts.signed_batches++;
			f->held[i] = false;
		}
	}
}

/* Count the forged batches on their clients; keep the unverified. */
static int
save_checks(PGconn *db, struct check *c)
{
	const char *params[1] = { c->forged.p };

	if (c->forged.len > 2 &&
	    db_cmd(db,
	        "UPDATE client c SET forged_batches = c.forged_batches + f.n, "
	        "last_forged = now() FROM (SELECT g, count(*) AS n "
	        "FROM unnest($1::text[]) AS g GROUP BY g) AS f "
	        "WHERE c.guid = f.g",
	        1, params) == -1)
		return -1;
	if (c->unverified.len > 0 &&
	    load_copy(db,
	        "COPY statemsg_unverified (client, serial, msg_time, "
	        "topic_type, topic_id, topic_id_type, state_id, criticality, "
	        "details, params, file) FROM STDIN",
	        &c->unverified) == -1)
		return -1;
	return 0;
}

int
fsp_check(PGconn *db, struct certcache *certs, struct inbox_item *items,
    size_t n, struct fsp_run *run)
{
	struct check c = { .certs = certs, .run = run };
	struct buf names = { 0 };
	int rc = -1;

	if (!fsp_clients(items, n, &names)) {
		buf_free(&names);
		return 0;
	}
	strmap_init(&c.registered, false);
	if (read_identities(db, &c, names.p) == -1)
		goto out;
	buf_addc(&c.forged, '{');
	for (size_t i = 0; i < n; i++) {
		struct smfile *f = items[i].parsed;

		if (f != NULL && f->via_fsp)
			check_file(&c, f, items[i].name);
	}
	buf_addc(&c.forged, '}');
	if ((rc = save_checks(db, &c)) == -1)
		log_error("could not record the checks of batches through a "
		          "fallback status point: %s",
		    db_error());
out:
	strmap_free(&c.registered);
	PQclear(c.ids);
	buf_free(&names);
	buf_free(&c.forged);
	buf_free(&c.unverified);
	buf_free(&c.tmp);
	return rc;
}

/* Log each line of b with say, at its level. */
static void
log_lines(const struct buf *b, void (*say)(const char *, ...))
{
	const char *p = b->p, *nl;

	while (p != NULL && (nl = strchr(p, '\n')) != NULL) {
		say("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

void
fsp_done(struct fsp_run *run, struct fsp_counts *total)
{
	if (total != NULL) {
		log_lines(&run->warnings, log_warn);
		log_lines(&run->infos, log_info);
		total->signed_batches += run->counts.signed_batches;
		total->forged += run->counts.forged;
		total->blocked += run->counts.blocked;
		total->unverified += run->counts.unverified;
		total->dropped += run->counts.dropped;
	}
	buf_free(&run->warnings);
	buf_free(&run->infos);
	memset(run, 0, sizeof(*run));
}
