/*
 * location.c - POST /mp/v1/location: which site systems a client may use,
 * from which minute (sitesys-location(5)), and its site assignment
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "location/location_db.h"
#include "location/location_json.h"
#include "mp.h"
#include "statemsg.h"
#include "util/db.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/sjson.h"

/* Uniform below n, from a per-thread generator (xorshift64*). */
static uint32_t
thread_random(void *ctx, uint32_t n)
{
	static _Thread_local uint64_t state;

	(void)ctx;
	if (state == 0)
		state = (uint64_t)time(NULL) ^ (uint64_t)pthread_self() ^
		    0x9e3779b97f4a7c15ULL;
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)(((state * 2685821657736338717ULL) >> 32) % n);
}

/*
 * The client's site recorded in the database into site ("" if none); 0,
 * or -1 (logged) without the database.
 */
static int
location_recorded(PGconn *db, const char *client, char *site, size_t len)
{
	const char *params[1] = { client };
	PGresult *res;

	res = db_exec(db,
	    "SELECT site_code FROM client WHERE guid = $1 "
	    "AND site_code IS NOT NULL",
	    1, params);
	if (res == NULL) {
		log_error("could not read %s's site: %s", client, db_error());
		mp_db_failed();
		return -1;
	}
	if (PQntuples(res) == 1)
		snprintf(site, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/*
 * Record chosen as the client's site unless it has one already; the site
 * recorded into site. 0, or -1 (logged) if it could not be recorded.
 */
static int
location_record(
    PGconn *db, const char *client, const char *chosen, char *site, size_t len)
{
	const char *params[2] = { client, chosen };
	PGresult *res;

	res = db_exec(db,
	    "UPDATE client SET site_code = coalesce(site_code, $2) "
	    "WHERE guid = $1 RETURNING site_code",
	    2, params);
	if (res == NULL || PQntuples(res) != 1) {
		log_error("could not record %s's site %s: %s", client, chosen,
		    res == NULL ? db_error() : "no such client");
		if (res == NULL)
			mp_db_failed();
		PQclear(res);
		return -1;
	}
	snprintf(site, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (strcmp(site, chosen) == 0)
		log_info("%s assigned to site %s", client, site);
	return 0;
}

/*
 * The client's site into *out: the one it says it has, else the one
 * recorded for it, else a new automatic assignment, recorded so it is
 * never redone; NULL when no boundary group of its location assigns one.
 * 0, or -1 (logged) when the database cannot tell or record it: an
 * assignment that is not recorded is never answered.
 */
static int
location_site(struct mp *mp, const struct loc_model *m,
    const struct loc_request *lr, const char *client, char *site, size_t len,
    const char **out)
{
	char why[256];
	const char *chosen;
	PGconn *db;

	*out = lr->site;
	if (lr->site != NULL)
		return 0;
	if ((db = mp_db(mp)) == NULL ||
	    location_recorded(db, client, site, len) == -1)
		return -1;
	if (site[0] == '\0') {
		chosen = loc_assign_site(
		    m, lr, NULL, thread_random, NULL, why, sizeof(why));
		if (chosen == NULL)
			return 0;
		if (location_record(db, client, chosen, site, len) == -1)
			return -1;
	}
	*out = site;
	return 0;
}

/* Record the on-demand distributions the answer asked for. */
static void
location_distribute(
    struct mp *mp, const struct loc_answer *ans, const char *client)
{
	PGconn *db = mp_db(mp);
	char why[512];

	if (db == NULL)
		return;
	if (loc_db_record_distributions(db, ans, client, why, sizeof(why)) ==
	    -1) {
		log_error("could not record the on-demand distributions for "
		          "%s: %s",
		    client, why);
		mp_db_failed();
	}
}

static int
location_answer(struct fcgi_req *req, struct mp *mp, const struct loc_model *m,
    struct loc_request *lr, const char *client)
{
	char site[LOC_SITE_MAX + 1] = "", why[512];
	struct loc_answer ans;
	json_t *doc;
	int rc;

	if (location_site(mp, m, lr, client, site, sizeof(site), &lr->site) ==
	    -1)
		return fcgi_error(req, 503,
		    "the site database is unreachable: the site assignment "
		    "cannot be read or recorded");
	if (loc_query(m, lr, &ans, why, sizeof(why)) == -1)
		return fcgi_error(req, 400, "%s", why);
	if (ans.ndist > 0)
		location_distribute(mp, &ans, client);
	doc = loc_answer_json(&ans, lr->role, lr->site);
	rc = fcgi_reply_json(req, 200, doc);
	json_decref(doc);
	loc_answer_free(&ans);
	return rc;
}

int
mp_location(struct fcgi_req *req, void *arg)
{
	struct mp *mp = arg;
	struct loc_request lr;
	const struct loc_model *m;
	struct mp_model_ref *ref;
	struct mp_caller c;
	const char *client;
	char *body, why[512], low[STATEMSG_GUID_LEN + 1];
	json_t *doc;
	size_t len;
	int rc;

	rc = mp_caller_admit(req, mp, &c, NULL);
	if (rc == -1 ||
	    fcgi_read_body(req, LOC_REQUEST_MAX, &body, &len) == -1) {
		mp_caller_free(&c);
		return 0;
	}
	doc = sjson_parse(body, len, why, sizeof(why));
	free(body);
	if (doc == NULL ||
	    loc_request_parse(doc, &lr, &client, why, sizeof(why)) == -1) {
		mp_caller_free(&c);
		json_decref(doc);
		return fcgi_error(req, 400, "%s", why);
	}
	if (!statemsg_valid_guid(client)) {
		rc = fcgi_error(req, 400,
		    "member \"client\" is not \"GUID:\" and a UUID: \"%s\"",
		    client);
		mp_caller_free(&c);
		json_decref(doc);
		return rc;
	}
	statemsg_guid_lower(client, low);
	if (mp_caller_is(req, &c, low) == -1) {
		mp_caller_free(&c);
		json_decref(doc);
		return 0;
	}
	mp_caller_free(&c);
	if ((ref = mp_model_get(mp->models, &m)) == NULL)
		rc = fcgi_error(
		    req, 503, "the boundary model is not loaded yet");
	else
		rc = location_answer(req, mp, m, &lr, low);
	mp_model_put(mp->models, ref);
	json_decref(doc);
	return rc;
}
