/* main.c - sitesys-agent: the global options and the commands */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "util/conf.h"
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
	/* the identity key is in memory from now on: no core dump of this
	 * process, and no other process of its user may read its memory */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("could not keep the key out of core dumps: %m");
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
	if (strcmp(argv[optind], "simulate") == 0)
		return simulate_main(argc - optind, argv + optind);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0 &&
		    !o.foreground && !o.check_only)
			return agent_command(
			    &commands[i], o.conf, argc - optind, argv + optind);
	return agent_usage(stderr, 2);
}
