/*
 * fcgi_service.c - a FastCGI role's life: inboxes, socket, routes, the
 * main loop with its signals, and an orderly stop (see fcgi_service.h)
 */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fcgi_service.h"
#include "group_commit.h"
#include "refusal_log.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/signals.h"

/* A process runs one service: daemon_spec's callbacks find it here. */
static struct fcgi_service service;
static int listen_fd = -1;

/* How many inboxes role opens. */
static size_t
service_inboxes(const struct fcgi_role *role)
{
	size_t n = 0;

	while (n < FCGI_SERVICE_INBOXES && role->inboxes[n] != NULL)
		n++;
	return n;
}

/* Answer one request by the role's routes. */
static int
service_dispatch(struct fcgi_req *req, void *arg)
{
	struct fcgi_service *svc = arg;
	const struct fcgi_role *role = svc->role;
	const char *path = fcgi_path(req);

	atomic_fetch_add(&svc->requests, 1);
	for (size_t i = 0; i < role->nroutes; i++) {
		const struct fcgi_route *rt = &role->routes[i];

		if (strcmp(path, rt->path) != 0)
			continue;
		if (strcmp(fcgi_method(req), rt->method) != 0) {
			fcgi_add_header(req, "Allow", rt->method);
			return fcgi_error(
			    req, 405, "%s takes %s only", path, rt->method);
		}
		return rt->handle(req, svc->arg);
	}
	return fcgi_error(req, 404, "no such endpoint: %s", path);
}

int
fcgi_service_socket(const struct conf *cf, const char *sock)
{
	const char *group = conf_str(cf, "site", "fastcgi_group");
	const char *user = conf_str(cf, "site", "user");
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;
	struct group *gr;

	if (geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL) {
			log_error("[site] user: no such user \"%s\"", user);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (*group != '\0') {
		if ((gr = getgrnam(group)) == NULL) {
			log_error("[site] fastcgi_group: no such group \"%s\"",
			    group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	return fcgi_listen(sock, *group != '\0' ? 0660 : 0600, uid, gid, 1024);
}

/* Before privileges are dropped: the inboxes and the socket; 0 or -1. */
static int
service_init(struct conf *cf)
{
	const struct fcgi_role *role = service.role;
	const char *root = conf_str(cf, "site", "inbox_dir");
	const char *user = conf_str(cf, "site", "user");
	const char *sock = conf_str(cf, role->section, "fastcgi_socket");

	for (size_t i = 0; i < service_inboxes(role); i++)
		if (inbox_open_owned(
		        &service.inbox[i], root, role->inboxes[i], user) == -1)
			return -1;
	if ((listen_fd = fcgi_service_socket(cf, sock)) == -1)
		return -1;
	log_info("listening on %s", sock);
	return 0;
}

/* SIGHUP: reopen the log; reread the config, or say why not. */
static void
service_reload(struct fcgi_service *svc)
{
	if (svc->role->reload == NULL) {
		daemon_reopen_log(*svc->cfp);
		log_info("SIGHUP: log file reopened; %s rereads its config "
		         "only when restarted",
		    svc->role->name);
	} else if (daemon_reload(svc->cfp)) {
		svc->role->reload(svc);
	}
}

/* Answer requests while the role works, until SIGTERM; 0 or -1. */
static int
service_serve(struct fcgi_service *svc)
{
	struct fcgi_server *srv;

	fcgi_set_refusal_hook(refusal_log);
	srv = fcgi_server_start(listen_fd,
	    (int)conf_int(*svc->cfp, svc->role->section, "threads"),
	    service_dispatch, svc);
	if (srv == NULL)
		return -1;
	while (!signals_stopping()) {
		if (signals_take(SIGHUP))
			service_reload(svc);
		svc->role->work(svc);
		refusal_log_flush();
	}
	fcgi_server_stop(srv);
	return 0;
}

/* After privileges are dropped: the daemon's work; its exit status. */
static int
service_run(struct conf **cfp)
{
	struct fcgi_service *svc = &service;
	int status = 1;

	svc->cfp = cfp;
	if ((svc->gc = group_commit_start()) == NULL)
		goto out;
	if (svc->role->start(svc) == 0) {
		status = service_serve(svc) == 0 ? 0 : 1;
		svc->role->stop(svc);
	}
	group_commit_stop(svc->gc);
out:
	for (size_t i = 0; i < service_inboxes(svc->role); i++)
		inbox_close(&svc->inbox[i]);
	return status;
}

int
fcgi_service_main(int argc, char **argv, const struct fcgi_role *role)
{
	const struct daemon_spec spec = {
		.name = role->name,
		.section = role->section,
		.init = service_init,
		.run = service_run,
	};

	service.role = role;
	return daemon_main(argc, argv, &spec);
}
