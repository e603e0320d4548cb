/*
 * sitesys-notifyd - the notification server of a management point host:
 * holds a TLS connection from every online client, pushes the tasks the
 * site releases, and writes receipts, results and presence into bgb.box
 *
 * One process with one libevent loop (an event per connection); signals
 * stay flags (signals.h), read by a timer of the loop.
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "notifyd.h"
#include "tickets.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/evloop.h"
#include "util/log.h"
#include "util/signals.h"

#define ND_TICK_MS 200 /* how soon a signal is seen */
#define ND_REPORT_SECONDS 60 /* the component status row */
#define ND_SWEEP_SECONDS 30 /* expired pushes are dropped */
#define ND_TICKETS_SECONDS 3600 /* the ticket keys are read again */

/* The server: made by init (as root, before the privileges go), run by
 * run. */
static struct notifyd nd_server;

/* Every stop step is done: leave the loop. */
static void
nd_finish(struct notifyd *nd)
{
	for (struct nd_conn *c = nd->conns, *next; c != NULL; c = next) {
		next = c->next;
		nd_conn_close(c, NULL);
	}
	nd_http_free(nd);
	nd_bgb_flush(nd);
	nd_bgb_presence(nd, true);
	nd_pg_report(nd, "stopped");
	event_base_loopbreak(nd->base);
}

/* SIGTERM: no more clients; tell each to come back within the window. */
static void
nd_stop(struct notifyd *nd)
{
	int window =
	    (int)conf_int(*nd->cfp, "notifyd", "reconnect_window_seconds");

	nd->stopping = true;
	nd->stop_deadline = clock_mono() + ND_STOP_SECONDS;
	evconnlistener_disable(nd->listener);
	nd_http_goodbye(nd, window);
	log_info("stopping: telling %zu clients to come back within %d "
	         "seconds",
	    nd->nready, window);
	for (struct nd_conn *c = nd->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->closing)
			nd_conn_goodbye(c, window);
	}
}

/* Session tickets from [notifyd] ticket_file, if set; 0 or -1. */
static int
nd_tickets(const struct conf *cf, struct notifyd *nd)
{
	const char *path = conf_str(cf, "notifyd", "ticket_file");
	long rotate = 3600L * conf_int(cf, "notifyd", "ticket_rotate_hours");

	if (*path == '\0')
		return 0;
	if (nd_tickets_load(path, rotate) == -1 ||
	    nd_tickets_install(nd->ctx, 2 * rotate) == -1) {
		log_error("could not set up session tickets from \"%s\"", path);
		return -1;
	}
	return 0;
}

static void
nd_tick(evutil_socket_t fd, short what, void *arg)
{
	struct notifyd *nd = arg;
	const struct conf *cf;
	double now = clock_mono();

	(void)fd;
	(void)what;
	if (nd->stopping) {
		if (nd->nconns == 0 || now >= nd->stop_deadline)
			nd_finish(nd);
		return;
	}
	if (signals_stopping()) {
		nd_stop(nd);
		return;
	}
	if (signals_take(SIGHUP))
		daemon_reload(nd->cfp);
	cf = *nd->cfp;
	if (now >= nd->next_status) {
		nd_bgb_flush(nd);
		nd->next_status =
		    now + (double)conf_int(cf, "notifyd", "status_seconds");
	}
	if (signals_take(SIGUSR1) || now >= nd->next_presence) {
		nd_bgb_presence(nd, false);
		nd->next_presence = now +
		    60.0 * (double)conf_int(cf, "notifyd", "presence_minutes");
	}
	if (now >= nd->next_conns) {
		nd_conn_sweep(nd);
		nd->next_conns = now + 1.0;
	}
	if (now >= nd->next_sweep) {
		nd_push_sweep(nd, clock_now_us());
		nd->next_sweep = now + ND_SWEEP_SECONDS;
	}
	if (now >= nd->next_tickets) {
		nd_tickets(cf, nd);
		nd->next_tickets = now + ND_TICKETS_SECONDS;
	}
	if (now >= nd->next_report) {
		nd_pg_report(nd, "running");
		nd->next_report = now + ND_REPORT_SECONDS;
	}
}

