/*
 * run.c - the daemon: register with the management point, poll the policy
 * (answering resync requests), and send the outbox every send interval or
 * at once on SIGUSR1 (SIGUSR2: poll the policy at once); the notification
 * client (notify.c) runs beside it in a thread, and asks for a policy poll
 * by SIGUSR2 too
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"

/* When each periodic job is due, in seconds of the monotonic clock. */
struct run_sched {
	double next_poll, next_send;
	bool want_poll, want_send;
	struct policy pol; /* the last policy received */
};

/* The intervals in force: the policy's, else the configuration's. */
static double
run_send_seconds(const struct agent *ag, const struct run_sched *s)
{
	return 60.0 *
	    (s->pol.send_minutes > 0
	            ? s->pol.send_minutes
	            : conf_int(ag->cf, "agent", "send_minutes"));
}

static double
run_poll_seconds(const struct agent *ag, const struct run_sched *s)
{
	return 60.0 *
	    (s->pol.poll_minutes > 0
	            ? s->pol.poll_minutes
	            : conf_int(ag->cf, "agent", "policy_minutes"));
}

/* Poll the policy if it is due; a new resync makes a send due. */
static void
run_poll(struct agent *ag, struct run_sched *s, double now)
{
	struct policy p;
	int rc;

	if (!s->want_poll && now < s->next_poll)
		return;
	rc = mp_route_poll(ag, &p);
	if (rc >= 0) {
		if (p.send_minutes != s->pol.send_minutes ||
		    p.poll_minutes != s->pol.poll_minutes)
			log_info("policy: send every %d minutes, poll every %d "
			         "minutes (0: the configuration's)",
			    p.send_minutes, p.poll_minutes);
		s->pol = p;
	}
	if (rc == 1)
		s->want_send = true;
	s->want_poll = false;
	s->next_poll = now + run_poll_seconds(ag, s);
	if (s->next_send > now + run_send_seconds(ag, s))
		s->next_send = now + run_send_seconds(ag, s);
}

/* Send the outbox if it is due. */
static void
run_send(struct agent *ag, struct run_sched *s, double now)
{
	if (!s->want_send && now < s->next_send)
		return;
	mp_route_send(ag);
	s->want_send = false;
	s->next_send = now + run_send_seconds(ag, s);
}

/* Take the requests made by SIGUSR1 (send) and SIGUSR2 (poll). */
static void
run_take_requests(struct run_sched *s)
{
	if (signals_take(SIGUSR1))
		s->want_send = true;
	if (signals_take(SIGUSR2))
		s->want_poll = true;
}

/* Sleep until the next job, a signal, or a request by SIGUSR1/2. */
static void
run_wait(struct run_sched *s)
{
	double next = s->next_poll < s->next_send ? s->next_poll : s->next_send;
	double ms = (next - clock_mono()) * 1000.0 + 1;

	run_take_requests(s);
	if (s->want_poll || s->want_send)
		return;
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	signals_sleep((int)ms);
	run_take_requests(s);
}

/*
 * Write and lock dir/agent.pid for as long as the daemon runs; the locked
 * descriptor, or -1 (another daemon runs, or an error; logged)
 */
static int
run_pidfile(const struct store *st)
{
	char tmp[PATH_MAX], path[PATH_MAX], text[32];
	long other = agent_daemon_pid(st);
	int fd = -1;

	if (other > 0) {
		log_error("cannot run: another sitesys-agent (pid %ld) uses "
		          "\"%s\"",
		    other, st->dir);
		return -1;
	}
	snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (store_paths(st->dir, "agent.pid", path, tmp) == -1 ||
	    (fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	        -1 ||
	    flock(fd, LOCK_EX | LOCK_NB) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    rename(tmp, path) == -1) {
		log_error("could not write \"%s/agent.pid\": %m", st->dir);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Remove agent.pid at a clean stop, while it is still locked. */
static void
run_pidfile_remove(const struct store *st, int fd)
{
	char path[PATH_MAX];

	if (fsio_join(path, sizeof(path), st->dir, "agent.pid") == -1 ||
	    unlink(path) == -1)
		log_error("could not remove \"%s/agent.pid\": %m", st->dir);
	close(fd);
}

/* SIGHUP: reread the configuration, then poll the policy at once. */
static void
run_reload(struct agent *ag, struct conf **cfp, struct run_sched *s)
{
	char *dir = strdup(ag->st.dir);

	if (dir == NULL || !daemon_reload(cfp)) {
		free(dir);
		return;
	}
	agent_settings(ag, *cfp);
	if (strcmp(dir, conf_str(*cfp, "agent", "state_dir")) != 0)
		log_warn("a new [agent] state_dir takes effect at restart; "
		         "still using \"%s\"",
		    dir);
	free(dir);
	s->want_poll = true;
}

/* A restart is a refresh cycle: back to a local management point. */
static void
run_fallback_restart(struct store *st)
{
	struct fb_state fs;
	char why[1024];

	if (store_lock(st) == -1)
		return;
	if (fb_state_load(st->dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s; starting over", why);
	fb_state_restart(&fs, clock_now_us() / 1000000);
	if (fb_state_save(st->dir, &fs) == -1)
		log_error("could not write the fallback state: %m");
	store_unlock(st);
}

/* The daemon's work until SIGTERM; the exit status. */
static int
run_loop(struct conf **cfp)
{
	struct run_sched s = { 0 };
	struct agent ag;
	int pidfd, status = 1;

	memset(&ag, 0, sizeof(ag));
	agent_settings(&ag, *cfp);
	if (http_global_init() == -1 || agent_open(&ag) == -1)
		return 1;
	if ((pidfd = run_pidfile(&ag.st)) == -1)
		goto out;
	log_info("client %s, state directory \"%s\"", ag.st.guid, ag.st.dir);
	run_fallback_restart(&ag.st);
	mp_route_refresh(&ag);
	mp_route_register(&ag);
	/* after the registration, which the notification server needs; a
	 * client that cannot start it still polls and sends */
	(void)notify_start(&ag);
	s.want_poll = s.want_send = true;
	while (!signals_stopping()) {
		if (signals_take(SIGHUP))
			run_reload(&ag, cfp, &s);
		run_poll(&ag, &s, clock_mono());
		run_send(&ag, &s, clock_mono());
		run_wait(&s);
	}
	status = 0;
	notify_stop();
	run_pidfile_remove(&ag.st, pidfd);
out:
	store_close(&ag.st);
	return status;
}

/* Before privileges are dropped: a state directory for [site] user. */
static int
run_init(struct conf *cf)
{
	return agent_prepare_dir(cf);
}

int
run_main(struct daemon_opts *o, int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = AGENT_NAME,
		.init = run_init,
		.run = run_loop,
		.usage = agent_usage,
	};
	struct daemon_opts more;
	int status;

	if ((status = daemon_options(argc, argv, &spec, &more)) != -1)
		return status;
	if (more.conf != NULL)
		o->conf = more.conf;
	o->foreground |= more.foreground;
	o->check_only |= more.check_only;
	return daemon_start(o, &spec);
}
