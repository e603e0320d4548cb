/* daemon.c - options, config, logging, detach, privilege drop, shutdown */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "settings.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"
#include "util/signals.h"

/* the section of the running daemon's conninfo; set by daemon_start */
static const char *db_section = "database";
/* true once a connection was refused: the daemon then exits 1 */
static atomic_bool db_refused;

int
daemon_drop_privileges(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_error("cannot drop privileges: no such user \"%s\"", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_error("could not switch to user \"%s\": %m", user);
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_error("privileges were not dropped: setuid(0) succeeded");
		return -1;
	}
	log_debug("running as user \"%s\" (uid %ld)", user, (long)pw->pw_uid);
	return 0;
}

const char *
daemon_db_conninfo(const struct conf *cf)
{
	return site_conninfo(cf, db_section);
}

/* Refuse a superuser's connection (db_check_fn): the daemon stops. */
static int
daemon_db_check(PGconn *db, char *err, size_t errlen)
{
	const char *su = PQparameterStatus(db, "is_superuser");

	if (su == NULL || strcmp(su, "on") != 0)
		return 0;
	snprintf(err, errlen,
	    "connected to the site database as superuser \"%s\"; give [%s] "
	    "conninfo a role that sitectl db init made",
	    PQuser(db), db_section);
	if (!atomic_exchange(&db_refused, true)) {
		log_error("%s", err);
		signals_stop();
	}
	return -1;
}

bool
daemon_db_refused(void)
{
	return atomic_load(&db_refused);
}

PGconn *
daemon_db_connect(const char *conninfo, char *err, size_t errlen)
{
	PGconn *db;

	if (atomic_load(&db_refused)) {
		snprintf(err, errlen,
		    "not connecting again after a superuser's connection");
		return NULL;
	}
	db = db_connect(conninfo, err, errlen);
	if (db != NULL && daemon_db_check(db, err, errlen) == -1) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

PGconn *
daemon_db_connect_retry(const char *conninfo, int max_wait)
{
	return db_connect_retry_check(conninfo, max_wait, daemon_db_check);
}

static int
daemon_setup_log(const struct conf *cf, bool fg)
{
	const char *file = conf_str(cf, "log", "file");

	log_set_level(log_parse_level(conf_str(cf, "log", "level")));
	if (*file != '\0') {
		if (log_to_file(file) == -1) {
			fprintf(stderr,
			    "%s: could not open log file \"%s\": %s\n",
			    log_progname(), file, strerror(errno));
			return -1;
		}
	} else if (!fg) {
		log_to_syslog();
	}
	return 0;
}

/*
 * -n: whether daemon_setup_log could open [log] file, without creating
 * it; 0, or -1 with the reason on stderr, as the real start reports it
 */
static int
daemon_check_log(const struct conf *cf)
{
	const char *file = conf_str(cf, "log", "file");

	if (*file == '\0' || log_check_file(file) == 0)
		return 0;
	fprintf(stderr, "%s: could not open log file \"%s\": %s\n",
	    log_progname(), file, strerror(errno));
	return -1;
}

static const char *conf_file;
static bool foreground;

bool
daemon_reload(struct conf **cf)
{
	char err[1024];
	struct conf *fresh = conf_load(conf_file, err, sizeof(err));

	if (fresh == NULL) {
		/* the log is reopened all the same: rotation must not wait
		 * for a config without errors */
		daemon_reopen_log(*cf);
		log_error(
		    "reload refused, keeping the running config: %s", err);
		return false;
	}
	conf_free(*cf);
	*cf = fresh;
	log_set_level(log_parse_level(conf_str(*cf, "log", "level")));
	daemon_reopen_log(*cf);
	log_info("configuration reloaded from %s", conf_file);
	return true;
}

void
daemon_reopen_log(const struct conf *cf)
{
	const char *file = conf_str(cf, "log", "file");

	if (*file == '\0')
		return;
	if (log_to_file(file) == -1)
		log_error("could not reopen the log file \"%s\": %m; logging "
		          "stays as it was",
		    file);
}

/* Print the usage to fp and return status (the exit status). */
static int
daemon_usage(const struct daemon_spec *spec, FILE *fp, int status)
{
	if (spec->usage != NULL)
		return spec->usage(fp, status);
	fprintf(fp, "usage: %s [-fhn] [-c file]\n", spec->name);
	return status;
}

static int
daemon_detach(void)
{
	int fd;

	switch (fork()) {
	case -1:
		log_error("could not fork: %m");
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1 || chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

int
daemon_options(int argc, char **argv, const struct daemon_spec *spec,
    struct daemon_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt(argc, argv, "c:fhn")) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'h':
			return daemon_usage(spec, stdout, 0);
		default:
			return daemon_usage(spec, stderr, 2);
		}
	}
	if (optind != argc)
		return daemon_usage(spec, stderr, 2);
	return -1;
}

int
daemon_start(const struct daemon_opts *o, const struct daemon_spec *spec)
{
	struct conf *cf;
	char err[1024];
	bool explicit;
	int status;

	log_init(spec->name);
	foreground = o->foreground;
	if (spec->section != NULL)
		db_section = spec->section;
	conf_file = conf_resolve_path(o->conf, &explicit);
	if ((cf = conf_load(conf_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (o->check_only) {
		if (daemon_check_log(cf) == -1) {
			conf_free(cf);
			return 2;
		}
		printf("%s: configuration ok\n", conf_file);
		conf_free(cf);
		return 0;
	}
	if (daemon_setup_log(cf, foreground) == -1) {
		conf_free(cf);
		return 2;
	}
	signals_init();
	if (!foreground && daemon_detach() == -1) {
		conf_free(cf);
		return 1;
	}
	if ((spec->init != NULL && spec->init(cf) == -1) ||
	    daemon_drop_privileges(conf_str(cf, "site", "user")) == -1) {
		conf_free(cf);
		return 1;
	}
	log_info("started (config \"%s\")", conf_file);
	status = spec->run(&cf);
	if (atomic_load(&db_refused))
		status = 1;
	log_info("stopped%s", status == 0 ? "" : " with an error");
	conf_free(cf);
	return status;
}

int
daemon_main(int argc, char **argv, const struct daemon_spec *spec)
{
	struct daemon_opts o;
	int status;

	log_init(spec->name);
	if ((status = daemon_options(argc, argv, spec, &o)) != -1)
		return status;
	return daemon_start(&o, spec);
}
