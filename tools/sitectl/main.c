/* main.c - sitectl: global options, command dispatch, shared helpers */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "sitectl.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"
#include "util/text.h"

static const struct command {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
	const char *usage;
} commands[] = {
	{ "db", cmd_db, "db init|upgrade|status [--json]" },
	{ "site", cmd_site,
	    "site add CODE --name NAME\n"
	    "       sitectl [-c file] site list [--json]" },
	{ "status", cmd_status, "status [--json]" },
	{ "inbox", cmd_inbox,
	    "inbox init\n"
	    "       sitectl [-c file] inbox list [--json]\n"
	    "       sitectl [-c file] inbox put BOX FILE" },
	{ "config", cmd_config, "config check|show [--json]" },
	{ "client", cmd_client,
	    "client list [--json]\n"
	    "       sitectl [-c file] client show GUID [--json]\n"
	    "       sitectl [-c file] client approve|block|unblock|"
	    "reset-identity GUID" },
	{ "boundary", cmd_boundary,
	    "boundary add NAME --type subnet|range|ipv6|adsite|vpn --value V\n"
	    "           [--vpn-match exact|prefix] [--vpn-field "
	    "name|description]\n"
	    "       sitectl [-c file] boundary set NAME [--name NEW] [--type "
	    "T] "
	    "[--value V]\n"
	    "           [--vpn-match exact|prefix] [--vpn-field "
	    "name|description]\n"
	    "       sitectl [-c file] boundary list|show NAME|remove NAME "
	    "[--json]\n"
	    "       sitectl [-c file] boundary check [--json]" },
	{ "bg", cmd_bg,
	    "bg add NAME [--site CODE] [--description TEXT]\n"
	    "       sitectl [-c file] bg set NAME [--name NEW] [--site "
	    "CODE|none] "
	    "[--description TEXT]\n"
	    "           [--allow-peers yes|no] [--same-subnet-only yes|no]\n"
	    "           [--prefer-dp yes|no] [--prefer-cloud yes|no]\n"
	    "       sitectl [-c file] bg list|show NAME|remove NAME [--json]\n"
	    "       sitectl [-c file] bg add-boundary|remove-boundary BG "
	    "BOUNDARY\n"
	    "       sitectl [-c file] bg add-server|remove-server BG FQDN\n"
	    "       sitectl [-c file] bg link FROM TO "
	    "[--fallback ROLE=MINUTES|never ...]\n"
	    "       sitectl [-c file] bg unlink FROM TO\n"
	    "       sitectl [-c file] bg links [NAME] [--json]\n"
	    "       sitectl [-c file] bg default-behavior CODE "
	    "[--fallback ROLE=MINUTES|never ...] [--json]\n"
	    "           a group (NAME, BG, FROM, TO) may be given as "
	    "--site-default CODE:\n"
	    "           site CODE's default group, "
	    "Default-Site-Boundary-Group<CODE>" },
	{ "server", cmd_server,
	    "server add FQDN --site CODE --role ROLE[,ROLE...] ...\n"
	    "       sitectl [-c file] server set FQDN [--site CODE] "
	    "[--role ROLE[,ROLE...] ...]\n"
	    "       sitectl [-c file] server list|show FQDN|remove FQDN "
	    "[--json]" },
	{ "role", cmd_role,
	    "role add SERVER ROLE [--site CODE] [--intranet-fqdn FQDN] "
	    "[--internet-fqdn FQDN]\n"
	    "           [--throttle-messages N] [--throttle-seconds S] "
	    "[--force]\n"
	    "       sitectl [-c file] role remove SERVER ROLE\n"
	    "       sitectl [-c file] role list [--json]\n"
	    "       sitectl [-c file] role config SERVER" },
	{ "content", cmd_content,
	    "content add|remove FQDN CONTENT_ID\n"
	    "       sitectl [-c file] content on-demand CONTENT_ID yes|no\n"
	    "       sitectl [-c file] content list|requests [--json]" },
	{ "peer", cmd_peer,
	    "peer add CLIENT --address ADDR/PREFIX\n"
	    "       sitectl [-c file] peer set CLIENT --address ADDR/PREFIX\n"
	    "       sitectl [-c file] peer add-content|remove-content CLIENT "
	    "CONTENT_ID\n"
	    "       sitectl [-c file] peer list [--json]\n"
	    "       sitectl [-c file] peer remove CLIENT" },
	{ "location", cmd_location,
	    "location dp|clouddp|sup|smp|mp|cmg --ip ADDR/PREFIX [--ip ...]\n"
	    "           [--ad-site S] [--vpn NAME] [--vpn-description D] "
	    "[--site CODE]\n"
	    "           [--content ID] [--mode normal|client-install|"
	    "task-sequence]\n"
	    "           [--ts-remote] [--ts-default] [--at MINUTES] "
	    "[--explain] [--json]" },
	{ "setting", cmd_setting,
	    "setting set prefer-bg-mps yes|no\n"
	    "       sitectl [-c file] setting list [--json]" },
	{ "ca", cmd_ca,
	    "ca init [--name NAME]\n"
	    "       sitectl [-c file] ca issue --server FQDN --role ROLE\n"
	    "       sitectl [-c file] ca list [--json]\n"
	    "       sitectl [-c file] ca revoke FQDN|SERIAL\n"
	    "       sitectl [-c file] ca crl" },
	{ "collection", cmd_collection,
	    "collection add NAME [--description TEXT] [RULE ...]\n"
	    "       sitectl [-c file] collection add-rule|remove-rule NAME "
	    "RULE ...\n"
	    "       sitectl [-c file] collection list|show NAME|remove NAME "
	    "[--json]\n"
	    "           RULE: --name CLIENT_NAME | --pattern 'lab-*' | "
	    "--boundary-group BG | --site CODE" },
	{ "script", cmd_script,
	    "script add FILE [--name NAME]\n"
	    "       sitectl [-c file] script approve|unapprove SHA256|NAME\n"
	    "       sitectl [-c file] script list [--json]" },
	{ "notify", cmd_notify,
	    "notify ACTION --collection NAME | --client GUID[,GUID...] ...\n"
	    "           [--script SHA256|NAME] [--rate N/min] "
	    "[--stop-after-failures N]\n"
	    "           [--valid MINUTES]" },
	{ "operations", cmd_operations,
	    "operations [TASK] [--watch] [--json]" },
	{ "report", cmd_report,
	    "report resync-outstanding [--json]\n"
	    "       sitectl [-c file] report state --topic-type T "
	    "[--topic-id ID] [--json]\n"
	    "       sitectl [-c file] report unverified [--json]\n"
	    "       sitectl [-c file] report forged [--json]\n"
	    "       sitectl [-c file] report history [--exact] [--json]" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage_to(FILE *fp, const char *command)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (command == NULL || strcmp(command, commands[i].name) == 0)
			fprintf(fp, "%s sitectl [-c file] %s\n",
			    i == 0 || command != NULL ? "usage:" : "      ",
			    commands[i].usage);
}

int
ctl_usage(const char *command)
{
	usage_to(stderr, command);
	return EXIT_USAGE;
}

void
ctl_err(const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	/* what a message quotes may have come from outside */
	fprintf(
	    stderr, "sitectl: %s\n", n == -1 ? "out of memory" : ctl_text(msg));
	if (n != -1)
		free(msg);
}

/* How many ctl_text results may be alive at once (in one printf). */
#define CTL_TEXTS 16

const char *
ctl_text(const char *s)
{
	static struct buf ring[CTL_TEXTS];
	static unsigned next;
	struct buf *b = &ring[next++ % CTL_TEXTS];

	buf_reset(b);
	buf_adds(b, "");
	text_escape(b, s != NULL ? s : "");
	return b->p;
}

int
ctl_json(const json_t *doc)
{
	if (json_dumpf(doc, stdout,
	        JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) == -1)
		return -1;
	return fputc('\n', stdout) == EOF ? -1 : 0;
}

/* Connect as section's conninfo (site_conninfo), or print why. */
static PGconn *
ctl_connect(struct ctl *ctl, const char *section)
{
	char err[1536];
	PGconn *db =
	    db_connect(site_conninfo(ctl->cf, section), err, sizeof(err));

	if (db == NULL)
		ctl_err("%s", err);
	return db;
}

PGconn *
ctl_db(struct ctl *ctl)
{
	return ctl_connect(ctl, "console");
}

PGconn *
ctl_db_admin(struct ctl *ctl)
{
	return ctl_connect(ctl, "database");
}

/* a and b joined by a comma, kept until sitectl exits */
static const char *
ctl_join(struct ctl *ctl, const char *a, const char *b)
{
	char *s;

	if (ctl->nowned == sizeof(ctl->owned) / sizeof(ctl->owned[0]) ||
	    asprintf(&s, "%s,%s", a, b) == -1) {
		ctl_err("too many repeated options");
		exit(EXIT_USAGE);
	}
	ctl->owned[ctl->nowned++] = s;
	return s;
}

/* Build getopt's table from spec; how many options it names. */
static int
ctl_options(const char *const *spec, struct option *opts, char *kind)
{
	int n = 0;

	for (; spec != NULL && spec[n] != NULL && n < 14; n++) {
		size_t len = strcspn(spec[n], "=");

		kind[n] = spec[n][len] == '=' ? spec[n][len + 1] : '-';
		opts[n].name = strndup(spec[n], len);
		opts[n].has_arg =
		    spec[n][len] == '=' ? required_argument : no_argument;
		opts[n].flag = NULL;
		opts[n].val = 256 + n;
	}
	opts[n] = (struct option){ "json", no_argument, NULL, 'j' };
	opts[n + 1] = (struct option){ 0 };
	return n;
}

/* One more positional argument; -1 with why printed when there are too
 * many. */
static int
ctl_positional(const char *arg, const char **pos, int maxpos, int *npos)
{
	if (*npos == maxpos) {
		ctl_err("unexpected argument \"%s\"", arg);
		return -1;
	}
	pos[(*npos)++] = arg;
	return 0;
}

int
ctl_parse(struct ctl *ctl, int argc, char **argv, const char *const *spec,
    const char **vals, const char **pos, int maxpos, int *npos)
{
	struct option opts[16];
	char kind[16];
	int n = ctl_options(spec, opts, kind), ch, idx, rc = -1;

	for (int i = 0; i < n; i++)
		vals[i] = NULL;
	optind = 1;
	opterr = 1;
	*npos = 0;
	ctl->posopt = 0;
	/* "-": positional arguments come in their place among the options */
	while ((ch = getopt_long(argc, argv, "-", opts, &idx)) != -1) {
		int o = ch - 256;

		if (ch == 1 || (ch >= 256 && kind[o] == '<')) {
			if (ctl_positional(optarg, pos, maxpos, npos) == -1)
				goto out;
			if (ch != 1)
				ctl->posopt |= 1u << (*npos - 1);
		} else if (ch == 'j') {
			ctl->json = true;
		} else if (ch >= 256 && kind[o] == '+' && vals[o]) {
			vals[o] = ctl_join(ctl, vals[o], optarg);
		} else if (ch >= 256) {
			vals[o] = optarg ? optarg : "";
		} else {
			goto out;
		}
	}
	for (; optind < argc; optind++) /* after "--" */
		if (ctl_positional(argv[optind], pos, maxpos, npos) == -1)
			goto out;
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		free((char *)opts[i].name);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *opt_conf = NULL, *path;
	struct ctl ctl = { 0 };
	char err[1024];
	bool explicit;
	int i = 1, rc;

	log_init("sitectl");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			opt_conf = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return usage_to(stdout, NULL), EXIT_OK;
		else
			return ctl_usage(NULL);
	}
	if (i == argc)
		return ctl_usage(NULL);
	path = conf_resolve_path(opt_conf, &explicit);
	ctl.cf = conf_load(explicit || access(path, F_OK) == 0 ? path : NULL,
	    err, sizeof(err));
	if (ctl.cf == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	for (size_t c = 0; c < NCOMMANDS; c++) {
		if (strcmp(argv[i], commands[c].name) != 0)
			continue;
		rc = commands[c].fn(&ctl, argc - i, argv + i);
		while (ctl.nowned > 0)
			free(ctl.owned[--ctl.nowned]);
		conf_free(ctl.cf);
		return rc;
	}
	ctl_err("unknown command \"%s\"", argv[i]);
	conf_free(ctl.cf);
	return ctl_usage(NULL);
}
