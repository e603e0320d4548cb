/*
 * fcgi_service.h - the skeleton of a role that answers HTTP behind nginx
 * over FastCGI (sitesys-fsp, sitesys-mp): its main() is a table of routes
 * and a few callbacks
 *
 * On top of the daemon skeleton (daemon.h): before privileges are dropped
 * to [site] user, the role's inboxes are opened (and handed to that user)
 * and the socket [SECTION] fastcgi_socket is made, open to every user as
 * nginx's workers run as another. Then a group commit and the role's
 * start(); [SECTION] threads threads answer the routes while the main
 * thread calls work() until SIGTERM or SIGINT; SIGHUP reopens the log
 * file and rereads the configuration. Each refused request is logged
 * (refusal_log.h). At the end the threads finish the requests under way and
 * take no more, stop() runs, and what is queued is made durable.
 */
#ifndef SITESYS_FCGI_SERVICE_H
#define SITESYS_FCGI_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>

#include "inbox.h"
#include "util/fcgi_server.h"

#define FCGI_SERVICE_INBOXES 2 /* most inboxes a role opens */

struct conf;
struct fcgi_service;

/*
 * One endpoint. A request for path goes to handle, with the arg that the
 * role's start() set; the wrong method is answered 405 with "Allow", a
 * path without a route 404, both with the reason in JSON.
 */
struct fcgi_route {
	const char *method; /* "POST" */
	const char *path; /* "/fsp/v1/statemsg" */
	fcgi_handler handle;
};

/* A FastCGI role, as fcgi_service_main runs it. */
struct fcgi_role {
	const char *name; /* the program, "sitesys-fsp" */
	const char *section; /* of the config: fastcgi_socket, threads, and
			      * conninfo where the role uses the database */
	const char *inboxes[FCGI_SERVICE_INBOXES]; /* to open; NULL ends */
	const struct fcgi_route *routes;
	size_t nroutes;
	/* after privileges are dropped, before the first request: set
	 * svc->arg for the handlers; 0, or -1 (logged) to exit 1 */
	int (*start)(struct fcgi_service *svc);
	/* the role's own work, called again and again until SIGTERM; it
	 * waits (signals_poll, signals_sleep) for what it waits for */
	void (*work)(struct fcgi_service *svc);
	/* after SIGHUP has reread the config; NULL: the role takes a new
	 * config only when it is restarted, and says so in the log (the log
	 * file is reopened either way) */
	void (*reload)(struct fcgi_service *svc);
	/* after the threads have stopped: release what start took */
	void (*stop)(struct fcgi_service *svc);
};

/* What the skeleton gives a role's callbacks. */
struct fcgi_service {
	const struct fcgi_role *role;
	struct conf **cfp; /* the current config; SIGHUP may replace it */
	struct inbox inbox[FCGI_SERVICE_INBOXES]; /* role->inboxes, open */
	struct group_commit *gc; /* for the intake into the inboxes */
	void *arg; /* the role's own state, for its handlers */
	atomic_ulong requests; /* requests taken since the start */
};

/*
 * fcgi_service_main - run role as a daemon, as described above, with the
 * options of daemon_options; the exit status (0 when stopped by a signal,
 * 1 if it could not start, 2 for bad usage or a bad config)
 */
int fcgi_service_main(int argc, char **argv, const struct fcgi_role *role);

/*
 * fcgi_service_socket - listen on the unix socket sock for nginx alone:
 * what nginx vouches for (the client's certificate) must not be claimed by
 * someone speaking around it. The socket is mode 0660 with [site]
 * fastcgi_group, nginx's workers' group, or 0600 without one (nginx runs
 * as [site] user then); as root, it belongs to [site] user. The
 * descriptor, or -1 logged
 */
int fcgi_service_socket(const struct conf *cf, const char *sock);

#endif
