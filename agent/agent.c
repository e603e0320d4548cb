/*
 * agent.c - what every command and the daemon share: the usage, the
 * settings, and the state directory the agent works in (the [site] user's
 * when started as root, as the daemon skeleton does, so that the CLI and
 * the daemon share one state directory)
 */
#include <errno.h>
#include <fcntl.h>
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
	struct http_conf *mp = &ag->mp_conf, *fsp = &ag->fsp_conf;

	ag->cf = cf;
	snprintf(
	    ag->name, sizeof(ag->name), "%s", conf_str(cf, "agent", "name"));
	if (ag->name[0] == '\0' &&
	    gethostname(ag->name, sizeof(ag->name) - 1) == -1)
		snprintf(ag->name, sizeof(ag->name), "localhost");
	/* management points: HTTPS only, the site CA alone, the identity
	 * (set by agent_open); the FSP: anonymous, plain HTTP by design */
	mp->timeout = fsp->timeout =
	    (long)conf_int(cf, "agent", "timeout_seconds");
	mp->ca = fsp->ca = conf_str(cf, "agent", "site_ca");
	mp->crl = fsp->crl = conf_str(cf, "agent", "site_crl");
	mp->user_agent = fsp->user_agent = AGENT_NAME;
	mp->protocols = "https";
	fsp->protocols = "http,https";
	http_curl_ops(&ag->http, mp);
	http_curl_ops(&ag->http_fsp, fsp);
}

int
agent_open(struct agent *ag)
{
	const struct conf *cf = ag->cf;

	if (agent_prepare_dir(cf) == -1 ||
	    daemon_drop_privileges(conf_str(cf, "site", "user")) == -1 ||
	    store_open(&ag->st, conf_str(cf, "agent", "state_dir")) == -1)
		return -1;
	ag->mp_conf.cert = ag->st.cert_path;
	ag->mp_conf.key = ag->st.key_path;
	return 0;
}
