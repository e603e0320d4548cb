/* cmd_content.c - sitectl content: what distribution points hold */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"

/* Every content ID known: where it is and whether it distributes on
 * demand. */
static const char list_sql[] =
    "WITH ids AS (SELECT content_id FROM dp_content "
    "  UNION SELECT content_id FROM peer_content "
    "  UNION SELECT content_id FROM content_on_demand) "
    "SELECT i.content_id::text AS content_id, "
    "EXISTS (SELECT 1 FROM content_on_demand o "
    "  WHERE o.content_id = i.content_id) AS on_demand, "
    "coalesce((SELECT json_agg(s.fqdn ORDER BY s.fqdn) FROM dp_content c "
    "  JOIN site_server s ON s.id = c.server_id "
    "  WHERE c.content_id = i.content_id), '[]') AS servers, "
    "coalesce((SELECT json_agg(p.client ORDER BY p.client) FROM "
    "  peer_content c JOIN peer_cache_source p ON p.id = c.peer_id "
    "  WHERE c.content_id = i.content_id), '[]') AS peers "
    "FROM ids i ORDER BY 1";

/* The on-demand distribution requests that location answers recorded. */
static const char requests_sql[] =
    "SELECT r.content_id::text AS content_id, s.fqdn AS server, r.client, "
    "r.count, to_char(r.first AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS first, "
    "to_char(r.last AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "AS last FROM content_distribution_request r "
    "JOIN site_server s ON s.id = r.server_id ORDER BY r.last DESC, 1, 2";

static int
content_put(PGconn *db, bool add, const char *fqdn, const char *content)
{
	static const char *const put_sql[2] = {
		"INSERT INTO dp_content (server_id, content_id) VALUES ($1, "
		"$2) "
		"ON CONFLICT DO NOTHING RETURNING 1",
		"DELETE FROM dp_content WHERE server_id = $1 AND content_id = "
		"$2 "
		"RETURNING 1"
	};
	char id[16];

	if (model_find(db, "SELECT id FROM site_server WHERE fqdn = $1", fqdn,
	        "server", id, sizeof(id)) != 0)
		return EXIT_FAIL;
	if (add &&
	    model_find(db,
	        "SELECT 1 FROM site_server_role WHERE server_id = $1 "
	        "AND role IN ('dp', 'clouddp')",
	        id, NULL, (char[8]){ 0 }, 8) != 0) {
		ctl_err("server %s is not a distribution point: give it "
		        "the dp or clouddp role first",
		    fqdn);
		return EXIT_FAIL;
	}
	return model_content_put(
	    db, add, put_sql, id, (const char *[2]){ "server", fqdn }, content);
}

static int
content_on_demand(PGconn *db, const char *content, bool yes)
{
	if (db_cmd(db,
	        yes ? "INSERT INTO content_on_demand (content_id) VALUES ($1) "
	              "ON CONFLICT DO NOTHING"
	            : "DELETE FROM content_on_demand WHERE content_id = $1",
	        1, &content) == -1)
		return model_dberr("change the content's distribution");
	printf("content %s %s\n", content,
	    yes ? "distributes on demand" : "does not distribute on demand");
	return EXIT_OK;
}

/* Check what needs no database; an exit status. */
static int
content_args(
    const char *sub, int npos, const char **pos, char fqdn[256], bool *yes)
{
	bool put = strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0;

	if (put) {
		if (npos != 2)
			return ctl_usage("content");
		if (model_fqdn(pos[0], fqdn, 256) == -1 ||
		    model_content_id(pos[1]) == -1)
			return EXIT_USAGE;
	} else if (strcmp(sub, "on-demand") == 0) {
		if (npos != 2)
			return ctl_usage("content");
		if (model_content_id(pos[0]) == -1 ||
		    model_yesno("on-demand", pos[1], yes) == -1)
			return EXIT_USAGE;
	} else if ((strcmp(sub, "list") != 0 && strcmp(sub, "requests") != 0) ||
	    npos != 0) {
		return ctl_usage("content");
	}
	return EXIT_OK;
}

int
cmd_content(struct ctl *ctl, int argc, char **argv)
{
	const char *vals[1], *pos[2], *sub = argc > 1 ? argv[1] : "";
	char fqdn[256];
	bool yes = false;
	PGconn *db;
	int npos, rc;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 2, &npos) == -1)
		return ctl_usage("content");
	if ((rc = content_args(sub, npos, pos, fqdn, &yes)) != EXIT_OK)
		return rc;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(sub, "list") == 0)
		rc = model_list(ctl, db, list_sql, 0, NULL, "list content");
	else if (strcmp(sub, "requests") == 0)
		rc = model_list(ctl, db, requests_sql, 0, NULL,
		    "list distribution requests");
	else if (strcmp(sub, "on-demand") == 0)
		rc = content_on_demand(db, pos[0], yes);
	else
		rc = content_put(db, strcmp(sub, "add") == 0, fqdn, pos[1]);
	PQfinish(db);
	return rc;
}
