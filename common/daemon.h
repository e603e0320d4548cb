/* daemon.h - the skeleton every sitesys daemon's main() calls */
#ifndef SITESYS_DAEMON_H
#define SITESYS_DAEMON_H

#include <poll.h>
#include <stdbool.h>

struct conf;

struct daemon_spec {
	const char *name; /* program name, e.g. "sitesys-statesys" */
	/* after the config is read, before privileges are dropped: 0 or -1 */
	int (*init)(struct conf *cf);
	/* the daemon's work until daemon_stopping(); returns the exit status */
	int (*run)(struct conf **cfp);
};

/*
 * daemon_main - parse -c/-f/-n/-h, read the config, set up logging and
 * signals, detach unless -f, call init, drop to [site] user, call run.
 * Exit status: 0 stopped cleanly, 1 failure, 2 bad usage or config.
 */
int daemon_main(int argc, char **argv, const struct daemon_spec *spec);

/* daemon_stopping - true once SIGTERM or SIGINT has arrived */
bool daemon_stopping(void);

/* daemon_take_reload - true once per SIGHUP received */
bool daemon_take_reload(void);

/* daemon_reload - reread the config into *cf; on failure keep the old one */
bool daemon_reload(struct conf **cf);

/*
 * daemon_poll - poll(2) that also returns early (0) when a signal arrives,
 * without the race between checking the flags and sleeping
 */
int daemon_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* daemon_sleep - sleep ms, or less if a signal arrives */
void daemon_sleep(int ms);

/* daemon_drop_privileges - become user if root; 0 or -1 (logged) */
int daemon_drop_privileges(const char *user);

/* daemon_signals_init - install the flag-setting handlers (blocked) */
void daemon_signals_init(void);

#endif
