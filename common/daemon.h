/* daemon.h - the skeleton every sitesys daemon's main() calls */
#ifndef SITESYS_DAEMON_H
#define SITESYS_DAEMON_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

struct conf;

struct daemon_spec {
	const char *name; /* program name, e.g. "sitesys-statesys" */
	/* after the config is read, before privileges are dropped: 0 or -1 */
	int (*init)(struct conf *cf);
	/* the daemon's work until signals_stopping(); the exit status */
	int (*run)(struct conf **cfp);
	/* optional: print the usage to fp, return status; else the default */
	int (*usage)(FILE *fp, int status);
	/* its section, whose conninfo names its database role ("statesys");
	 * NULL: [database] conninfo */
	const char *section;
};

/* the options every daemon takes: -c file, -f, -n */
struct daemon_opts {
	const char *conf; /* -c, or NULL: SITESYS_CONF, then the default */
	bool foreground; /* -f: stay attached, log to stderr */
	bool check_only; /* -n: check the config and exit */
};

/*
 * daemon_options - parse -c/-f/-n/-h from argv[1..] into *o; -1 to go on,
 * else the exit status (0 after -h, 2 after a usage message)
 */
int daemon_options(int argc, char **argv, const struct daemon_spec *spec,
    struct daemon_opts *o);

/*
 * daemon_start - read the config, set up logging and signals (see
 * signals.h), detach unless foreground, call init, drop to [site] user,
 * call run. Exit status: 0 stopped cleanly, 1 failure, 2 bad config.
 */
int daemon_start(const struct daemon_opts *o, const struct daemon_spec *spec);

/* daemon_main - daemon_options, then daemon_start */
int daemon_main(int argc, char **argv, const struct daemon_spec *spec);

/*
 * daemon_reload - reread the config into *cf; on failure keep the old one
 * (logged). Either way the log file is reopened (daemon_reopen_log).
 */
bool daemon_reload(struct conf **cf);

/*
 * daemon_reopen_log - reopen cf's [log] file, as SIGHUP does for log
 * rotation; on failure logged, and the file already open kept
 */
void daemon_reopen_log(const struct conf *cf);

/* daemon_drop_privileges - become user if root; 0 or -1 (logged) */
int daemon_drop_privileges(const char *user);

/*
 * daemon_db_conninfo - the running daemon's connection string: [SECTION]
 * conninfo of its spec, else [database] conninfo (site_conninfo)
 */
const char *daemon_db_conninfo(const struct conf *cf);

/*
 * daemon_db_connect - one attempt to reach the site database, as
 * db_connect; a daemon never works as a superuser: such a connection is
 * closed and refused, the reason logged (once), the daemon stopped
 * (signals_stop) to exit 1 (daemon_start), and NULL returned with the
 * reason in err, as it is without connecting once one was refused
 */
PGconn *daemon_db_connect(const char *conninfo, char *err, size_t errlen);

/*
 * daemon_db_connect_retry - db_connect_retry with the refusal of
 * daemon_db_connect; NULL once the daemon is stopping
 */
PGconn *daemon_db_connect_retry(const char *conninfo, int max_wait);

/*
 * daemon_db_refused - true once a connection was refused (and logged): a
 * caller that logs its failed connections leaves this one out
 */
bool daemon_db_refused(void);

#endif
