/* cmd_site.c - sitectl site add|list */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "location/location.h"
#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/sjson.h"

/* Device names the original refuses as site codes. */
static const char *const reserved_codes[] = { "AUX", "CON", "NUL", "PRN", "SMS",
	NULL };

/* Normalize code to upper case in out; 0, or -1 with the rule printed. */
int
site_code_check(const char *code, char out[4])
{
	if (strlen(code) != 3)
		goto bad;
	for (int i = 0; i < 3; i++) {
		if (!isascii((unsigned char)code[i]) ||
		    !isalnum((unsigned char)code[i]))
			goto bad;
		out[i] = (char)toupper((unsigned char)code[i]);
	}
	out[3] = '\0';
	for (int i = 0; reserved_codes[i] != NULL; i++) {
		if (strcmp(out, reserved_codes[i]) == 0) {
			ctl_err("site code \"%s\" is reserved", out);
			return -1;
		}
	}
	return 0;
bad:
	ctl_err("invalid site code \"%s\": a site code is exactly three "
	        "letters (A-Z) or digits (0-9)",
	    code);
	return -1;
}

static int
site_add(PGconn *db, const char *code, const char *name)
{
	const char *params[2] = { code, name };
	char group[LOC_DEFAULT_GROUP_MAX];
	PGresult *res;
	int added;

	if (db_cmd(db, "BEGIN", 0, NULL) == -1)
		goto fail;
	res = db_exec(db,
	    "INSERT INTO site (code, name) VALUES ($1, $2) "
	    "ON CONFLICT (code) DO NOTHING RETURNING code",
	    2, params);
	if (res == NULL)
		goto fail;
	added = PQntuples(res);
	PQclear(res);
	if (!added) {
		ctl_err("site %s already exists", code);
		db_cmd(db, "ROLLBACK", 0, NULL);
		return EXIT_FAIL;
	}
	/* the site's trigger makes its default boundary group (003) */
	if (db_cmd(db, "COMMIT", 0, NULL) == -1)
		goto fail;
	loc_default_group_name(code, group, sizeof(group));
	printf("added site %s (%s) with boundary group %s\n", code,
	    ctl_text(name), group);
	return EXIT_OK;
fail:
	ctl_err("could not add site %s: %s", code, db_error());
	db_cmd(db, "ROLLBACK", 0, NULL);
	return EXIT_FAIL;
}

static int
site_list(struct ctl *ctl, PGconn *db)
{
	PGresult *res = db_exec(db,
	    "SELECT s.code, s.name, coalesce(bg.name, ''), "
	    "to_char(s.created AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM site s LEFT JOIN boundary_group bg "
	    "ON bg.default_of_site = s.code ORDER BY s.code",
	    0, NULL);
	json_t *list;

	if (res == NULL) {
		ctl_err("could not list sites: %s", db_error());
		return EXIT_FAIL;
	}
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		sjson_set(o, "code", json_string(PQgetvalue(res, i, 0)));
		sjson_set(o, "name", json_string(PQgetvalue(res, i, 1)));
		sjson_set(o, "default_boundary_group",
		    json_string(PQgetvalue(res, i, 2)));
		sjson_set(o, "created", json_string(PQgetvalue(res, i, 3)));
		sjson_append(list, o);
	}
	if (ctl->json) {
		ctl_json(list);
	} else {
		printf("%-4s  %-30s  %-34s  %s\n", "CODE", "NAME",
		    "DEFAULT BOUNDARY GROUP", "CREATED");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%-4s  %-30s  %-34s  %s\n",
			    PQgetvalue(res, i, 0),
			    ctl_text(PQgetvalue(res, i, 1)),
			    ctl_text(PQgetvalue(res, i, 2)),
			    PQgetvalue(res, i, 3));
	}
	json_decref(list);
	PQclear(res);
	return EXIT_OK;
}

int
cmd_site(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "name=", NULL };
	const char *vals[1], *pos[1];
	char code[4];
	PGconn *db;
	int npos, rc;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 1, &npos) == -1)
		return ctl_usage("site");
	if (strcmp(argv[1], "add") == 0) {
		if (npos != 1 || vals[0] == NULL) {
			ctl_err("site add needs CODE and "
			        "--name NAME");
			return ctl_usage("site");
		}
		if (site_code_check(pos[0], code) == -1)
			return EXIT_USAGE;
		if (model_name("a site name", vals[0]) == -1)
			return EXIT_USAGE;
	} else if (strcmp(argv[1], "list") != 0 || npos != 0) {
		return ctl_usage("site");
	}
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(argv[1], "add") == 0)
		rc = site_add(db, code, vals[0]);
	else
		rc = site_list(ctl, db);
	PQfinish(db);
	return rc;
}
