/* daemon.c - options, signals as flags, detach, privilege drop, shutdown */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_hup;
static sigset_t run_mask; /* the mask while not sleeping: signals blocked */

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

void
daemon_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(&run_mask);
	sigaddset(&run_mask, SIGTERM);
	sigaddset(&run_mask, SIGINT);
	sigaddset(&run_mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &run_mask, NULL);
}

bool
daemon_stopping(void)
{
	return got_stop != 0;
}

bool
daemon_take_reload(void)
{
	if (!got_hup)
		return false;
	got_hup = 0;
	return true;
}

int
daemon_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;
	sigset_t wait_mask;
	int n;

	if (got_stop || got_hup)
		return 0;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGHUP);
	n = ppoll(fds, nfds, tsp, &wait_mask);
	if (n == -1 && errno == EINTR)
		return 0;
	return n;
}

void
daemon_sleep(int ms)
{
	daemon_poll(NULL, 0, ms);
}

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
		log_warn("could not switch to user \"%s\"", user);
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_error("privileges were not dropped: setuid(0) succeeded");
		return -1;
	}
	log_debug("running as user \"%s\" (uid %ld)", user, (long)pw->pw_uid);
	return 0;
}

static int
daemon_setup_log(const struct conf *cf, bool fg)
{
	const char *file = conf_str(cf, "log", "file");

	log_set_level(log_parse_level(conf_str(cf, "log", "level")));
	if (*file != '\0') {
		if (log_to_file(file) == -1) {
			fprintf(stderr, "%s: could not open log file %s: %s\n",
			    log_progname(), file, strerror(errno));
			return -1;
		}
	} else if (!fg) {
		log_to_syslog();
	}
	return 0;
}

static const char *conf_file;
static bool foreground;

bool
daemon_reload(struct conf **cf)
{
	char err[1024];
	struct conf *fresh = conf_load(conf_file, err, sizeof(err));

	if (fresh == NULL) {
		log_error(
		    "reload refused, keeping the running config: %s", err);
		return false;
	}
	conf_free(*cf);
	*cf = fresh;
	/* reopen the log file: this is how log rotation is signalled */
	if (daemon_setup_log(*cf, foreground) == -1)
		log_error(
		    "could not reopen the log file; logging stays as it was");
	log_info("configuration reloaded from %s", conf_file);
	return true;
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: %s [-fhn] [-c file]\n", name);
}

static int
daemon_detach(void)
{
	int fd;

	switch (fork()) {
	case -1:
		log_warn("could not fork");
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
daemon_main(int argc, char **argv, const struct daemon_spec *spec)
{
	bool check_only = false, explicit;
	const char *opt_conf = NULL;
	struct conf *cf;
	char err[1024];
	int ch, status;

	log_init(spec->name);
	while ((ch = getopt(argc, argv, "c:fhn")) != -1) {
		switch (ch) {
		case 'c':
			opt_conf = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'h':
			usage(spec->name);
			return 0;
		default:
			usage(spec->name);
			return 2;
		}
	}
	if (optind != argc) {
		usage(spec->name);
		return 2;
	}
	conf_file = conf_resolve_path(opt_conf, &explicit);
	if ((cf = conf_load(conf_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (check_only) {
		printf("%s: configuration ok\n", conf_file);
		conf_free(cf);
		return 0;
	}
	if (daemon_setup_log(cf, foreground) == -1) {
		conf_free(cf);
		return 2;
	}
	daemon_signals_init();
	if (!foreground && daemon_detach() == -1) {
		conf_free(cf);
		return 1;
	}
	if ((spec->init != NULL && spec->init(cf) == -1) ||
	    daemon_drop_privileges(conf_str(cf, "site", "user")) == -1) {
		conf_free(cf);
		return 1;
	}
	log_info("started (config %s)", conf_file);
	status = spec->run(&cf);
	log_info("stopped%s", status == 0 ? "" : " with an error");
	conf_free(cf);
	return status;
}
