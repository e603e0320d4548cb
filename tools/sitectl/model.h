/* model.h - input checks and output shared by the boundary-model commands */
#ifndef SITECTL_MODEL_H
#define SITECTL_MODEL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "location/location.h"
#include "sitectl.h"
#include "statemsg.h"
#include "util/buf.h"

/* Per role (enum loc_role): whether a fallback time was given, and it
 * (-1: never). */
struct fallback {
	bool given[LOC_NROLES];
	int minutes[LOC_NROLES];
};

/* model_yesno - "yes" or "no" for option opt; 0, or -1 with why printed */
int model_yesno(const char *opt, const char *v, bool *out);

/* model_roles_parse - "dp,mp,..." into have[]; 0, or -1 with why printed */
int model_roles_parse(const char *list, bool have[LOC_NROLES]);

/*
 * model_minutes_columns - append to b, for each role in order, ", " and a
 * column named by the role: the fallback time of the row x of from
 * ("table x WHERE ..."), its minutes or "never", as JSON; from and the
 * roles are the program's own text, never input
 */
void model_minutes_columns(struct buf *b, const char *from);

/* model_roles_array - append the roles as an SQL array, in their order */
void model_roles_array(struct buf *b);

/*
 * model_fallback_parse - "ROLE=MINUTES|never,..." added to f; 0, or -1
 * with why printed (unknown role, negative or malformed minutes)
 */
int model_fallback_parse(const char *list, struct fallback *f);

/* model_fqdn - a server name, lower-cased into out; 0, or -1 with why */
int model_fqdn(const char *s, char *out, size_t len);

/* model_content_id - whether s is a content ID; -1 with why printed */
int model_content_id(const char *s);

/* The longest name sitectl keeps, in bytes (the schema's limit). */
#define MODEL_NAME_MAX 256

/*
 * model_name - whether s may be kept as a name; what names it in the
 * message ("a boundary name"): 1 to MODEL_NAME_MAX bytes of UTF-8, no
 * control character, not only blanks (text_name_check); 0, or -1 with
 * why printed as "WHAT may not hold control characters" and the like
 */
int model_name(const char *what, const char *s);

/*
 * model_text - whether s may be kept as free text such as a description:
 * as model_name, but it may be empty or blank and is at most max bytes;
 * 0, or -1 with why printed
 */
int model_text(const char *what, const char *s, size_t max);

/*
 * model_client - whether s is a client id, "GUID:" and a UUID in any case;
 * its lower-case form into out; 0, or -1 with why printed
 */
int model_client(const char *s, char out[STATEMSG_GUID_LEN + 1]);

/* model_site - a site code normalized into out; -1 with why printed */
int model_site(const char *s, char out[4]);

/*
 * model_site_defaults - each positional argument given as --site-default
 * CODE (ctl->posopt) becomes the name of site CODE's default group,
 * "Default-Site-Boundary-Group<CODE>", kept in names[i]; allowed: the
 * positions (bit i for pos[i]) where bg subcommand sub takes a boundary
 * group; EXIT_OK, or EXIT_USAGE with why printed (a bad code, or one
 * given elsewhere)
 */
int model_site_defaults(const struct ctl *ctl, const char *sub,
    unsigned allowed, int npos, const char **pos,
    char names[][LOC_DEFAULT_GROUP_MAX]);

/*
 * model_find - run sql (one parameter: key) and copy the first column of
 * its one row into id; 0 found, 1 not found (printed as "no WHAT KEY"
 * unless what is NULL), -1 on a database error (printed)
 */
int model_find(PGconn *db, const char *sql, const char *key, const char *what,
    char *id, size_t idlen);

/*
 * model_content_put - add (add_sql) or remove (del_sql) content on a
 * holder; both statements take ($1 holder id, $2 content id) and return a
 * row when they change something; kind and name name the holder in
 * messages ("server", "dp1.example.com"); an exit status
 */
int model_content_put(PGconn *db, bool add, const char *const sql[2],
    const char *id, const char *const holder[2], const char *content);

/* model_dberr - print "could not WHAT: why" and return EXIT_FAIL */
int model_dberr(const char *what);

/*
 * model_list - run sql and print its rows: a JSON array of objects named by
 * its columns (--json) or a table; an exit status
 */
int model_list(struct ctl *ctl, PGconn *db, const char *sql, int nparams,
    const char *const *params, const char *what);

/*
 * model_show - run sql (one parameter: key) and print its one row as
 * "column: value" lines or a JSON object; "no WHAT KEY" and EXIT_FAIL
 * when there is none
 */
int model_show(struct ctl *ctl, PGconn *db, const char *sql, const char *key,
    const char *what);

/* boundary_check - sitectl boundary check: EXIT_OK when clean */
int boundary_check(struct ctl *ctl, PGconn *db);

/* bg_link - sitectl bg link FROM TO [--fallback ...]: an exit status */
int bg_link(
    struct ctl *ctl, const char *from, const char *to, const char *fallback);

/* bg_unlink - sitectl bg unlink FROM TO: an exit status */
int bg_unlink(struct ctl *ctl, const char *from, const char *to);

/* bg_links_list - sitectl bg links [NAME]: relationships and their times */
int bg_links_list(struct ctl *ctl, const char *name);

/* bg_default_behavior - show or change a site's Default Behavior */
int bg_default_behavior(
    struct ctl *ctl, const char *code, const char *fallback);

/* model_rows_json - a result as an array of objects, values typed */
json_t *model_rows_json(PGresult *res);

/* model_print_rows - a result as a table with upper-case column names */
void model_print_rows(PGresult *res);

/*
 * model_tx - run fn inside one transaction: committed when it returns
 * EXIT_OK, rolled back otherwise; fn's status (EXIT_FAIL if the commit fails)
 */
int model_tx(PGconn *db, int (*fn)(PGconn *, void *), void *arg);

#endif
