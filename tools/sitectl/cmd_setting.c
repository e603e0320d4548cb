/* cmd_setting.c - sitectl setting: the hierarchy settings */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"

/* A setting: its name, its column, and the values it takes. */
struct setting {
	const char *name, *column;
	const char *values[3]; /* NULL-ended; "yes" "no" for a boolean */
};

static const struct setting settings[] = {
	{ "prefer-bg-mps", "prefer_bg_mps", { "yes", "no", NULL } },
	{ "client-approval", "client_approval", { "auto", "manual", NULL } },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const char list_sql[] =
    "SELECT 'prefer-bg-mps' AS setting, prefer_bg_mps::text AS value "
    "FROM hierarchy_setting UNION ALL "
    "SELECT 'client-approval', client_approval FROM hierarchy_setting";

/* The setting called name and the database's spelling of value into out
 * ("true"/"false" for yes/no); NULL (said) if either is unknown. */
static const struct setting *
setting_parse(const char *name, const char *value, const char **out)
{
	const struct setting *s = NULL;

	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(name, settings[i].name) == 0)
			s = &settings[i];
	if (s == NULL) {
		ctl_err("unknown setting \"%s\": the settings are "
		        "prefer-bg-mps and client-approval",
		    name);
		return NULL;
	}
	for (size_t i = 0; s->values[i] != NULL; i++)
		if (strcmp(value, s->values[i]) == 0) {
			*out = strcmp(value, "yes") == 0 ? "true"
			    : strcmp(value, "no") == 0   ? "false"
			                                 : value;
			return s;
		}
	ctl_err("%s takes %s or %s, not \"%s\"", name, s->values[0],
	    s->values[1], value);
	return NULL;
}

/* Set s to value; an exit status. */
static int
setting_set(
    PGconn *db, const struct setting *s, const char *value, const char *shown)
{
	char sql[128];
	const char *p[1] = { value };

	snprintf(sql, sizeof(sql), "UPDATE hierarchy_setting SET %s = $1",
	    s->column);
	if (db_cmd(db, sql, 1, p) == -1)
		return model_dberr("change the setting");
	printf("%s: %s\n", s->name, shown);
	return EXIT_OK;
}

int
cmd_setting(struct ctl *ctl, int argc, char **argv)
{
	const char *vals[1], *pos[2], *value = NULL;
	const struct setting *s = NULL;
	PGconn *db;
	int npos, rc;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 2, &npos) == -1)
		return ctl_usage("setting");
	if (strcmp(argv[1], "set") == 0) {
		if (npos != 2)
			return ctl_usage("setting");
		if ((s = setting_parse(pos[0], pos[1], &value)) == NULL)
			return EXIT_USAGE;
	} else if (strcmp(argv[1], "list") != 0 || npos != 0) {
		return ctl_usage("setting");
	}
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (s == NULL)
		rc =
		    model_list(ctl, db, list_sql, 0, NULL, "read the settings");
	else
		rc = setting_set(db, s, value, pos[1]);
	PQfinish(db);
	return rc;
}
