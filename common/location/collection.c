/* collection.c - the members of a collection, by its rules */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "collection.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/ipaddr.h"

#define MAX_GROUPS 64 /* current groups of one client looked at */

static const char STAGE_SQL[] =
    "CREATE TEMP TABLE IF NOT EXISTS member_stage (guid text);"
    "TRUNCATE member_stage";

/* The rules that SQL can match; a pattern, kept as the administrator
 * wrote it, becomes a LIKE pattern: * any run, ? any one character. */
static const char SQL_RULES[] =
    "INSERT INTO member_stage SELECT c.guid FROM client c "
    "JOIN collection_rule r ON r.collection = $1 "
    "WHERE (r.kind = 'name' AND lower(c.name) = lower(r.value)) "
    "OR (r.kind = 'pattern' AND c.name ILIKE replace(replace(replace("
    "replace(replace(r.value, '\\', '\\\\'), '%', '\\%'), '_', "
    "'\\_'), '*', '%'), '?', '_')) "
    "OR (r.kind = 'site' AND c.site_code = upper(r.value))";

static const char GROUP_RULES[] =
    "SELECT value FROM collection_rule WHERE collection = $1 "
    "AND kind = 'boundary-group'";

/* The addresses of a text[] column into req. */
static void
parse_addresses(const char *addrs, struct loc_request *req)
{
	char one[64], why[128];
	size_t len;

	for (const char *p = addrs;
	     *p != '\0' && req->naddrs < LOC_MAX_ADDRS;) {
		p += strspn(p, "{},\"");
		if ((len = strcspn(p, "{},\"")) == 0)
			break;
		if (len < sizeof(one)) {
			memcpy(one, p, len);
			one[len] = '\0';
			if (ipnet_parse(one, IPNET_HOST,
			        &req->addrs[req->naddrs], why,
			        sizeof(why)) == 0)
				req->naddrs++;
		}
		p += len;
	}
}

bool
collection_in_group(
    const struct loc_model *m, const char *addresses, const char *group)
{
	struct loc_request req = { .role = LOC_MP };
	uint32_t groups[MAX_GROUPS];
	size_t n;

	parse_addresses(addresses, &req);
	if (req.naddrs == 0)
		return false;
	n = loc_current_groups(m, &req, groups, MAX_GROUPS);
	for (size_t i = 0; i < n && i < MAX_GROUPS; i++)
		if (strcasecmp(loc_group_name(m, groups[i]), group) == 0)
			return true;
	return false;
}

/* The members by boundary group, COPYed into member_stage. */
static int
stage_groups(PGconn *db, const struct loc_model *m, PGresult *rules, char *why,
    size_t len)
{
	PGresult *clients;
	struct buf rows = { 0 };
	int rc = 0;

	clients = db_exec(db, "SELECT guid, addresses FROM client", 0, NULL);
	if (clients == NULL) {
		snprintf(
		    why, len, "could not read the clients: %s", db_error());
		return -1;
	}
	for (int i = 0; i < PQntuples(clients); i++)
		for (int r = 0; r < PQntuples(rules); r++)
			if (collection_in_group(m, PQgetvalue(clients, i, 1),
			        PQgetvalue(rules, r, 0))) {
				db_copy_field(&rows, PQgetvalue(clients, i, 0));
				buf_addc(&rows, '\n');
				break;
			}
	PQclear(clients);
	if (rows.len > 0) {
		rc = db_copy_begin(db, "COPY member_stage FROM STDIN");
		if (rc == 0)
			rc = db_copy_put(db, rows.p, rows.len);
		if (db_copy_end(db) == -1)
			rc = -1;
		if (rc == -1)
			snprintf(why, len,
			    "could not stage the members by boundary group: %s",
			    db_error());
	}
	buf_free(&rows);
	return rc;
}

int
collection_stage_reset(PGconn *db)
{
	return db_script(db, STAGE_SQL);
}

int
collection_stage(PGconn *db, const struct loc_model *m, const char *collection,
    char *why, size_t len)
{
	PGresult *rules;
	int rc = 0;

	if (collection_stage_reset(db) == -1 ||
	    db_cmd(db, SQL_RULES, 1, &collection) == -1 ||
	    (rules = db_exec(db, GROUP_RULES, 1, &collection)) == NULL) {
		snprintf(why, len, "could not match the rules of \"%s\": %s",
		    collection, db_error());
		return -1;
	}
	if (PQntuples(rules) > 0)
		rc = stage_groups(db, m, rules, why, len);
	PQclear(rules);
	return rc;
}
