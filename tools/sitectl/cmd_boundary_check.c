/* cmd_boundary_check.c - sitectl boundary check: the model's loose ends */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "util/db.h"
#include "util/sjson.h"

/* A boundary's addresses as one IPv4 interval (subnets and ranges). */
#define LO(b)                                                                  \
	"CASE " b ".type WHEN 'range' THEN " b ".range_start "                 \
	"ELSE set_masklen(" b ".prefix::inet, 32) END"
#define HI(b)                                                                  \
	"CASE " b ".type WHEN 'range' THEN " b ".range_end "                   \
	"ELSE set_masklen(broadcast(" b ".prefix), 32) END"

/*
 * Boundaries (the same one, or two that a client can be in at once) in
 * groups that assign different sites: IPv4 subnets and ranges whose
 * addresses meet, and VPN boundaries of one field where one's text equals
 * or, matched as a prefix, starts the other's.
 */
static const char overlap_sql[] =
    "WITH bs AS (SELECT b.*, g.name AS gname, g.site_code AS site "
    "  FROM boundary b JOIN boundary_group_member m ON m.boundary_id = b.id "
    "  JOIN boundary_group g ON g.id = m.group_id "
    "  WHERE g.site_code IS NOT NULL) "
    "SELECT a.name AS boundary, a.gname AS boundary_group, a.site, "
    "  c.name AS other_boundary, c.gname AS other_group, c.site AS other_site "
    "FROM bs a JOIN bs c ON a.site < c.site AND (a.id = c.id "
    "  OR (a.type IN ('subnet', 'range') AND c.type IN ('subnet', 'range') "
    "      AND (" LO("a") ") <= (" HI(
        "c") ") "
             "      AND (" LO("c") ") <= (" HI(
                 "a") ")) "
                      "  OR (a.type = 'vpn' AND c.type = 'vpn' AND a.vpn_field "
                      "= c.vpn_field "
                      "      AND (lower(a.match_text) = lower(c.match_text) "
                      "        OR (a.vpn_match = 'prefix' AND "
                      "            starts_with(lower(c.match_text), "
                      "lower(a.match_text))) "
                      "        OR (c.vpn_match = 'prefix' AND "
                      "            starts_with(lower(a.match_text), "
                      "lower(c.match_text)))))) "
                      "ORDER BY 1, 2, 4, 5";

/* Groups with no boundaries that are no site's default and no link's
 * target: no client is ever in them. */
static const char unreachable_sql[] =
    "SELECT g.name AS boundary_group FROM boundary_group g "
    "WHERE g.default_of_site IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM boundary_group_member m "
    "  WHERE m.group_id = g.id) "
    "AND NOT EXISTS (SELECT 1 FROM boundary_group_link l "
    "  WHERE l.to_group = g.id) ORDER BY 1";

/* A link cannot name a missing group (foreign keys): links that lead to a
 * group without servers lead nowhere instead. */
static const char dead_link_sql[] =
    "SELECT f.name AS from_group, t.name AS to_group "
    "FROM boundary_group_link l JOIN boundary_group f ON f.id = l.from_group "
    "JOIN boundary_group t ON t.id = l.to_group "
    "WHERE NOT EXISTS (SELECT 1 FROM boundary_group_server s "
    "  WHERE s.group_id = l.to_group) ORDER BY 1, 2";

/* Distribution points and peer cache sources that hold no content. */
static const char empty_source_sql[] =
    "SELECT 'server' AS kind, s.fqdn AS source FROM site_server s "
    "WHERE EXISTS (SELECT 1 FROM site_server_role r WHERE r.server_id = s.id "
    "  AND r.role IN ('dp', 'clouddp')) "
    "AND NOT EXISTS (SELECT 1 FROM dp_content c WHERE c.server_id = s.id) "
    "UNION ALL SELECT 'peer', p.client FROM peer_cache_source p "
    "WHERE NOT EXISTS (SELECT 1 FROM peer_content c WHERE c.peer_id = p.id) "
    "ORDER BY 1, 2";

static const struct finding {
	const char *key, *sql;
} findings[] = {
	{ "overlaps", overlap_sql },
	{ "unreachable_groups", unreachable_sql },
	{ "links_to_groups_without_servers", dead_link_sql },
	{ "sources_without_content", empty_source_sql },
};

#define NFINDINGS (sizeof(findings) / sizeof(findings[0]))

/* One finding as a person reads it. */
static void
print_finding(size_t f, PGresult *res, int i)
{
	const char *v[6] = { 0 };

	for (int k = 0; k < PQnfields(res) && k < 6; k++)
		v[k] = PQgetvalue(res, i, k);
	if (f == 0)
		printf("overlap: boundary \"%s\" in group \"%s\" (site %s) "
		       "and boundary \"%s\" in group \"%s\" (site %s) "
		       "assign different sites\n",
		    ctl_text(v[0]), ctl_text(v[1]), ctl_text(v[2]),
		    ctl_text(v[3]), ctl_text(v[4]), ctl_text(v[5]));
	else if (f == 1)
		printf("unreachable: boundary group \"%s\" has no boundaries, "
		       "is no site's default and no group links to it\n",
		    ctl_text(v[0]));
	else if (f == 2)
		printf("link to a group without servers: \"%s\" -> \"%s\" "
		       "(links to missing groups cannot exist)\n",
		    ctl_text(v[0]), ctl_text(v[1]));
	else
		printf("no content: %s %s holds no content\n",
		    strcmp(v[0], "peer") == 0 ? "peer cache source"
		                              : "distribution point",
		    ctl_text(v[1]));
}

int
boundary_check(struct ctl *ctl, PGconn *db)
{
	json_t *doc = json_object();
	size_t total = 0;

	for (size_t f = 0; f < NFINDINGS; f++) {
		PGresult *res = db_exec(db, findings[f].sql, 0, NULL);

		if (res == NULL) {
			json_decref(doc);
			return model_dberr("check the boundary model");
		}
		sjson_set(doc, findings[f].key, model_rows_json(res));
		for (int i = 0; !ctl->json && i < PQntuples(res); i++)
			print_finding(f, res, i);
		total += (size_t)PQntuples(res);
		PQclear(res);
	}
	sjson_set(doc, "findings", json_integer((json_int_t)total));
	if (ctl->json)
		ctl_json(doc);
	else if (total == 0)
		printf("boundary check: no findings\n");
	else
		printf("boundary check: %zu finding%s\n", total,
		    total == 1 ? "" : "s");
	json_decref(doc);
	return total == 0 ? EXIT_OK : EXIT_FAIL;
}
