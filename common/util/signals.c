/* signals.c - signals as flags, and a poll that wakes on them */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_hup;
static volatile sig_atomic_t got_usr1;
static volatile sig_atomic_t got_usr2;
static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	case SIGUSR2:
		got_usr2 = 1;
		break;
	default:
		got_stop = 1;
	}
}

void
signals_init(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
		sigaction(caught[i], &sa, NULL);
		sigaddset(&set, caught[i]);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

bool
signals_stopping(void)
{
	return got_stop != 0;
}

void
signals_stop(void)
{
	got_stop = 1;
	/* wakes the thread that waits in signals_poll, whichever it is */
	kill(getpid(), SIGTERM);
}

bool
signals_take(int signo)
{
	volatile sig_atomic_t *flag;

	switch (signo) {
	case SIGHUP:
		flag = &got_hup;
		break;
	case SIGUSR1:
		flag = &got_usr1;
		break;
	case SIGUSR2:
		flag = &got_usr2;
		break;
	default:
		return false;
	}
	if (!*flag)
		return false;
	*flag = 0;
	return true;
}

int
signals_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;
	sigset_t wait_mask;
	int n;

	if (got_stop || got_hup || got_usr1 || got_usr2)
		return 0;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigdelset(&wait_mask, caught[i]);
	n = ppoll(fds, nfds, tsp, &wait_mask);
	if (n == -1 && errno == EINTR)
		return 0;
	return n;
}

void
signals_sleep(int ms)
{
	signals_poll(NULL, 0, ms);
}
