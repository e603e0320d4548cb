/* cmd_bg_link.c - sitectl bg link|unlink|links|default-behavior: fallback */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/buf.h"
#include "util/db.h"

#define FIND_BG "SELECT id FROM boundary_group WHERE name = $1"

#define LINK_FALLBACK                                                          \
	"boundary_group_link_fallback x WHERE x.from_group = l.from_group "    \
	"AND x.to_group = l.to_group"

/* Links with their times per role, into b: $1 a group at either end or
 * NULL for all, $2 the group at the far end or NULL. */
static void
links_query(struct buf *b)
{
	buf_adds(b, "SELECT f.name AS from_group, t.name AS to_group");
	model_minutes_columns(b, LINK_FALLBACK);
	buf_adds(b,
	    " FROM boundary_group_link l "
	    "JOIN boundary_group f ON f.id = l.from_group "
	    "JOIN boundary_group t ON t.id = l.to_group "
	    "WHERE ($1::text IS NULL OR f.name = $1 OR t.name = $1) "
	    "AND ($2::text IS NULL OR t.name = $2) ORDER BY 1, 2");
}

/* Each site's Default Behavior, into b ($1: a site code, or NULL: all). */
static void
default_query(struct buf *b)
{
	buf_adds(b, "SELECT s.code AS site, g.name AS boundary_group");
	model_minutes_columns(
	    b, "site_default_fallback x WHERE x.site_code = s.code");
	buf_adds(b,
	    " FROM site s JOIN boundary_group g ON g.default_of_site = s.code "
	    "WHERE $1::text IS NULL OR s.code = $1 ORDER BY 1");
}

/* Print the rows of the query query() makes, with params; a status. */
static int
list_rows(struct ctl *ctl, PGconn *db, void (*query)(struct buf *), int nparams,
    const char *const *params, const char *what)
{
	struct buf sql = { 0 };
	int rc;

	query(&sql);
	rc = model_list(ctl, db, sql.p, nparams, params, what);
	buf_free(&sql);
	return rc;
}

/* The link being made, for link_write. */
struct link {
	char from[16], to[16];
	struct fallback f;
};

/* Make the link if new and write every role's time: given, or kept, or
 * the default (120 minutes, management points 0) for a new row. */
static int
link_write(PGconn *db, void *arg)
{
	const struct link *l = arg;
	const char *p[4] = { l->from, l->to };
	char min[16];

	if (db_cmd(db,
	        "INSERT INTO boundary_group_link (from_group, to_group) "
	        "VALUES ($1, $2) ON CONFLICT DO NOTHING",
	        2, p) == -1)
		return model_dberr("link the groups");
	for (int r = 0; r < LOC_NROLES; r++) {
		p[2] = loc_role_name((enum loc_role)r);
		snprintf(min, sizeof(min), "%d", l->f.minutes[r]);
		p[3] = l->f.minutes[r] < 0 ? NULL : min;
		if (db_cmd(db,
		        l->f.given[r]
		            ? "INSERT INTO boundary_group_link_fallback "
		              "(from_group, to_group, role, minutes) VALUES "
		              "($1, $2, $3::text, $4::integer) ON CONFLICT "
		              "(from_group, "
		              "to_group, role) DO UPDATE SET minutes = $4"
		            : "INSERT INTO boundary_group_link_fallback "
		              "(from_group, to_group, role, minutes) VALUES "
		              "($1, $2, $3::text, fallback_default($3::text)) "
		              "ON CONFLICT DO NOTHING",
		        l->f.given[r] ? 4 : 3, p) == -1)
			return model_dberr("set the fallback time");
	}
	return EXIT_OK;
}

