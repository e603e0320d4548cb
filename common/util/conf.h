/* conf.h - the INI configuration file and its table of settings */
#ifndef SITESYS_CONF_H
#define SITESYS_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define CONF_DEFAULT_PATH "/etc/sitesys/sitesys.conf"

enum conf_type { CONF_STR, CONF_INT, CONF_BOOL };

/* One setting: where it lives, its type, default and bounds. */
struct conf_setting {
	const char *section;
	const char *name;
	enum conf_type type;
	const char *def; /* default, as it would be written in the file */
	long long min, max; /* CONF_INT bounds */
	const char *choices; /* CONF_STR: "a|b|c" or NULL for any string */
	const char *doc; /* one line for sitesys.conf(5) and sitectl */
	/* CONF_STR: NULL, or a check of the value; 0, or -1 with why */
	int (*check)(const char *value, char *why, size_t len);
	/* CONF_STR: NULL, or the name of a setting of the same section that
	 * must not be empty when this one is not */
	const char *needs;
};

/* conf_check_template - a URL template holding "%s" exactly once (empty
 * allowed: no template); 0, or -1 with why */
int conf_check_template(const char *value, char *why, size_t len);

/* conf_check_https - an https:// URL (empty allowed); 0, or -1 why */
int conf_check_https(const char *value, char *why, size_t len);

/* conf_check_https_template - both of the above; 0, or -1 with why */
int conf_check_https_template(const char *value, char *why, size_t len);

/* The table of every setting of the suite, ended by a NULL section. */
extern const struct conf_setting conf_settings[];

struct conf;

/*
 * conf_load - parse path (NULL: defaults only); on error return NULL and
 * leave "file:line: reason" in err (a setting that needs another one
 * that is empty: the line of the first)
 */
struct conf *conf_load(const char *path, char *err, size_t errlen);

/* conf_path - the file the configuration came from, or NULL */
const char *conf_path(const struct conf *cf);

/* conf_str - a string setting; aborts if section/name is not in the table */
const char *conf_str(
    const struct conf *cf, const char *section, const char *name);

/* conf_int - an integer setting, within its bounds */
long long conf_int(
    const struct conf *cf, const char *section, const char *name);

/* conf_bool - a boolean setting */
bool conf_bool(const struct conf *cf, const char *section, const char *name);

/* conf_free - release everything conf_load allocated */
void conf_free(struct conf *cf);

/* conf_resolve_path - -c FILE, else $SITESYS_CONF, else the default path */
const char *conf_resolve_path(const char *opt, bool *explicit);

#endif
