/* sitectl.h - the administrator's console: shared declarations */
#ifndef SITECTL_H
#define SITECTL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

struct conf;

/* Exit statuses, as sitectl(8) documents them. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct ctl {
	struct conf *cf;
	bool json;
	char *owned[16]; /* values of repeated options, joined */
	int nowned;
	unsigned posopt; /* bit i: pos[i] came from a "name=<" option */
};

/*
 * ctl_err - "sitectl: " and the message on stderr, one line, shown as
 * ctl_text shows text (what it quotes may have come from outside); "%m"
 * stands for strerror(errno)
 */
__attribute__((format(printf, 1, 2))) void ctl_err(const char *fmt, ...);

/*
 * ctl_text - s as sitectl shows text that may have come from outside: C0
 * and C1 controls, DEL and bytes that are not UTF-8 as "\xNN", a backslash
 * as "\\" (text_escape; sitectl(8), TEXT FROM OUTSIDE); NULL shows as "";
 * valid until the 16th call after, so one printf may show up to 16
 */
const char *ctl_text(const char *s);

/*
 * ctl_json - doc on stdout as sitectl's --json: indented, members in
 * order, every character beyond ASCII (the C1 controls among them) and
 * every control as \uXXXX, as JSON writes them; 0, or -1 on a write error
 */
int ctl_json(const json_t *doc);

/*
 * ctl_db - connect to the site database as the console, [console]
 * conninfo (else [database] conninfo), or print why; NULL on failure
 */
PGconn *ctl_db(struct ctl *ctl);

/*
 * ctl_db_admin - the same as the administrator, [database] conninfo, for
 * what changes the schema and the roles (sitectl db)
 */
PGconn *ctl_db_admin(struct ctl *ctl);

/* ctl_usage - print the usage of one command (or all) and return 2 */
int ctl_usage(const char *command);

/*
 * ctl_parse - parse a subcommand's options: --json always, plus the long
 * options named in spec as "name=" (takes a value) or "name"; values land
 * in vals[i] in spec order; positional arguments in pos[], in the order
 * given; -1 on bad usage; an option named "name=+" may repeat, its values
 * joined by commas; an option named "name=<" stands for a positional
 * argument: its value takes its place in pos[] and sets bit i of
 * ctl->posopt for pos[i]
 */
int ctl_parse(struct ctl *ctl, int argc, char **argv, const char *const *spec,
    const char **vals, const char **pos, int maxpos, int *npos);

/* ctl_inboxes - backlog of every inbox under [site] inbox_dir, or NULL */
json_t *ctl_inboxes(struct ctl *ctl, char *err, size_t errlen);

/* ctl_print_inboxes - the inbox table as a person reads it */
void ctl_print_inboxes(const json_t *list);

/* ctl_fmt_age - seconds as "93s", "12m05s", "3h02m", "2d04h" into out */
void ctl_fmt_age(long long s, char *out, size_t len);

/*
 * ctl_sender - the state sitesys-sender keeps ([sender] state_file) when
 * this host has a sender ([sender] url set): the document, with its age
 * in seconds added as "age_seconds"; NULL with why in err when it cannot
 * be read; NULL with err empty when the host has no sender
 */
json_t *ctl_sender(struct ctl *ctl, char *err, size_t errlen);

/* ctl_print_sender - the sender's state as a person reads it */
void ctl_print_sender(const json_t *doc);

/*
 * CTL_UTC - SQL for the timestamptz column col as UTC to the second,
 * "2026-11-22T09:30:04Z"
 */
#define CTL_UTC(col)                                                           \
	"to_char(" col " AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

int cmd_db(struct ctl *ctl, int argc, char **argv);
int cmd_site(struct ctl *ctl, int argc, char **argv);
int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_inbox(struct ctl *ctl, int argc, char **argv);
int cmd_config(struct ctl *ctl, int argc, char **argv);
int cmd_client(struct ctl *ctl, int argc, char **argv);

/* client_identity_verb - whether verb is approve, block, unblock or
 * reset-identity */
bool client_identity_verb(const char *verb);

/* client_identity - do verb to client guid (lower case); an exit status */
int client_identity(PGconn *db, const char *verb, const char *guid);
int cmd_report(struct ctl *ctl, int argc, char **argv);
int cmd_boundary(struct ctl *ctl, int argc, char **argv);
int cmd_bg(struct ctl *ctl, int argc, char **argv);
int cmd_server(struct ctl *ctl, int argc, char **argv);
int cmd_role(struct ctl *ctl, int argc, char **argv);
int cmd_content(struct ctl *ctl, int argc, char **argv);
int cmd_peer(struct ctl *ctl, int argc, char **argv);
int cmd_setting(struct ctl *ctl, int argc, char **argv);
int cmd_location(struct ctl *ctl, int argc, char **argv);
int cmd_ca(struct ctl *ctl, int argc, char **argv);
int cmd_collection(struct ctl *ctl, int argc, char **argv);
int cmd_script(struct ctl *ctl, int argc, char **argv);
int cmd_notify(struct ctl *ctl, int argc, char **argv);
int cmd_operations(struct ctl *ctl, int argc, char **argv);

/*
 * collection_members - put the members of collection name into the
 * temporary table member_stage (collection_stage, with the boundary model
 * loaded first); 0, or -1 with why printed
 */
int collection_members(PGconn *db, const char *name);

/*
 * db_roles_apply - inside the caller's transaction, as the administrator:
 * make each program's role and grant it what schema/roles.sql says; give
 * each its password from [database] passfile, adding a random one there
 * for a role the file lacks (the file mode 0600, owned by [site] user when
 * run as root); print what was done; 0, or -1 with why printed
 */
int db_roles_apply(struct ctl *ctl, PGconn *db);

/* site_code_check - normalize a site code to upper case; -1 with why */
int site_code_check(const char *code, char out[4]);

#endif