int
bg_link(struct ctl *ctl, const char *from, const char *to, const char *fallback)
{
	struct link l = { 0 };
	PGconn *db;
	int rc;

	if (model_name("a boundary group name", from) == -1 ||
	    model_name("a boundary group name", to) == -1)
		return EXIT_USAGE;
	if (strcmp(from, to) == 0) {
		ctl_err("a boundary group cannot link to itself "
		        "(\"%s\")",
		    from);
		return EXIT_USAGE;
	}
	if (fallback && model_fallback_parse(fallback, &l.f) == -1)
		return EXIT_USAGE;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (model_find(db, FIND_BG, from, "boundary group", l.from,
	        sizeof(l.from)) != 0 ||
	    model_find(db, FIND_BG, to, "boundary group", l.to, sizeof(l.to)) !=
	        0) {
		PQfinish(db);
		return EXIT_FAIL;
	}
	if ((rc = model_tx(db, link_write, &l)) == EXIT_OK) {
		if (!ctl->json)
			printf(
			    "linked %s to %s\n", ctl_text(from), ctl_text(to));
		const char *p[2] = { from, to };

		rc = list_rows(ctl, db, links_query, 2, p, "show the link");
	}
	PQfinish(db);
	return rc;
}

int
bg_unlink(struct ctl *ctl, const char *from, const char *to)
{
	char fid[16], tid[16];
	const char *p[2] = { fid, tid };
	PGconn *db;
	PGresult *res;
	int rc = EXIT_FAIL;

	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (model_find(db, FIND_BG, from, "boundary group", fid, sizeof(fid)) !=
	        0 ||
	    model_find(db, FIND_BG, to, "boundary group", tid, sizeof(tid)) !=
	        0)
		goto out;
	res = db_exec(db,
	    "DELETE FROM boundary_group_link WHERE from_group = $1 "
	    "AND to_group = $2 RETURNING 1",
	    2, p);
	if (res == NULL) {
		rc = model_dberr("unlink the groups");
		goto out;
	}
	if (PQntuples(res) == 0) {
		ctl_err("no link from %s to %s", from, to);
	} else {
		printf("removed the link from %s to %s\n", ctl_text(from),
		    ctl_text(to));
		rc = EXIT_OK;
	}
	PQclear(res);
out:
	PQfinish(db);
	return rc;
}

/* sitectl bg links [NAME]: every relationship, or those of one group. */
int
bg_links_list(struct ctl *ctl, const char *name)
{
	char id[16];
	PGconn *db;
	int rc = EXIT_FAIL;

	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (name == NULL ||
	    model_find(db, FIND_BG, name, "boundary group", id, sizeof(id)) ==
	        0)
		rc = list_rows(ctl, db, links_query, 2,
		    (const char *[]){ name, NULL }, "list the links");
	PQfinish(db);
	return rc;
}

/* Set the given roles' times of code's Default Behavior. */
static int
default_write(PGconn *db, void *arg)
{
	const struct link *l = arg;
	const char *p[3] = { l->from };
	char min[16];

	for (int r = 0; r < LOC_NROLES; r++) {
		if (!l->f.given[r])
			continue;
		p[1] = loc_role_name((enum loc_role)r);
		snprintf(min, sizeof(min), "%d", l->f.minutes[r]);
		p[2] = l->f.minutes[r] < 0 ? NULL : min;
		if (db_cmd(db,
		        "INSERT INTO site_default_fallback (site_code, role, "
		        "minutes) VALUES ($1, $2::text, $3::integer) ON "
		        "CONFLICT (site_code, "
		        "role) DO UPDATE SET minutes = $3",
		        3, p) == -1)
			return model_dberr("set the Default Behavior");
	}
	return EXIT_OK;
}

int
bg_default_behavior(struct ctl *ctl, const char *code, const char *fallback)
{
	struct link l = { 0 };
	const char *p[1] = { l.from };
	char site[4];
	PGconn *db;
	int rc = EXIT_FAIL;

	if (model_site(code, site) == -1 ||
	    (fallback && model_fallback_parse(fallback, &l.f) == -1))
		return EXIT_USAGE;
	snprintf(l.from, sizeof(l.from), "%s", site);
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (model_find(db, "SELECT code FROM site WHERE code = $1", site,
	        "site", l.to, sizeof(l.to)) != 0)
		goto out;
	if (fallback && (rc = model_tx(db, default_write, &l)) != EXIT_OK)
		goto out;
	if (fallback && !ctl->json)
		printf("changed the Default Behavior of site %s\n", site);
	rc = list_rows(
	    ctl, db, default_query, 1, p, "show the Default Behavior");
out:
	PQfinish(db);
	return rc;
}