/* The listener's fault (out of descriptors): logged; it goes on. */
static void
nd_listen_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_error("could not accept a connection: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* The sockets of the workers, bound by init; worker i takes fds[i]. */
static int nd_fds[ND_MAX_WORKERS];

/* Before privileges drop: the certificate, the inbox, the port. */
static int
nd_init(struct conf *cf)
{
	struct notifyd *nd = &nd_server;
	const char *listen = conf_str(cf, "notifyd", "listen");
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	memset(nd, 0, sizeof(*nd));
	snprintf(nd->server, sizeof(nd->server), "%s",
	    conf_str(cf, "notifyd", "server_name"));
	if (nd->server[0] == '\0' &&
	    gethostname(nd->server, sizeof(nd->server) - 1) == -1) {
		log_error("could not get the host name: %m");
		return -1;
	}
	if (evutil_parse_sockaddr_port(
	        listen, (struct sockaddr *)&ss, &sslen) == -1) {
		log_error("cannot listen on \"%s\": not ADDRESS:PORT", listen);
		return -1;
	}
	if ((nd->ctx = nd_tls_new(cf, nd)) == NULL)
		return -1;
	if (inbox_open_owned(&nd->box, conf_str(cf, "site", "inbox_dir"),
	        ND_BOX, conf_str(cf, "site", "user")) == -1)
		return -1;
	nd_raise_nofile();
	nd->nworkers = nd_workers_count(conf_int(cf, "notifyd", "workers"));
	if (nd_workers_listen(
	        (struct sockaddr *)&ss, sslen, nd->nworkers, nd_fds) == -1) {
		log_error("could not listen on %s", listen);
		return -1;
	}
	if ((nd->http_fd = nd_http_listen(cf)) == -1)
		return -1;
	return 0;
}

/* Let the flag handlers of signals.h run while the loop waits. */
static void
nd_unblock_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* One worker's loop until it stops; its exit status. */
static int
nd_loop(struct conf **cfp)
{
	struct notifyd *nd = &nd_server;
	struct timeval tv = { .tv_usec = ND_TICK_MS * 1000 };
	int status = 0;

	nd->cfp = cfp;
	strmap_init(&nd->slot_map, false);
	if ((nd->tick = event_new(nd->base, -1, EV_PERSIST, nd_tick, nd)) ==
	        NULL ||
	    event_add(nd->tick, &tv) == -1) {
		log_error("could not start the event loop: out of memory");
		return 1;
	}
	nd_unblock_signals();
	log_info("listening on %s as \"%s\"",
	    conf_str(*cfp, "notifyd", "listen"), nd->server);
	nd->next_tickets = clock_mono() + ND_TICKETS_SECONDS;
	/* an empty snapshot first: nobody is online here yet */
	nd_bgb_presence(nd, true);
	nd->next_presence = clock_mono() +
	    60.0 * (double)conf_int(*cfp, "notifyd", "presence_minutes");
	if (nd_http_start(nd, nd->http_fd) == -1)
		return 1;
	nd_pg_start(nd);
	if (event_base_dispatch(nd->base) == -1) {
		log_error("the event loop failed");
		status = 1;
	}
	if (nd->fatal)
		status = 1;
	nd_pg_stop(nd);
	nd_http_free(nd);
	for (struct nd_conn *c = nd->conns, *next; c != NULL; c = next) {
		next = c->next;
		nd_conn_close(c, NULL);
	}
	nd_push_free(nd);
	nd_accept_free(&nd->acc);
	nd_bgb_free(nd);
	event_free(nd->tick);
	evconnlistener_free(nd->listener);
	event_base_free(nd->base);
	SSL_CTX_free(nd->ctx);
	inbox_close(&nd->box);
	return status;
}

/* Worker i: its socket, its loop. */
static int
nd_worker(int i, void *arg)
{
	static char name[64];
	struct conf **cfp = arg;
	struct notifyd *nd = &nd_server;

	nd->cfp = cfp;
	nd->worker = i;
	if (nd->nworkers > 1) {
		snprintf(name, sizeof(name), "%s/%d", ND_NAME, i);
		log_init(name);
		for (int k = 0; k < nd->nworkers; k++)
			if (k != i)
				close(nd_fds[k]);
		/* the HTTP fallback's polls are the first worker's */
		if (i != 0 && nd->http_fd >= 0) {
			close(nd->http_fd);
			nd->http_fd = -1;
		}
	}
	if (nd_tickets(*cfp, nd) == -1)
		return 1;
	if ((nd->base = evloop_new()) == NULL ||
	    (nd->listener = evconnlistener_new(nd->base, nd_conn_accept, nd,
	         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
	         nd_fds[i])) == NULL) {
		log_error("could not make the event loop: out of memory");
		return 1;
	}
	evconnlistener_set_error_cb(nd->listener, nd_listen_error);
	nd_conn_pace(nd); /* off until the accepted clients are loaded */
	return nd_loop(cfp);
}

static int
nd_run(struct conf **cfp)
{
	struct notifyd *nd = &nd_server;

	if (nd->nworkers == 1)
		return nd_worker(0, cfp);
	return nd_workers_run(nd->nworkers, nd_worker, cfp);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = ND_NAME,
		.section = "notifyd",
		.init = nd_init,
		.run = nd_run,
	};

	return daemon_main(argc, argv, &spec);
}
