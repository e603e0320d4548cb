/*
 * location_db.c - load the boundary model from the site database into the
 * location engine's builder, one table at a time inside one snapshot
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location_db.h"
#include "util/db.h"

/* The builder, and the minutes of the owner whose rows are being read
 * (rows of a site's or a link's fallback times come together). */
struct load {
	struct loc_builder *b;
	int pending[LOC_NROLES];
};

/* One query and what to do with each of its rows. */
struct load_step {
	const char *what;
	const char *sql;
	void (*row)(struct load *l, PGresult *res, int i);
};

static const char *
col(PGresult *res, int i, int c)
{
	return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

static bool
yes(PGresult *res, int i, int c)
{
	return strcmp(PQgetvalue(res, i, c), "t") == 0;
}

static void
row_site(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_add_site(b, col(res, i, 0));
}

/* Whether rows i and j (either may be out of range) differ in the first
 * keys columns, those that name the owner. */
static bool
owner_changes(PGresult *res, int i, int j, int keys)
{
	if (i < 0 || j >= PQntuples(res))
		return true;
	for (int c = 0; c < keys; c++)
		if (strcmp(PQgetvalue(res, i, c), PQgetvalue(res, j, c)))
			return true;
	return false;
}

/*
 * Rows (owner..., role, minutes) come sorted by their owner, named by
 * the first keys columns; take row i's minutes (NULL: never); true once
 * the owner's last row is taken
 */
static bool
take_minutes(struct load *l, PGresult *res, int i, int keys)
{
	const char *m = col(res, i, keys + 1);
	enum loc_role r;

	if (owner_changes(res, i - 1, i, keys))
		loc_fallback_defaults(l->pending);
	if (loc_role_parse(PQgetvalue(res, i, keys), &r) == 0)
		l->pending[r] = m == NULL ? LOC_NEVER : atoi(m);
	return owner_changes(res, i, i + 1, keys);
}

static void
row_default_behavior(struct load *l, PGresult *res, int i)
{
	if (take_minutes(l, res, i, 1))
		loc_set_default_behavior(l->b, col(res, i, 0), l->pending);
}

static void
row_group(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	struct loc_group_opts o = { yes(res, i, 3), yes(res, i, 4),
		yes(res, i, 5), yes(res, i, 6) };

	if (col(res, i, 2) == NULL)
		loc_add_group(b, col(res, i, 0), col(res, i, 1));
	loc_set_group_opts(b, col(res, i, 0), &o);
}

static void
row_boundary(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	const char *type = PQgetvalue(res, i, 1), *v = col(res, i, 2);

	if (strcmp(type, "subnet") == 0)
		loc_add_boundary(b, col(res, i, 0), LOC_B_SUBNET, v);
	else if (strcmp(type, "ipv6") == 0)
		loc_add_boundary(b, col(res, i, 0), LOC_B_IPV6, v);
	else if (strcmp(type, "range") == 0)
		loc_add_boundary(b, col(res, i, 0), LOC_B_RANGE, v);
	else if (strcmp(type, "adsite") == 0)
		loc_add_boundary(b, col(res, i, 0), LOC_B_ADSITE, v);
	else
		loc_add_vpn_boundary(b, col(res, i, 0), v,
		    strcmp(PQgetvalue(res, i, 4), "description") == 0
		        ? LOC_VPN_DESCRIPTION
		        : LOC_VPN_NAME,
		    strcmp(PQgetvalue(res, i, 3), "prefix") == 0
		        ? LOC_VPN_PREFIX
		        : LOC_VPN_EXACT);
}

static void
row_member(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_add_member(b, col(res, i, 0), col(res, i, 1));
}

static void
row_server(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	enum loc_role r;
	unsigned roles = 0;
	char *list = strdup(PQgetvalue(res, i, 2)), *save = NULL;

	if (list == NULL)
		abort();
	for (char *t = strtok_r(list, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save))
		if (loc_role_parse(t, &r) == 0)
			roles |= LOC_ROLE_BIT(r);
	free(list);
	loc_add_server(b, col(res, i, 0), col(res, i, 1), roles);
}

static void
row_group_server(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_add_group_server(b, col(res, i, 0), col(res, i, 1));
}

static void
row_content(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_add_content(b, col(res, i, 0), col(res, i, 1));
}

static void
row_on_demand(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_set_on_demand(b, col(res, i, 0));
}

static void
row_link(struct load *l, PGresult *res, int i)
{
	if (take_minutes(l, res, i, 2))
		loc_add_link(l->b, col(res, i, 0), col(res, i, 1), l->pending);
}

static void
row_setting(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_set_prefer_bg_mps(b, yes(res, i, 0));
}

static void
row_peer(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_add_peer(b, col(res, i, 0), col(res, i, 1));
}

static void
row_peer_content(struct load *l, PGresult *res, int i)
{
	struct loc_builder *b = l->b;

	loc_add_peer_content(b, col(res, i, 0), col(res, i, 1));
}

static const struct load_step steps[] = {
	{ "sites", "SELECT code FROM site ORDER BY code", row_site },
	{ "default behavior",
	    "SELECT site_code, role, minutes FROM site_default_fallback "
	    "ORDER BY site_code, role",
	    row_default_behavior },
	{ "boundary groups",
	    "SELECT name, site_code, default_of_site, allow_peers, "
	    "peers_same_subnet_only, prefer_dp_over_peers, prefer_cloud "
	    "FROM boundary_group ORDER BY id",
	    row_group },
	{ "boundaries",
	    "SELECT name, type, CASE type WHEN 'range' THEN host(range_start) "
	    "|| '-' || host(range_end) WHEN 'subnet' THEN prefix::text "
	    "WHEN 'ipv6' THEN prefix::text ELSE match_text END, "
	    "coalesce(vpn_match, ''), coalesce(vpn_field, '') "
	    "FROM boundary ORDER BY id",
	    row_boundary },
	{ "boundary group members",
	    "SELECT g.name, b.name FROM boundary_group_member m "
	    "JOIN boundary_group g ON g.id = m.group_id "
	    "JOIN boundary b ON b.id = m.boundary_id",
	    row_member },
	{ "servers",
	    "SELECT s.fqdn, s.site_code, "
	    "coalesce(string_agg(r.role, ','), '') FROM site_server s "
	    "LEFT JOIN site_server_role r ON r.server_id = s.id "
	    "GROUP BY s.id ORDER BY s.id",
	    row_server },
	{ "group servers",
	    "SELECT g.name, s.fqdn FROM boundary_group_server x "
	    "JOIN boundary_group g ON g.id = x.group_id "
	    "JOIN site_server s ON s.id = x.server_id",
	    row_group_server },
	{ "content",
	    "SELECT s.fqdn, c.content_id FROM dp_content c "
	    "JOIN site_server s ON s.id = c.server_id",
	    row_content },
	{ "on-demand content", "SELECT content_id FROM content_on_demand",
	    row_on_demand },
	{ "relationships",
	    "SELECT f.name, t.name, x.role, x.minutes "
	    "FROM boundary_group_link_fallback x "
	    "JOIN boundary_group f ON f.id = x.from_group "
	    "JOIN boundary_group t ON t.id = x.to_group "
	    "ORDER BY f.name, t.name, x.role",
	    row_link },
	{ "hierarchy settings", "SELECT prefer_bg_mps FROM hierarchy_setting",
	    row_setting },
	{ "peer cache sources",
	    "SELECT client, host(address) || '/' || masklen(address) "
	    "FROM peer_cache_source ORDER BY id",
	    row_peer },
	{ "peer content",
	    "SELECT p.client, c.content_id FROM peer_content c "
	    "JOIN peer_cache_source p ON p.id = c.peer_id",
	    row_peer_content },
};

static int
run_steps(PGconn *db, struct loc_builder *b, char *why, size_t len)
{
	struct load l = { .b = b };

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		PGresult *res = db_exec(db, steps[s].sql, 0, NULL);

		if (res == NULL) {
			snprintf(why, len, "reading %s: %s", steps[s].what,
			    db_error());
			return -1;
		}
		for (int i = 0; i < PQntuples(res); i++)
			steps[s].row(&l, res, i);
		PQclear(res);
		if (loc_builder_error(b) != NULL) {
			snprintf(why, len, "%s: %s", steps[s].what,
			    loc_builder_error(b));
			return -1;
		}
	}
	return 0;
}

