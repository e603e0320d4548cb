/*
 * cmd_role.c - sitectl role: which server holds which site system role,
 * as the administrator installs them (seed 000). A server's intranet and
 * internet FQDNs say how clients reach it, and its allowed client
 * connections follow from them. The roles boundary groups place are kept
 * in site_server_role, the others in site_system_role: the fallback
 * status point with its throttle, and the site server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"

#define FIND_SERVER "SELECT id FROM site_server WHERE fqdn = $1"

/* The ranges of [fsp] throttle_messages and throttle_seconds. */
#define THROTTLE_MESSAGES_MAX 100000000L
#define THROTTLE_SECONDS_MAX 86400L
#define THROTTLE_DEFAULT_MESSAGES "10000"
#define THROTTLE_DEFAULT_SECONDS "3600"

/* Every role of every server, or of the server $1 (tail). */
#define LIST_SQL(tail)                                                         \
	"SELECT s.fqdn AS server, r.role, s.site_code AS site, "               \
	"coalesce(s.intranet_fqdn, '') AS intranet_fqdn, "                     \
	"coalesce(s.internet_fqdn, '') AS internet_fqdn, "                     \
	"CASE WHEN s.internet_fqdn IS NULL THEN 'intranet only' "              \
	"ELSE 'intranet and internet' END AS allowed_connections, "            \
	"r.throttle_messages, r.throttle_seconds, r.forced "                   \
	"FROM site_server s JOIN (SELECT server_id, role::text, "              \
	"NULL::integer AS throttle_messages, NULL::integer AS "                \
	"throttle_seconds, false AS forced FROM site_server_role UNION ALL "   \
	"SELECT server_id, role, throttle_messages, throttle_seconds, forced " \
	"FROM site_system_role) r ON r.server_id = s.id " tail

/* What sitectl role add and remove are asked. */
struct role_req {
	char server[256], site[4], intranet[256], internet[256];
	const char *role; /* "fsp", "site-server" or a boundary group role */
	bool placed; /* a role boundary groups place (site_server_role) */
	bool site_given, intranet_given, internet_given, force;
	const char *messages, *seconds; /* the FSP's throttle */
	char id[16];
};

/* Whether the server of r holds role; -1 on a database error (printed). */
static int
holds(PGconn *db, const struct role_req *r, const char *role)
{
	const char *p[2] = { r->id, role };
	PGresult *res = db_exec(db,
	    "SELECT 1 FROM site_server_role WHERE server_id = $1 AND "
	    "role = $2 UNION ALL SELECT 1 FROM site_system_role WHERE "
	    "server_id = $1 AND role = $2",
	    2, p);
	int n;

	if (res == NULL) {
		model_dberr("read the server's roles");
		return -1;
	}
	n = PQntuples(res) > 0;
	PQclear(res);
	return n;
}

/*
 * A fallback status point takes anonymous HTTP; a management point's
 * clients must use HTTPS. The seed keeps them apart: refused, or with
 * --force warned. EXIT_OK to go on.
 */
static int
https_conflict(PGconn *db, struct role_req *r)
{
	const char *other = strcmp(r->role, "fsp") == 0 ? "mp"
	    : strcmp(r->role, "mp") == 0                ? "fsp"
	                                                : NULL;
	int h;

	if (other == NULL || (h = holds(db, r, other)) == 0)
		return EXIT_OK;
	if (h == -1)
		return EXIT_FAIL;
	if (!r->force) {
		ctl_err("server %s holds the %s role: a fallback status point "
		        "takes anonymous HTTP and may not share a server "
		        "with a management point, whose clients must use "
		        "HTTPS; put it on another server (or give --force)",
		    r->server, other);
		return EXIT_FAIL;
	}
	ctl_err("warning: server %s holds the %s role as well: a fallback "
	        "status point beside a management point is against the "
	        "seed's advice (--force)",
	    r->server, other);
	return EXIT_OK;
}

/* The server of r, added if --site was given; EXIT_OK with r->id set. */
static int
server_find(PGconn *db, struct role_req *r)
{
	const char *p[2] = { r->server, r->site };
	PGresult *res;
	int rc =
	    model_find(db, FIND_SERVER, r->server, NULL, r->id, sizeof(r->id));

	if (rc == -1)
		return EXIT_FAIL;
	if (rc == 0)
		return EXIT_OK;
	if (!r->site_given) {
		ctl_err("no server %s: give --site CODE to add it", r->server);
		return EXIT_FAIL;
	}
	res = db_exec(db,
	    "INSERT INTO site_server (fqdn, site_code) SELECT $1, code "
	    "FROM site WHERE code = $2 RETURNING id",
	    2, p);
	if (res == NULL)
		return model_dberr("add the server");
	rc = PQntuples(res) == 1 ? EXIT_OK : EXIT_FAIL;
	if (rc == EXIT_OK)
		snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(res, 0, 0));
	else
		ctl_err("no site %s", r->site);
	PQclear(res);
	return rc;
}

