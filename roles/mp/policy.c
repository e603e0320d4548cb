/* policy.c - GET /mp/v1/policy?client=GUID: what the client is to do,
 * told to that client alone */
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "statemsg.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/sjson.h"

/*
 * A resync request is pending while it was issued after the client's last
 * completion (seed 001).
 */
static const char policy_sql[] =
    "SELECT to_char(s.last_resync_issued_time AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM client c LEFT JOIN client_message_stats s ON s.client = c.guid "
    "AND s.last_resync_issued_time > "
    "coalesce(s.last_resync_client_completed_time, '-infinity') "
    "WHERE c.guid = $1";

/* The client id from "client=GUID" in the query string, or NULL. */
static const char *
query_client(const char *query, char *out, size_t len)
{
	const char *p = strstr(query, "client=");

	if (p == NULL || (p != query && p[-1] != '&'))
		return NULL;
	p += strlen("client=");
	snprintf(out, len, "%.*s", (int)strcspn(p, "&"), p);
	/* nginx passes the query undecoded: "GUID%3A..." is the same id */
	if (strncmp(out, "GUID%3A", 7) == 0 || strncmp(out, "GUID%3a", 7) == 0)
		memmove(out + 5, out + 7, strlen(out + 7) + 1);
	return out;
}

static int
policy_answer(
    struct fcgi_req *req, struct mp *mp, const char *client, PGresult *res)
{
	const char *resync =
	    PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
	json_t *doc = json_object();
	int rc;

	sjson_set(doc, "format", json_string("sitesys.policy/1"));
	sjson_set(doc, "client", json_string(client));
	sjson_set(doc, "statemsg_send_minutes",
	    json_integer(conf_int(mp->cf, "mp", "statemsg_send_minutes")));
	sjson_set(doc, "policy_poll_minutes",
	    json_integer(conf_int(mp->cf, "mp", "policy_poll_minutes")));
	sjson_set(doc, "resync",
	    resync ? json_pack("{s:s}", "requested", resync) : json_null());
	rc = fcgi_reply_json(req, 200, doc);
	json_decref(doc);
	return rc;
}

/*
 * The approved caller and the client it asks for, which must be itself,
 * into client (len bytes); 0, or -1 once answered.
 */
static int
policy_caller(struct fcgi_req *req, struct mp *mp, char *client, size_t len)
{
	struct mp_caller c;
	int rc = -1;

	if (mp_caller_admit(req, mp, &c, NULL) == 0) {
		if (query_client(fcgi_query(req), client, len) == NULL ||
		    !statemsg_valid_guid(client)) {
			fcgi_error(req, 400,
			    "the query must be client=GUID:<uuid>, e.g. "
			    "client=GUID:4f1c2a7e-9a8b-4c3d-8e2f-0a1b2c3d4e5f");
		} else {
			statemsg_guid_lower(client, client);
			rc = mp_caller_is(req, &c, client);
		}
	}
	mp_caller_free(&c);
	return rc;
}

int
mp_policy(struct fcgi_req *req, void *arg)
{
	struct mp *mp = arg;
	char client[128];
	const char *params[1] = { client };
	PGconn *db;
	PGresult *res;
	int rc;

	if (policy_caller(req, mp, client, sizeof(client)) == -1)
		return 0;
	if ((db = mp_db(mp)) == NULL)
		return fcgi_error(req, 503, "the site database is unreachable");
	if ((res = db_exec(db, policy_sql, 1, params)) == NULL) {
		log_error(
		    "could not read the policy of %s: %s", client, db_error());
		mp_db_failed();
		return fcgi_error(req, 503, "could not read the policy");
	}
	/* the caller's own row: gone only if deleted since it was admitted */
	if (PQntuples(res) == 0)
		rc = fcgi_refuse(req, 403, "unregistered",
		    "client %s is not registered: register first", client);
	else
		rc = policy_answer(req, mp, client, res);
	PQclear(res);
	return rc;
}
