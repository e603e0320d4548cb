/*
 * signals.h - signals as flags: SIGTERM/SIGINT stop, SIGHUP reload, and
 * SIGUSR1/SIGUSR2 for a program's own requests; a poll that wakes on them
 */
#ifndef SITESYS_SIGNALS_H
#define SITESYS_SIGNALS_H

#include <poll.h>
#include <stdbool.h>

/*
 * signals_init - install the flag-setting handlers and block the signals
 * outside signals_poll, so a check of the flags followed by a wait never
 * misses one; SIGPIPE is ignored
 */
void signals_init(void);

/* signals_stopping - true once SIGTERM or SIGINT has arrived */
bool signals_stopping(void);

/*
 * signals_stop - make the process stop as SIGTERM would: signals_stopping()
 * is true at once in every thread, and a signals_poll under way returns
 */
void signals_stop(void);

/* signals_take - true once per SIGHUP, SIGUSR1 or SIGUSR2 received */
bool signals_take(int signo);

/*
 * signals_poll - poll(2) that also returns early (0) when a signal arrives,
 * without the race between checking the flags and sleeping; -1 with errno
 */
int signals_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* signals_sleep - sleep ms, or less if a signal arrives */
void signals_sleep(int ms);

#endif