/* The FQDNs given, onto the server; those not given stay. */
static int
fqdns_write(PGconn *db, const struct role_req *r)
{
	const char *p[3] = { r->id, r->intranet_given ? r->intranet : NULL,
		r->internet_given ? r->internet : NULL };

	if (db_cmd(db,
	        "UPDATE site_server SET intranet_fqdn = coalesce($2, "
	        "intranet_fqdn), internet_fqdn = coalesce($3, internet_fqdn) "
	        "WHERE id = $1",
	        3, p) == -1)
		return model_dberr("set the server's FQDNs");
	return EXIT_OK;
}

static int
role_add_tx(PGconn *db, void *arg)
{
	struct role_req *r = arg;
	const char *p[5] = { NULL, r->role, r->messages, r->seconds,
		r->force ? "true" : "false" };
	int rc;

	if ((rc = server_find(db, r)) != EXIT_OK)
		return rc;
	p[0] = r->id;
	if ((rc = holds(db, r, r->role)) != 0) {
		if (rc == 1)
			ctl_err("server %s already holds the %s role",
			    r->server, r->role);
		return EXIT_FAIL;
	}
	if ((rc = https_conflict(db, r)) != EXIT_OK ||
	    (rc = fqdns_write(db, r)) != EXIT_OK)
		return rc;
	if (r->placed
	        ? db_cmd(db,
	              "INSERT INTO site_server_role (server_id, role) "
	              "VALUES ($1, $2)",
	              2, p) == -1
	        : db_cmd(db,
	              "INSERT INTO site_system_role (server_id, role, "
	              "throttle_messages, throttle_seconds, forced) VALUES "
	              "($1, $2, $3, $4, $5)",
	              5, p) == -1)
		return model_dberr("add the role");
	return EXIT_OK;
}

/* The boundary groups that assign the server of r, comma-separated, into
 * out (empty: none); -1 on a database error (printed). */
static int
groups_of(PGconn *db, const struct role_req *r, char *out, size_t len)
{
	return model_find(db,
	           "SELECT coalesce(string_agg(g.name, ', ' ORDER BY g.name), "
	           "'') FROM boundary_group_server gs JOIN boundary_group g "
	           "ON g.id = gs.group_id WHERE gs.server_id = $1",
	           r->id, NULL, out, len) == -1
	    ? -1
	    : 0;
}

static int
role_remove_tx(PGconn *db, void *arg)
{
	struct role_req *r = arg;
	const char *p[2] = { r->id, r->role };
	char groups[512];
	PGresult *res;
	int n;

	if (model_find(db, FIND_SERVER, r->server, "server", r->id,
	        sizeof(r->id)) != 0)
		return EXIT_FAIL;
	if (r->placed && groups_of(db, r, groups, sizeof(groups)) == -1)
		return EXIT_FAIL;
	if (r->placed && groups[0] != '\0' && holds(db, r, r->role) == 1) {
		ctl_err("boundary groups still assign server %s to their "
		        "clients (%s): remove it from them first (sitectl bg "
		        "remove-server GROUP %s)",
		    r->server, ctl_text(groups), r->server);
		return EXIT_FAIL;
	}
	res = db_exec(db,
	    r->placed ? "DELETE FROM site_server_role WHERE server_id = $1 "
	                "AND role = $2 RETURNING 1"
	              : "DELETE FROM site_system_role WHERE server_id = $1 "
	                "AND role = $2 RETURNING 1",
	    2, p);
	if (res == NULL)
		return model_dberr("remove the role");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err(
		    "server %s does not hold the %s role", r->server, r->role);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* "N" from min to max for option opt; 0, or -1 with why printed. */
static int
check_count(const char *opt, const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < 1 || v > max) {
		ctl_err("--%s: \"%s\" is not a number from 1 to %ld", opt,
		    ctl_text(s), max);
		return -1;
	}
	return 0;
}

