/*
 * register.c - POST /mp/v1/register: a client says who and where it is,
 * with the certificate that names it; the first registration binds the
 * client to that certificate
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "statemsg.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/sjson.h"
#include "util/text.h"

#define REGISTER_FORMAT "sitesys.register/1"
#define MAX_BODY 65536
#define MAX_ADDRESSES 64
#define MAX_NAME 255 /* bytes of a registration name */

/* "192.0.2.5/24" or "2001:db8::5/64": 0, or -1 with the reason. */
static int
check_address(const char *s, char *why, size_t len)
{
	char ip[64];
	unsigned char raw[16];
	const char *slash = strchr(s, '/');
	char *end;
	long prefix;
	int v6;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		goto bad;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	v6 = strchr(ip, ':') != NULL;
	prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, raw) != 1 ||
	    slash[1] == '\0' || *end != '\0' || prefix < 0 ||
	    prefix > (v6 ? 128 : 32))
		goto bad;
	return 0;
bad:
	snprintf(why, len,
	    "\"%s\" is not an address with its prefix length, "
	    "e.g. 192.0.2.5/24",
	    s);
	return -1;
}

/* The addresses as a text[] literal; 0, or -1 with the reason. */
static int
addresses_array(json_t *doc, struct buf *out, char *why, size_t len)
{
	const char *vals[MAX_ADDRESSES];
	json_t *arr, *a;
	size_t i;

	if (sjson_array(
	        doc, "addresses", MAX_ADDRESSES, false, &arr, why, len) == -1)
		return -1;
	json_array_foreach(arr, i, a)
	{
		if (!json_is_string(a)) {
			snprintf(why, len, "addresses[%zu] is not a string", i);
			return -1;
		}
		if (check_address(json_string_value(a), why, len) == -1)
			return -1;
		vals[i] = json_string_value(a);
	}
	db_text_array(out, vals, arr ? json_array_size(arr) : 0);
	return 0;
}

/*
 * Record the client: bound to the certificate on its first registration
 * (approved if the site approves automatically), its name and addresses
 * refreshed after; nothing changes for a client bound to another
 * certificate or blocked. Returns the approval, or no row then.
 */
static const char bind_sql[] =
    "INSERT INTO client AS c (guid, name, addresses, fingerprint, "
    "certificate, bound_at, approved) "
    "SELECT $1, $2, $3::text[], $4, $5, now(), client_approval = 'auto' "
    "FROM hierarchy_setting "
    "ON CONFLICT (guid) DO UPDATE SET name = EXCLUDED.name, "
    "addresses = EXCLUDED.addresses, last_seen = now(), "
    "fingerprint = EXCLUDED.fingerprint, "
    "certificate = EXCLUDED.certificate, "
    "bound_at = coalesce(c.bound_at, now()), "
    "approved = c.approved OR (c.fingerprint IS NULL AND EXCLUDED.approved) "
    "WHERE (c.fingerprint IS NULL OR c.fingerprint = EXCLUDED.fingerprint) "
    "AND NOT c.blocked "
    "RETURNING approved";

/* Why a registration changed nothing: blocked, or another certificate. */
static int
register_refused(struct fcgi_req *req, PGconn *db, const char *client)
{
	const char *params[1] = { client };
	PGresult *res = db_exec(
	    db, "SELECT blocked FROM client WHERE guid = $1", 1, params);
	bool blocked =
	    res != NULL && PQntuples(res) == 1 && *PQgetvalue(res, 0, 0) == 't';

	PQclear(res);
	if (blocked)
		return fcgi_refuse(req, 403, "blocked",
		    "client %s is blocked by the site", client);
	log_warn(
	    "refused a registration of %s from another certificate", client);
	return fcgi_refuse(req, 409, "identity-mismatch",
	    "client %s is registered with another certificate; if the "
	    "machine was installed again, the administrator runs "
	    "\"sitectl client reset-identity %s\"",
	    client, client);
}

