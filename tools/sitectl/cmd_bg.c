/* cmd_bg.c - sitectl bg: boundary groups, their boundaries and servers */
#include <stdio.h>
#include <string.h>

#include "location/location.h"
#include "model.h"
#include "sitectl.h"
#include "util/db.h"

#define FIND_BG "SELECT id FROM boundary_group WHERE name = $1"
#define FIND_DEFAULT                                                           \
	"SELECT default_of_site FROM boundary_group WHERE name = $1 "          \
	"AND default_of_site IS NOT NULL"
#define FIND_BOUNDARY "SELECT id FROM boundary WHERE name = $1"
#define FIND_SERVER "SELECT id FROM site_server WHERE fqdn = $1"

/* Every group with its site, options and how much it holds. */
#define LIST_SQL                                                               \
	"SELECT g.name, g.site_code AS site, g.default_of_site IS NOT NULL "   \
	"AS site_default, g.allow_peers, g.peers_same_subnet_only, "           \
	"g.prefer_dp_over_peers, g.prefer_cloud, "                             \
	"(SELECT count(*) FROM boundary_group_member m "                       \
	"WHERE m.group_id = g.id) AS boundaries, "                             \
	"(SELECT count(*) FROM boundary_group_server s "                       \
	"WHERE s.group_id = g.id) AS servers FROM boundary_group g "

/* One group whole: what it holds and its relationships. */
static const char show_sql[] =
    "SELECT g.name, g.description, g.site_code AS site, g.default_of_site "
    "IS NOT NULL AS site_default, g.allow_peers, g.peers_same_subnet_only, "
    "g.prefer_dp_over_peers, g.prefer_cloud, "
    "coalesce((SELECT json_agg(b.name ORDER BY b.name) FROM "
    "  boundary_group_member m JOIN boundary b ON b.id = m.boundary_id "
    "  WHERE m.group_id = g.id), '[]') AS boundaries, "
    "coalesce((SELECT json_agg(s.fqdn ORDER BY s.fqdn) FROM "
    "  boundary_group_server gs JOIN site_server s ON s.id = gs.server_id "
    "  WHERE gs.group_id = g.id), '[]') AS servers, "
    "coalesce((SELECT json_agg(t.name ORDER BY t.name) FROM "
    "  boundary_group_link l JOIN boundary_group t ON t.id = l.to_group "
    "  WHERE l.from_group = g.id), '[]') AS neighbours, "
    "coalesce((SELECT json_agg(f.name ORDER BY f.name) FROM "
    "  boundary_group_link l JOIN boundary_group f ON f.id = l.from_group "
    "  WHERE l.to_group = g.id), '[]') AS linked_from "
    "FROM boundary_group g WHERE g.name = $1";

static int
bg_add(PGconn *db, const char *name, const char *site, const char *desc)
{
	const char *p[3] = { name, site, desc ? desc : "" };
	char id[16];
	int rc;

	if (site != NULL &&
	    (rc = model_find(db, "SELECT code FROM site WHERE code = $1", site,
	         "site", id, sizeof(id))) != 0)
		return EXIT_FAIL;
	if ((rc = model_find(db, FIND_BG, name, NULL, id, sizeof(id))) != 1) {
		if (rc == 0)
			ctl_err("boundary group \"%s\" already exists", name);
		return EXIT_FAIL;
	}
	if (db_cmd(db,
	        "INSERT INTO boundary_group (name, site_code, description) "
	        "VALUES ($1, $2, $3)",
	        3, p) == -1)
		return model_dberr("add the boundary group");
	printf("added boundary group %s\n", ctl_text(name));
	return EXIT_OK;
}

/* Options of bg add and bg set, in spec order. */
enum { O_SITE, O_DESC, O_NAME, O_PEERS, O_SUBNET, O_PREFDP, O_CLOUD, O_N };

static int
bg_set(PGconn *db, const char *name, const char **v)
{
	const char *p[O_N + 1] = { name };
	char id[16], site[8];

	for (int i = 0; i < O_N; i++)
		p[i + 1] = v[i];
	if (model_find(db, FIND_BG, name, "boundary group", id, sizeof(id)) !=
	    0)
		return EXIT_FAIL;
	if (v[O_SITE] &&
	    model_find(db, FIND_DEFAULT, name, NULL, site, sizeof(site)) == 0) {
		ctl_err("boundary group \"%s\" is the default group of "
		        "site %s: its site cannot change",
		    name, site);
		return EXIT_FAIL;
	}
	if (v[O_SITE] && strcmp(v[O_SITE], "none") != 0 &&
	    model_find(db, "SELECT code FROM site WHERE code = $1", v[O_SITE],
	        "site", id, sizeof(id)) != 0)
		return EXIT_FAIL;
	if (db_cmd(db,
	        "UPDATE boundary_group SET "
	        "site_code = CASE WHEN $2::text IS NULL THEN site_code "
	        "  WHEN $2 = 'none' THEN NULL ELSE $2 END, "
	        "description = coalesce($3, description), "
	        "name = coalesce($4, name), "
	        "allow_peers = coalesce($5::boolean, allow_peers), "
	        "peers_same_subnet_only = coalesce($6::boolean, "
	        "  peers_same_subnet_only), "
	        "prefer_dp_over_peers = coalesce($7::boolean, "
	        "  prefer_dp_over_peers), "
	        "prefer_cloud = coalesce($8::boolean, prefer_cloud) "
	        "WHERE name = $1",
	        O_N + 1, p) == -1) {
		if (strstr(db_error(), "boundary_group_peer_options"))
			ctl_err(
			    "boundary group \"%s\": only peers in the "
			    "same subnet and prefer distribution points over "
			    "peers need peer downloads allowed: turn them off "
			    "with peer downloads, or allow peer downloads",
			    name);
		else if (strstr(db_error(), "boundary_group_default_name"))
			ctl_err("boundary group \"%s\" is a site's "
			        "default "
			        "group: its name cannot change",
			    name);
		else if (strstr(db_error(), "boundary_group_name_key"))
			ctl_err(
			    "boundary group \"%s\" already exists", v[O_NAME]);
		else
			return model_dberr("change the boundary group");
		return EXIT_FAIL;
	}
	printf("changed boundary group %s\n",
	    ctl_text(v[O_NAME] ? v[O_NAME] : name));
	return EXIT_OK;
}