/* The role's name and options, checked; EXIT_OK or EXIT_USAGE. */
static int
role_args(const char *role, const char **vals, struct role_req *r)
{
	enum loc_role lr;

	r->role = role;
	r->placed = loc_role_parse(role, &lr) == 0;
	if (!r->placed && strcmp(role, "fsp") != 0 &&
	    strcmp(role, "site-server") != 0) {
		char list[128];

		loc_role_list(list, sizeof(list), ", ", ", ");
		ctl_err("unknown role \"%s\": a site system role is fsp, "
		        "site-server, %s",
		    ctl_text(role), list);
		return EXIT_USAGE;
	}
	if ((vals[0] && model_site(vals[0], r->site) == -1) ||
	    (vals[1] &&
	        model_fqdn(vals[1], r->intranet, sizeof(r->intranet)) == -1) ||
	    (vals[2] &&
	        model_fqdn(vals[2], r->internet, sizeof(r->internet)) == -1))
		return EXIT_USAGE;
	r->site_given = vals[0] != NULL;
	r->intranet_given = vals[1] != NULL;
	r->internet_given = vals[2] != NULL;
	if ((vals[3] || vals[4]) && strcmp(role, "fsp") != 0) {
		ctl_err("--throttle-messages and --throttle-seconds are the "
		        "fallback status point's (role fsp)");
		return EXIT_USAGE;
	}
	if ((vals[3] &&
	        check_count("throttle-messages", vals[3],
	            THROTTLE_MESSAGES_MAX) == -1) ||
	    (vals[4] &&
	        check_count(
	            "throttle-seconds", vals[4], THROTTLE_SECONDS_MAX) == -1))
		return EXIT_USAGE;
	if (strcmp(role, "fsp") == 0) {
		r->messages = vals[3] ? vals[3] : THROTTLE_DEFAULT_MESSAGES;
		r->seconds = vals[4] ? vals[4] : THROTTLE_DEFAULT_SECONDS;
	}
	r->force = vals[5] != NULL;
	return EXIT_OK;
}

/* sitectl role config SERVER: the sitesys.conf lines of its settings. */
static int
role_config(PGconn *db, const char *server)
{
	const char *p[1] = { server };
	PGresult *res = db_exec(db,
	    "SELECT r.throttle_messages, r.throttle_seconds FROM "
	    "site_system_role r JOIN site_server s ON s.id = r.server_id "
	    "WHERE s.fqdn = $1 AND r.role = 'fsp'",
	    1, p);

	if (res == NULL)
		return model_dberr("read the server's roles");
	if (PQntuples(res) == 0) {
		ctl_err("server %s holds no role with settings of the site's "
		        "(only the fsp role has: its throttle)",
		    server);
		PQclear(res);
		return EXIT_FAIL;
	}
	printf("# /etc/sitesys/sitesys.conf of %s: its settings from the "
	       "site (sitectl role)\n[fsp]\nthrottle_messages = %s\n"
	       "throttle_seconds = %s\n",
	    server, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return EXIT_OK;
}

/* add or remove, in one transaction, and say what was done. */
static int
role_change(PGconn *db, struct role_req *r, bool add)
{
	int rc = model_tx(db, add ? role_add_tx : role_remove_tx, r);

	if (rc != EXIT_OK)
		return rc;
	if (!add) {
		printf("removed the %s role from %s\n", r->role, r->server);
		return EXIT_OK;
	}
	printf("added the %s role to %s", r->role, r->server);
	if (r->messages != NULL)
		printf(" (throttle: %s messages every %s seconds)", r->messages,
		    r->seconds);
	printf("\n");
	return EXIT_OK;
}

int
cmd_role(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "site=", "intranet-fqdn=",
		"internet-fqdn=", "throttle-messages=", "throttle-seconds=",
		"force", NULL };
	const char *vals[6], *pos[2], *sub = argc > 1 ? argv[1] : "";
	bool add = strcmp(sub, "add") == 0, remove = strcmp(sub, "remove") == 0,
	     list = strcmp(sub, "list") == 0,
	     config = strcmp(sub, "config") == 0;
	struct role_req r = { 0 };
	PGconn *db;
	int npos, rc;

	if ((!add && !remove && !list && !config) ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 2, &npos) ==
	        -1 ||
	    npos !=
	        (list            ? 0
	                : config ? 1
	                         : 2) ||
	    (!add &&
	        (vals[0] || vals[1] || vals[2] || vals[3] || vals[4] ||
	            vals[5])))
		return ctl_usage("role");
	if (npos > 0 && model_fqdn(pos[0], r.server, sizeof(r.server)) == -1)
		return EXIT_USAGE;
	if (npos == 2 && (rc = role_args(pos[1], vals, &r)) != EXIT_OK)
		return rc;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (list)
		rc = model_list(ctl, db, LIST_SQL("ORDER BY 1, 2"), 0, NULL,
		    "list the roles");
	else if (config)
		rc = role_config(db, r.server);
	else
		rc = role_change(db, &r, add);
	PQfinish(db);
	return rc;
}
