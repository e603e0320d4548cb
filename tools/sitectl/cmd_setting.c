/* cmd_setting.c - sitectl setting: the hierarchy settings */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"

int
cmd_setting(struct ctl *ctl, int argc, char **argv)
{
	const char *vals[1], *pos[2], *p[1];
	bool yes = false;
	PGconn *db;
	int npos, rc = EXIT_OK;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 2, &npos) == -1)
		return ctl_usage("setting");
	if (strcmp(argv[1], "set") == 0) {
		if (npos != 2)
			return ctl_usage("setting");
		if (strcmp(pos[0], "prefer-bg-mps") != 0) {
			ctl_err("unknown setting \"%s\": the settings are "
			        "prefer-bg-mps",
			    pos[0]);
			return EXIT_USAGE;
		}
		if (model_yesno(pos[0], pos[1], &yes) == -1)
			return EXIT_USAGE;
	} else if (strcmp(argv[1], "list") != 0 || npos != 0) {
		return ctl_usage("setting");
	}
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	p[0] = yes ? "true" : "false";
	if (strcmp(argv[1], "list") == 0)
		rc = model_list(ctl, db,
		    "SELECT 'prefer-bg-mps' AS setting, prefer_bg_mps AS value "
		    "FROM hierarchy_setting",
		    0, NULL, "read the settings");
	else if (db_cmd(db, "UPDATE hierarchy_setting SET prefer_bg_mps = $1",
	             1, p) == -1)
		rc = model_dberr("change the setting");
	else
		printf("prefer-bg-mps: %s\n", pos[1]);
	PQfinish(db);
	return rc;
}