static int
bg_remove(PGconn *db, const char *name)
{
	char id[16], site[8];

	if (model_find(db, FIND_BG, name, "boundary group", id, sizeof(id)) !=
	    0)
		return EXIT_FAIL;
	if (model_find(db, FIND_DEFAULT, name, NULL, site, sizeof(site)) == 0) {
		ctl_err("boundary group \"%s\" is the default group of "
		        "site %s: it goes only with its site",
		    name, site);
		return EXIT_FAIL;
	}
	if (db_cmd(db, "DELETE FROM boundary_group WHERE name = $1", 1,
	        &name) == -1)
		return model_dberr("remove the boundary group");
	printf("removed boundary group %s\n", ctl_text(name));
	return EXIT_OK;
}

/* What bg add-/remove-boundary and -server act on. */
struct member {
	const char *table, *column, *find, *what;
};

static const struct member boundary_member = { "boundary_group_member",
	"boundary_id", FIND_BOUNDARY, "boundary" };
static const struct member server_member = { "boundary_group_server",
	"server_id", FIND_SERVER, "server" };

static int
bg_member(PGconn *db, const struct member *m, bool add, const char *bg,
    const char *key)
{
	char gid[16], oid[16], site[8], sql[256];
	const char *p[2] = { gid, oid };
	PGresult *res;
	int n;

	if (model_find(db, FIND_BG, bg, "boundary group", gid, sizeof(gid)) !=
	        0 ||
	    model_find(db, m->find, key, m->what, oid, sizeof(oid)) != 0)
		return EXIT_FAIL;
	if (add && m == &boundary_member &&
	    model_find(db, FIND_DEFAULT, bg, NULL, site, sizeof(site)) == 0) {
		ctl_err(
		    "boundary group \"%s\" is a site's default group: "
		    "it holds the clients outside every boundary and takes no "
		    "boundaries",
		    bg);
		return EXIT_FAIL;
	}
	snprintf(sql, sizeof(sql),
	    add ? "INSERT INTO %s (group_id, %s) VALUES ($1, $2) "
	          "ON CONFLICT DO NOTHING RETURNING 1"
	        : "DELETE FROM %s WHERE group_id = $1 AND %s = $2 RETURNING 1",
	    m->table, m->column);
	if ((res = db_exec(db, sql, 2, p)) == NULL)
		return model_dberr(add ? "add to the group" : "remove it");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err("%s \"%s\" is %s group \"%s\"", m->what, key,
		    add ? "already in" : "not in", bg);
		return EXIT_FAIL;
	}
	printf("%s %s %s %s %s\n", add ? "added" : "removed", m->what,
	    ctl_text(key), add ? "to" : "from", ctl_text(bg));
	return EXIT_OK;
}

/* Whether name is in the sites' default groups' namespace. */
static bool
is_default_name(const char *name)
{
	return strncmp(name, LOC_DEFAULT_GROUP_PREFIX,
	           sizeof(LOC_DEFAULT_GROUP_PREFIX) - 1) == 0;
}

