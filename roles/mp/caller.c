/*
 * caller.c - who is asking: the client certificate nginx hands over in the
 * FastCGI parameter SSL_CLIENT_CERT (URL-encoded PEM), and the client its
 * SHA-256 fingerprint was bound to when it registered
 *
 * Each request thread keeps what it learnt of recent certificates; a
 * change of any client's identity or approval (NOTIFY sitesys_client)
 * makes every thread forget, and nothing is kept longer than a minute.
 *
 * A request is admitted by its certificate's fingerprint alone, hashed
 * from the PEM's DER as it stands: parsing the certificate (OpenSSL 3
 * decodes its public key too, under global locks) cost more than a
 * hundred microseconds a request, more than all the rest of a batch's
 * intake. Only what will be kept or read (the certificate a client
 * registers) is parsed. Nothing is lost by not
 * parsing: nginx hands over the certificate that the client proved it
 * holds the key of, as OpenSSL wrote it, whose fingerprint is the one
 * taken at registration from the same certificate parsed; bytes that are
 * no certificate have no fingerprint the site knows.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mp.h"
#include "util/db.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/text.h"

#define CALLER_CACHE 256 /* entries per thread, by fingerprint */
#define CALLER_TTL 60 /* seconds */
#define CALLER_PEM_MAX 16384

struct caller_known {
	char fingerprint[X509_FINGERPRINT_LEN]; /* "": empty */
	char guid[STATEMSG_GUID_LEN + 1];
	enum mp_standing standing;
	unsigned long gen; /* mp_models_client_gen when learnt */
	time_t at;
};

static _Thread_local struct caller_known known[CALLER_CACHE];

static const char standing_sql[] =
    "SELECT guid, approved, blocked FROM client WHERE fingerprint = $1";

/* Answer 400: what nginx passed on is no certificate; -1. */
static int
caller_unreadable(struct fcgi_req *req)
{
	fcgi_refuse(req, 400, "bad-certificate",
	    "the client certificate cannot be read");
	return -1;
}

/*
 * The request's certificate, URL-decoded, as PEM text into pem (len
 * bytes); its length, or -1 once answered (401 none, 400 unreadable).
 */
static long
caller_pem(struct fcgi_req *req, char *pem, size_t len)
{
	const char *param = fcgi_param(req, "SSL_CLIENT_CERT");
	long n;

	if (param == NULL || *param == '\0')
		return fcgi_refuse(req, 401, "no-certificate",
		           "a client certificate is required: present the "
		           "certificate the client registered with"),
		       -1;
	if ((n = text_url_decode(param, pem, len)) == -1)
		return caller_unreadable(req);
	return n;
}

int
mp_caller_cert(struct fcgi_req *req, struct mp_caller *c)
{
	char pem[CALLER_PEM_MAX], why[256];
	long n;

	memset(c, 0, sizeof(*c));
	if ((n = caller_pem(req, pem, sizeof(pem))) == -1)
		return -1;
	if ((c->cert = x509_cert_parse(pem, (size_t)n, why, sizeof(why))) ==
	    NULL)
		return caller_unreadable(req);
	x509_fingerprint(c->cert, c->fingerprint);
	return 0;
}

/*
 * The request certificate's fingerprint into c, the certificate left
 * unparsed (c->cert NULL); 0, or -1 once answered as mp_caller_cert.
 */
static int
caller_fingerprint(struct fcgi_req *req, struct mp_caller *c)
{
	char pem[CALLER_PEM_MAX], why[256];
	long n;

	memset(c, 0, sizeof(*c));
	if ((n = caller_pem(req, pem, sizeof(pem))) == -1)
		return -1;
	if (x509_pem_fingerprint(
	        pem, (size_t)n, c->fingerprint, why, sizeof(why)) == -1)
		return caller_unreadable(req);
	return 0;
}

void
mp_caller_free(struct mp_caller *c)
{
	X509_free(c->cert);
	c->cert = NULL;
}

/* The cache entry for fingerprint fp. */
static struct caller_known *
known_slot(const char *fp)
{
	return &known[strmap_hash(fp, false) % CALLER_CACHE];
}

/* c's standing from the site database into c and the cache; 0 or -1. */
static int
caller_lookup(struct mp *mp, struct mp_caller *c, struct caller_known *k)
{
	const char *params[1] = { c->fingerprint };
	unsigned long gen = mp_models_client_gen(mp->models);
	PGconn *db = mp_db(mp);
	PGresult *res;

	if (db == NULL)
		return -1;
	if ((res = db_exec(db, standing_sql, 1, params)) == NULL) {
		log_error("could not look up the certificate %s: %s",
		    c->fingerprint, db_error());
		mp_db_failed();
		return -1;
	}
	c->standing = MP_UNREGISTERED;
	c->guid[0] = '\0';
	if (PQntuples(res) == 1) {
		snprintf(c->guid, sizeof(c->guid), "%s", PQgetvalue(res, 0, 0));
		c->standing = *PQgetvalue(res, 0, 2) == 't' ? MP_BLOCKED
		    : *PQgetvalue(res, 0, 1) == 't'         ? MP_APPROVED
		                                            : MP_PENDING;
	}
	PQclear(res);
	memcpy(k->fingerprint, c->fingerprint, sizeof(k->fingerprint));
	memcpy(k->guid, c->guid, sizeof(k->guid));
	k->standing = c->standing;
	k->gen = gen;
	k->at = time(NULL);
	return 0;
}

int
mp_caller_standing(struct mp *mp, struct mp_caller *c)
{
	struct caller_known *k = known_slot(c->fingerprint);
	time_t now = time(NULL);

	/* only what a certificate is bound to is kept: one not registered
	 * yet is about to be */
	if (strcmp(k->fingerprint, c->fingerprint) == 0 &&
	    k->standing != MP_UNREGISTERED &&
	    k->gen == mp_models_client_gen(mp->models) &&
	    now - k->at < CALLER_TTL && now >= k->at) {
		memcpy(c->guid, k->guid, sizeof(c->guid));
		c->standing = k->standing;
		return 0;
	}
	return caller_lookup(mp, c, k);
}

int
mp_caller_admit(struct fcgi_req *req, struct mp *mp, struct mp_caller *c,
    const char *client)
{
	if (caller_fingerprint(req, c) == -1)
		return -1;
	if (mp_caller_standing(mp, c) == -1)
		return fcgi_error(req, 503, "the site database is unreachable"),
		       -1;
	switch (c->standing) {
	case MP_UNREGISTERED:
		return fcgi_refuse(req, 403, "unregistered",
		           "the certificate with SHA-256 fingerprint %s is "
		           "not registered: register first",
		           c->fingerprint),
		       -1;
	case MP_PENDING:
		return fcgi_refuse(req, 403, "pending",
		           "client %s is waiting for the site's approval",
		           c->guid),
		       -1;
	case MP_BLOCKED:
		return fcgi_refuse(req, 403, "blocked",
		           "client %s is blocked by the site", c->guid),
		       -1;
	case MP_APPROVED:
		break;
	}
	return client != NULL ? mp_caller_is(req, c, client) : 0;
}

int
mp_caller_is(
    struct fcgi_req *req, const struct mp_caller *c, const char *client)
{
	if (strcmp(client, c->guid) == 0)
		return 0;
	return fcgi_refuse(req, 403, "not-yours",
	           "this certificate is client %s's: it may not speak for %s",
	           c->guid, client),
	       -1;
}
