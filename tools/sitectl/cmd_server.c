/* cmd_server.c - sitectl server: site system servers and their roles */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/buf.h"
#include "util/db.h"

#define FIND_SERVER "SELECT id FROM site_server WHERE fqdn = $1"

/* Every server with its site, roles (in their order), groups and how
 * much content, then tail ("WHERE ..." or "ORDER BY ..."), into b. */
static void
server_query(struct buf *b, const char *tail)
{
	buf_adds(b,
	    "SELECT s.fqdn, s.site_code AS site, coalesce((SELECT "
	    "json_agg(r.role ORDER BY array_position(");
	model_roles_array(b);
	buf_adds(b,
	    ", r.role::text)) FROM site_server_role r "
	    "WHERE r.server_id = s.id), '[]') AS roles, "
	    "coalesce((SELECT json_agg(g.name ORDER BY g.name) "
	    "FROM boundary_group_server gs JOIN boundary_group g "
	    "ON g.id = gs.group_id WHERE gs.server_id = s.id), '[]') "
	    "AS boundary_groups, (SELECT count(*) FROM dp_content c "
	    "WHERE c.server_id = s.id) AS content FROM site_server s ");
	buf_adds(b, tail);
}

/* A server to add or change. */
struct server {
	const char *fqdn, *site; /* site NULL: unchanged */
	bool roles_given, role[LOC_NROLES];
	char id[16];
};

/* Replace the roles of s->id; refuse to drop the last distribution point
 * role of a server that holds content. */
static int
roles_write(PGconn *db, const struct server *s)
{
	const char *p[2] = { s->id };

	if (!s->role[LOC_DP] && !s->role[LOC_CLOUDDP]) {
		char any[16];

		if (model_find(db,
		        "SELECT 1 FROM dp_content WHERE server_id = $1 LIMIT 1",
		        s->id, NULL, any, sizeof(any)) == 0) {
			ctl_err(
			    "server %s holds content: remove it "
			    "(sitectl content remove) before its distribution "
			    "point role",
			    s->fqdn);
			return EXIT_FAIL;
		}
	}
	if (db_cmd(db, "DELETE FROM site_server_role WHERE server_id = $1", 1,
	        p) == -1)
		return model_dberr("change the roles");
	for (int r = 0; r < LOC_NROLES; r++) {
		p[1] = loc_role_name((enum loc_role)r);
		if (s->role[r] &&
		    db_cmd(db,
		        "INSERT INTO site_server_role (server_id, role) "
		        "VALUES ($1, $2)",
		        2, p) == -1)
			return model_dberr("add the role");
	}
	return EXIT_OK;
}

static int
server_write(PGconn *db, void *arg)
{
	struct server *s = arg;
	const char *p[3] = { s->fqdn, s->site };

	if (s->id[0] == '\0') {
		PGresult *res = db_exec(db,
		    "INSERT INTO site_server (fqdn, site_code) VALUES ($1, $2) "
		    "RETURNING id",
		    2, p);
		if (res == NULL)
			return model_dberr("add the server");
		snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	} else if (s->site != NULL) {
		p[0] = s->id;
		if (db_cmd(db,
		        "UPDATE site_server SET site_code = $2 WHERE id = $1",
		        2, p) == -1)
			return model_dberr("change the server's site");
	}
	return s->roles_given ? roles_write(db, s) : EXIT_OK;
}

static int
server_save(PGconn *db, struct server *s, bool add)
{
	char code[8];
	int rc;

	if (s->site != NULL &&
	    model_find(db, "SELECT code FROM site WHERE code = $1", s->site,
	        "site", code, sizeof(code)) != 0)
		return EXIT_FAIL;
	rc = model_find(db, FIND_SERVER, s->fqdn, add ? NULL : "server", s->id,
	    sizeof(s->id));
	if (add && rc == 0) {
		ctl_err("server %s already exists", s->fqdn);
		return EXIT_FAIL;
	}
	if (rc == -1 || (!add && rc == 1))
		return EXIT_FAIL;
	if (add)
		s->id[0] = '\0';
	if ((rc = model_tx(db, server_write, s)) == EXIT_OK)
		printf("%s server %s\n", add ? "added" : "changed", s->fqdn);
	return rc;
}

static int
server_remove(PGconn *db, const char *fqdn)
{
	PGresult *res = db_exec(db,
	    "DELETE FROM site_server WHERE fqdn = $1 RETURNING id", 1, &fqdn);
	int n;

	if (res == NULL)
		return model_dberr("remove the server");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err("no server \"%s\"", fqdn);
		return EXIT_FAIL;
	}
	printf("removed server %s\n", fqdn);
	return EXIT_OK;
}

/* sitectl server list, or show fqdn (non-NULL); an exit status. */
static int
server_list(struct ctl *ctl, PGconn *db, const char *fqdn)
{
	struct buf sql = { 0 };
	int rc;

	server_query(&sql, fqdn ? "WHERE s.fqdn = $1" : "ORDER BY s.fqdn");
	rc = fqdn ? model_show(ctl, db, sql.p, fqdn, "server")
	          : model_list(ctl, db, sql.p, 0, NULL, "list servers");
	buf_free(&sql);
	return rc;
}

/* Check what needs no database; an exit status. */
static int
server_args(const char *sub, int npos, const char **vals, struct server *s,
    char site[4])
{
	bool add = strcmp(sub, "add") == 0, set = strcmp(sub, "set") == 0;

	if (npos != (strcmp(sub, "list") == 0 ? 0 : 1) ||
	    (!add && !set && (vals[0] || vals[1])))
		return ctl_usage("server");
	if (add && (vals[0] == NULL || vals[1] == NULL)) {
		ctl_err("server add needs --site CODE and "
		        "--role ROLE");
		return ctl_usage("server");
	}
	if (vals[0]) {
		if (model_site(vals[0], site) == -1)
			return EXIT_USAGE;
		s->site = site;
	}
	if (vals[1]) {
		s->roles_given = true;
		if (model_roles_parse(vals[1], s->role) == -1)
			return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
cmd_server(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "site=", "role=+", NULL };
	static const char *const subs[] = { "add", "set", "list", "show",
		"remove", NULL };
	const char *vals[2], *pos[1], *sub = argc > 1 ? argv[1] : "";
	struct server s = { 0 };
	char site[4], fqdn[256];
	PGconn *db;
	int npos, rc, i = 0;

	while (subs[i] != NULL && strcmp(subs[i], sub) != 0)
		i++;
	if (subs[i] == NULL ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 1, &npos) == -1)
		return ctl_usage("server");
	if ((rc = server_args(sub, npos, vals, &s, site)) != EXIT_OK)
		return rc;
	if (npos == 1 && model_fqdn(pos[0], fqdn, sizeof(fqdn)) == -1)
		return EXIT_USAGE;
	s.fqdn = fqdn;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0)
		rc = server_list(
		    ctl, db, strcmp(sub, "show") == 0 ? fqdn : NULL);
	else if (strcmp(sub, "remove") == 0)
		rc = server_remove(db, fqdn);
	else
		rc = server_save(db, &s, strcmp(sub, "add") == 0);
	PQfinish(db);
	return rc;
}