/* Check what needs no database; an exit status. */
static int
bg_args(const char *sub, int npos, const char **pos, const char **v,
    char site[4], char fqdn[256])
{
	bool add = strcmp(sub, "add") == 0, set = strcmp(sub, "set") == 0;
	int want = strcmp(sub, "list") == 0 ? 0 : strchr(sub, '-') ? 2 : 1;
	bool b;

	if (npos != want)
		return ctl_usage("bg");
	for (int i = add ? O_NAME : set ? O_N : 0; i < O_N; i++)
		if (v[i] != NULL)
			return ctl_usage("bg");
	if ((add && model_name("a boundary group name", pos[0]) == -1) ||
	    (v[O_NAME] && model_name("a boundary group name", v[O_NAME]))) {
		return EXIT_USAGE;
	}
	if ((add && is_default_name(pos[0])) ||
	    (v[O_NAME] && is_default_name(v[O_NAME]))) {
		ctl_err("names that begin with " LOC_DEFAULT_GROUP_PREFIX
		        " are the sites' default groups'");
		return EXIT_USAGE;
	}
	if (v[O_DESC] && model_text("a description", v[O_DESC], 1024) == -1)
		return EXIT_USAGE;
	if (v[O_SITE] && strcmp(v[O_SITE], "none") != 0) {
		if (model_site(v[O_SITE], site) == -1)
			return EXIT_USAGE;
		v[O_SITE] = site;
	}
	for (int i = O_PEERS; i < O_N; i++) {
		static const char *const opt[] = { "--allow-peers",
			"--same-subnet-only", "--prefer-dp", "--prefer-cloud" };

		if (v[i] && model_yesno(opt[i - O_PEERS], v[i], &b) == -1)
			return EXIT_USAGE;
	}
	if (strstr(sub, "-server") && model_fqdn(pos[1], fqdn, 256) == -1)
		return EXIT_USAGE;
	return EXIT_OK;
}

/* The subcommands of bg that take a group's relationships. */
static int
bg_links(struct ctl *ctl, const char *sub, int argc, char **argv)
{
	static const char *const spec[] = { "fallback=+", "site-default=<",
		NULL };
	const char *vals[2], *pos[2];
	char names[2][LOC_DEFAULT_GROUP_MAX];
	unsigned groups = strcmp(sub, "default-behavior") == 0 ? 0
	    : strcmp(sub, "links") == 0                        ? 1
	                                                       : 3;
	int npos, rc;

	if (ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 2, &npos) == -1)
		return ctl_usage("bg");
	if ((rc = model_site_defaults(ctl, sub, groups, npos, pos, names)) !=
	    EXIT_OK)
		return rc;
	if (strcmp(sub, "link") == 0 && npos == 2)
		return bg_link(ctl, pos[0], pos[1], vals[0]);
	if (strcmp(sub, "unlink") == 0 && npos == 2 && vals[0] == NULL)
		return bg_unlink(ctl, pos[0], pos[1]);
	if (strcmp(sub, "links") == 0 && npos <= 1 && vals[0] == NULL)
		return bg_links_list(ctl, npos ? pos[0] : NULL);
	if (strcmp(sub, "default-behavior") == 0 && npos == 1)
		return bg_default_behavior(ctl, pos[0], vals[0]);
	return ctl_usage("bg");
}

static int
bg_run(struct ctl *ctl, PGconn *db, const char *sub, const char **pos,
    const char **v)
{
	if (strcmp(sub, "add") == 0)
		return bg_add(db, pos[0], v[O_SITE], v[O_DESC]);
	if (strcmp(sub, "set") == 0)
		return bg_set(db, pos[0], v);
	if (strcmp(sub, "remove") == 0)
		return bg_remove(db, pos[0]);
	if (strcmp(sub, "list") == 0)
		return model_list(ctl, db, LIST_SQL "ORDER BY g.name", 0, NULL,
		    "list boundary groups");
	if (strcmp(sub, "show") == 0)
		return model_show(ctl, db, show_sql, pos[0], "boundary group");
	return bg_member(db,
	    strstr(sub, "-server") ? &server_member : &boundary_member,
	    strncmp(sub, "add", 3) == 0, pos[0], pos[1]);
}

int
cmd_bg(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "site=", "description=", "name=",
		"allow-peers=", "same-subnet-only=", "prefer-dp=",
		"prefer-cloud=", "site-default=<", NULL };
	static const char *const subs[] = { "add", "set", "list", "show",
		"remove", "add-boundary", "remove-boundary", "add-server",
		"remove-server", NULL };
	const char *v[O_N + 1], *pos[2], *sub = argc > 1 ? argv[1] : "";
	char site[4], fqdn[256], names[2][LOC_DEFAULT_GROUP_MAX];
	PGconn *db;
	int npos, rc, s = 0;

	if (strcmp(sub, "link") == 0 || strcmp(sub, "unlink") == 0 ||
	    strcmp(sub, "links") == 0 || strcmp(sub, "default-behavior") == 0)
		return bg_links(ctl, sub, argc, argv);
	while (subs[s] != NULL && strcmp(subs[s], sub) != 0)
		s++;
	if (subs[s] == NULL ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, v, pos, 2, &npos) == -1)
		return ctl_usage("bg");
	/* --site-default may name the group in the first place, but not the
	 * new group of bg add */
	if ((rc = model_site_defaults(ctl, sub, strcmp(sub, "add") != 0, npos,
	         pos, names)) != EXIT_OK ||
	    (rc = bg_args(sub, npos, pos, v, site, fqdn)) != EXIT_OK)
		return rc;
	if (strstr(sub, "-server"))
		pos[1] = fqdn;
	if (v[O_PEERS] || v[O_SUBNET] || v[O_PREFDP] || v[O_CLOUD])
		for (int i = O_PEERS; i < O_N; i++)
			if (v[i])
				v[i] = v[i][0] == 'y' ? "true" : "false";
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	rc = bg_run(ctl, db, sub, pos, v);
	PQfinish(db);
	return rc;
}