struct loc_model *
loc_db_load(PGconn *db, char *why, size_t len)
{
	struct loc_builder *b = loc_builder_new();
	int rc;

	if (b == NULL) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (db_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0,
	        NULL) == -1) {
		snprintf(why, len, "%s", db_error());
		loc_builder_free(b);
		return NULL;
	}
	rc = run_steps(db, b, why, len);
	if (db_cmd(db, rc == 0 ? "COMMIT" : "ROLLBACK", 0, NULL) == -1 &&
	    rc == 0) {
		snprintf(why, len, "%s", db_error());
		rc = -1;
	}
	if (rc == -1) {
		loc_builder_free(b);
		return NULL;
	}
	return loc_freeze(b, why, len);
}

int
loc_db_record_distributions(PGconn *db, const struct loc_answer *ans,
    const char *client, char *why, size_t len)
{
	for (size_t i = 0; i < ans->ndist; i++) {
		const char *p[3] = { ans->dist[i].content, ans->dist[i].server,
			client ? client : "" };

		if (db_cmd(db,
		        "INSERT INTO content_distribution_request "
		        "(content_id, server_id, client) "
		        "SELECT $1, id, $3 FROM site_server WHERE fqdn = $2 "
		        "ON CONFLICT (content_id, server_id) DO UPDATE "
		        "SET last = now(), count = "
		        "content_distribution_request.count + 1, "
		        "client = EXCLUDED.client",
		        3, p) == -1) {
			snprintf(why, len,
			    "recording a distribution of %s to "
			    "%s: %s",
			    p[0], p[1], db_error());
			return -1;
		}
	}
	return 0;
}