static int
register_store(struct fcgi_req *req, struct mp *mp, const struct mp_caller *c,
    const char *name, const char *addrs)
{
	char *pem = x509_cert_pem(c->cert);
	const char *params[5] = { c->guid, name, addrs, c->fingerprint, pem };
	PGconn *db = mp_db(mp);
	PGresult *res;
	json_t *ans;
	bool approved;
	int rc;

	if (db == NULL || pem == NULL) {
		free(pem);
		return fcgi_error(req, 503, "the site database is unreachable");
	}
	res = db_exec(db, bind_sql, 5, params);
	free(pem);
	if (res == NULL) {
		log_error("could not register %s: %s", c->guid, db_error());
		mp_db_failed();
		return fcgi_error(
		    req, 503, "could not record the registration");
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return register_refused(req, db, c->guid);
	}
	approved = *PQgetvalue(res, 0, 0) == 't';
	PQclear(res);
	log_info("registered %s (%s), %s", c->guid, name,
	    approved ? "approved" : "waiting for approval");
	ans = json_pack("{s:s, s:s, s:s}", "format", "sitesys.registered/1",
	    "client", c->guid, "approval", approved ? "approved" : "pending");
	rc = fcgi_reply_json(req, 200, ans);
	json_decref(ans);
	return rc;
}

/*
 * The caller's certificate, which must name client (lower case) as its
 * commonName; 0, or -1 once answered.
 */
static int
register_caller(struct fcgi_req *req, struct mp_caller *c, const char *client)
{
	char cn[256];

	if (mp_caller_cert(req, c) == -1)
		return -1;
	x509_cn(c->cert, cn, sizeof(cn));
	if (statemsg_valid_guid(cn))
		statemsg_guid_lower(cn, cn);
	if (strcmp(cn, client) != 0)
		return fcgi_refuse(req, 403, "certificate-name",
		           "the certificate names \"%s\", not client %s: a "
		           "client registers the certificate that names it",
		           cn, client),
		       -1;
	snprintf(c->guid, sizeof(c->guid), "%s", client);
	return 0;
}

int
mp_register(struct fcgi_req *req, void *arg)
{
	struct mp *mp = arg;
	char *body, why[512];
	const char *client, *name, *bad;
	struct buf addrs = { 0 };
	json_t *doc;
	size_t len;
	int rc;

	if (fcgi_read_body(req, MAX_BODY, &body, &len) == -1)
		return 0;
	doc = sjson_parse(body, len, why, sizeof(why));
	free(body);
	if (doc == NULL ||
	    sjson_format(doc, REGISTER_FORMAT, why, sizeof(why)) == -1 ||
	    sjson_str(doc, "client", STATEMSG_GUID_LEN, true, &client, why,
	        sizeof(why)) == -1 ||
	    sjson_str(doc, "name", MAX_NAME, true, &name, why, sizeof(why)) ==
	        -1 ||
	    addresses_array(doc, &addrs, why, sizeof(why)) == -1) {
		json_decref(doc);
		buf_free(&addrs);
		return fcgi_error(req, 400, "%s", why);
	}
	if (!statemsg_valid_guid(client))
		rc = fcgi_error(req, 400,
		    "member \"client\" is not \"GUID:\" and a UUID: \"%s\"",
		    client);
	else if ((bad = text_name_check(name, MAX_NAME)) != NULL)
		/* the name is kept and shown to the administrator */
		rc = fcgi_error(req, 400, "member \"name\" %s", bad);
	else {
		char low[STATEMSG_GUID_LEN + 1];

		struct mp_caller c;

		statemsg_guid_lower(client, low);
		rc = register_caller(req, &c, low) == -1
		    ? 0
		    : register_store(req, mp, &c, name, addrs.p);
		mp_caller_free(&c);
	}
	json_decref(doc);
	buf_free(&addrs);
	return rc;
}
