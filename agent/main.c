/*
 * main.c - sitesys-agent: global options, the commands, and the identity
 * the agent works as (the [site] user when started as root, as the daemon
 * skeleton does, so that the CLI and the daemon share one state directory)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/log.h"

static const struct command {
	const char *name;
	int (*fn)(struct agent *, int, char **);
} commands[] = {
	{ "state", cmd_state },
	{ "send", cmd_send },
	{ "policy", cmd_policy },
	{ "show", cmd_show },
	{ "location", cmd_location },
};

int
agent_usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: sitesys-agent [-c file] state --topic-type type "
	    "--topic-id id --state state\n"
	    "           [--id-type type] [--criticality level] "
	    "[--details text] [--param text]...\n"
	    "       sitesys-agent [-c file] send\n"
	    "       sitesys-agent [-c file] policy\n"
	    "       sitesys-agent [-c file] show [--json]\n"
	    "       sitesys-agent [-c file] location dp|clouddp|sup|smp|mp|cmg "
	    "[--content id]\n"
	    "           [--at minutes] [--answer file] [--json]\n"
	    "       sitesys-agent [-c file] [-fn] run\n"
	    "       sitesys-agent -h\n");
	return status;
}

int
agent_prepare_dir(const struct conf *cf)
{
	const char *dir = conf_str(cf, "agent", "state_dir");
	const char *user = conf_str(cf, "site", "user");
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_error(
		    "cannot run as [site] user \"%s\": no such user", user);
		return -1;
	}
	/* made as root and handed over; the user makes what is inside */
	if (store_make_dir(dir) == -1)
		return -1;
	if (chown(dir, pw->pw_uid, pw->pw_gid) == -1) {
		log_error(
		    "could not give \"%s\" to user \"%s\": %m", dir, user);
		return -1;
	}
	return 0;
}

long
agent_daemon_pid(const struct store *st)
{
	char path[PATH_MAX], text[32] = "";
	long pid = 0;
	int fd;

	/* a path too long to open is one no daemon could have written */
	if (fsio_join(path, sizeof(path), st->dir, "agent.pid") == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	/* the daemon holds the file locked for as long as it runs */
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK &&
	    read(fd, text, sizeof(text) - 1) > 0)
		pid = strtol(text, NULL, 10);
	close(fd);
	return pid;
}

void
agent_settings(struct agent *ag, struct conf *cf)
{
	ag->cf = cf;
	ag->timeout = (long)conf_int(cf, "agent", "timeout_seconds");
	snprintf(
	    ag->name, sizeof(ag->name), "%s", conf_str(cf, "agent", "name"));
	if (ag->name[0] == '\0' &&
	    gethostname(ag->name, sizeof(ag->name) - 1) == -1)
		snprintf(ag->name, sizeof(ag->name), "localhost");
	http_curl_ops(&ag->http, &ag->timeout);
}

int
agent_open(struct agent *ag)
{
	const struct conf *cf = ag->cf;

	if (agent_prepare_dir(cf) == -1 ||
	    daemon_drop_privileges(conf_str(cf, "site", "user")) == -1)
		return -1;
	return store_open(&ag->st, conf_str(cf, "agent", "state_dir"));
}

/* Load the configuration and run one command (not "run"). */
static int
agent_command(
    const struct command *c, const char *opt_conf, int argc, char **argv)
{
	bool explicit;
	const char *path = conf_resolve_path(opt_conf, &explicit);
	struct conf *cf;
	struct agent ag;
	char err[1024];
	int status = 1;

	if ((cf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	log_set_level(log_parse_level(conf_str(cf, "log", "level")));
	memset(&ag, 0, sizeof(ag));
	ag.st.lock_fd = -1;
	agent_settings(&ag, cf);
	if (http_global_init() == 0) {
		status = c->fn(&ag, argc, argv);
		store_close(&ag.st);
	}
	conf_free(cf);
	return status;
}

int
main(int argc, char **argv)
{
	struct daemon_opts o = { 0 };
	int ch;

	log_init(AGENT_NAME);
	while ((ch = getopt(argc, argv, "+c:fhn")) != -1) {
		switch (ch) {
		case 'c':
			o.conf = optarg;
			break;
		case 'f':
			o.foreground = true;
			break;
		case 'n':
			o.check_only = true;
			break;
		case 'h':
			return agent_usage(stdout, 0);
		default:
			return agent_usage(stderr, 2);
		}
	}
	if (optind == argc)
		return agent_usage(stderr, 2);
	if (strcmp(argv[optind], "run") == 0)
		return run_main(&o, argc - optind, argv + optind);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0 &&
		    !o.foreground && !o.check_only)
			return agent_command(
			    &commands[i], o.conf, argc - optind, argv + optind);
	return agent_usage(stderr, 2);
}
