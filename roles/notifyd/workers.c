/*
 * workers.c - several notifyd processes on one port, as nginx's workers:
 * each has a socket of its own bound to the port with SO_REUSEPORT, so the
 * kernel spreads the connections between them, and holds its own clients
 * (a process may have only so many open files). The first process makes
 * the sockets, then watches over the workers: it passes on the signals,
 * and starts again a worker that died, whose socket it kept open, so that
 * the connections queued there wait (delayed, never refused).
 */
#include <errno.h>
#include <event2/util.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notifyd.h"
#include "util/log.h"
#include "util/signals.h"

#define ND_BACKLOG 4096 /* connections queued per worker (somaxconn) */
#define ND_RESTART_MS 1000 /* a dead worker is started again after */
#define ND_KILL_SECONDS 15 /* after SIGTERM, a worker is killed after */

int
nd_workers_listen(const struct sockaddr *sa, int salen, int n, int *fds)
{
	int one = 1;

	for (int i = 0; i < n; i++) {
		fds[i] = socket(sa->sa_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] == -1 ||
		    setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one,
		        sizeof(one)) == -1 ||
		    setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one,
		        sizeof(one)) == -1 ||
		    bind(fds[i], sa, (socklen_t)salen) == -1 ||
		    listen(fds[i], ND_BACKLOG) == -1) {
			log_error("could not listen: %m");
			for (int k = 0; k <= i; k++)
				if (fds[k] != -1)
					close(fds[k]);
			return -1;
		}
	}
	return 0;
}

int
nd_workers_count(long long setting)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (setting > 0)
		return (int)setting;
	return cores > 0 && cores <= ND_MAX_WORKERS ? (int)cores : 1;
}

void
nd_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("could not raise the open files limit: %m");
	}
}

/* Start worker i: a child that runs work(i) and exits with its status. */
static pid_t
start(int i, int (*work)(int, void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(work(i, arg));
	if (pid == -1)
		log_error("could not start worker %d: %m", i);
	return pid;
}

/* Pass signo on to every worker alive. */
static void
tell(const pid_t *pids, int n, int signo)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], signo);
}

/* Reap what ended; a worker that died unasked is started again. */
static int
reap(pid_t *pids, int n, bool stopping, int (*work)(int, void *), void *arg)
{
	int st, alive = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			if (stopping)
				break;
			if (WIFSIGNALED(st))
				log_error("worker %d (pid %ld) was killed by "
				          "signal %d; starting it again",
				    i, (long)pid, WTERMSIG(st));
			else
				log_error("worker %d (pid %ld) exited with "
				          "status %d; starting it again",
				    i, (long)pid, WEXITSTATUS(st));
			signals_sleep(ND_RESTART_MS);
			pids[i] = start(i, work, arg);
		}
	for (int i = 0; i < n; i++)
		alive += pids[i] > 0;
	return alive;
}

int
nd_workers_run(int n, int (*work)(int, void *), void *arg)
{
	pid_t pids[ND_MAX_WORKERS] = { 0 };
	int waited = 0;

	for (int i = 0; i < n; i++)
		if ((pids[i] = start(i, work, arg)) == -1) {
			tell(pids, i, SIGTERM);
			return 1;
		}
	log_info("started %d workers", n);
	while (!signals_stopping()) {
		if (signals_take(SIGHUP))
			tell(pids, n, SIGHUP);
		if (signals_take(SIGUSR1))
			tell(pids, n, SIGUSR1);
		reap(pids, n, false, work, arg);
		signals_sleep(200);
	}
	tell(pids, n, SIGTERM);
	/* bounded: the workers have ND_KILL_SECONDS to say goodbye */
	while (reap(pids, n, true, work, arg) > 0) {
		if (++waited == ND_KILL_SECONDS * 10) {
			log_error("workers still running after %d seconds: "
			          "killed",
			    ND_KILL_SECONDS);
			tell(pids, n, SIGKILL);
		}
		usleep(100000);
	}
	return 0;
}
