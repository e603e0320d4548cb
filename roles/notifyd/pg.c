/*
 * pg.c - the site database in the event loop: a connection made without
 * blocking (PQconnectStart), LISTEN on sitesys_push and sitesys_client,
 * their notifications read as the socket becomes readable, and a lost
 * connection made again with back-off while the loop goes on
 */
#include <event2/event.h>
#include <string.h>

#include "component.h"
#include "daemon.h"
#include "notifyd.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"

#define ND_PUSH_CHANNEL "sitesys_push" /* schema 007 */
#define ND_CLIENT_CHANNEL "sitesys_client" /* schema 005 */
#define ND_CONNECT_SECONDS 10 /* one attempt to connect */

static void nd_pg_poll(evutil_socket_t fd, short what, void *arg);

/* Close the connection and try again after the back-off. */
static void
nd_pg_fail(struct notifyd *nd, const char *what, const char *why)
{
	int max = (int)conf_int(*nd->cfp, "database", "retry_max_seconds");
	struct timeval tv;

	if (!nd->pg.lost_logged)
		log_error("%s: %s; the pushes already loaded are still "
		          "delivered",
		    what, why);
	nd->pg.lost_logged = true;
	if (nd->pg.ev != NULL)
		event_free(nd->pg.ev);
	nd->pg.ev = NULL;
	PQfinish(nd->pg.conn);
	nd->pg.conn = NULL;
	nd->pg.up = false;
	if (nd->stopping)
		return;
	nd->pg.backoff = nd->pg.backoff == 0 ? 1 : nd->pg.backoff * 2;
	if (nd->pg.backoff > max)
		nd->pg.backoff = max;
	tv.tv_sec = nd->pg.backoff;
	tv.tv_usec = 0;
	evtimer_add(nd->pg.retry, &tv);
}

/* One line of libpq's message. */
static const char *
nd_pg_msg(PGconn *conn, char *out, size_t len)
{
	const char *m = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t n = strcspn(m, "\n");

	snprintf(out, len, "%.*s", (int)n, m);
	return out;
}

/* Wait for the socket as libpq asks, within the attempt's time. */
static void
nd_pg_wait(struct notifyd *nd, short what)
{
	struct timeval tv = { .tv_sec = ND_CONNECT_SECONDS };

	if (nd->pg.ev != NULL)
		event_free(nd->pg.ev);
	nd->pg.ev =
	    event_new(nd->base, PQsocket(nd->pg.conn), what, nd_pg_poll, nd);
	if (nd->pg.ev == NULL || event_add(nd->pg.ev, &tv) == -1)
		nd_pg_fail(nd, "could not connect to the database",
		    "could not wait for its socket");
}

/* The clients accepted changed: reload, and close what is revoked. */
static void
nd_pg_clients(struct notifyd *nd)
{
	struct nd_conn *c, *next;

	if (nd_accept_load(nd, nd->pg.conn) == -1)
		return;
	for (c = nd->conns; c != NULL; c = next) {
		const char *guid;

		next = c->next;
		if (!c->ready || c->closing)
			continue;
		guid = nd_accept_guid(nd, c->fp);
		if (guid == NULL || strcmp(guid, c->guid) != 0)
			nd_conn_close(c,
			    "its certificate is no longer "
			    "accepted");
	}
}

/* Notifications, or the end of the connection. */
static void
nd_pg_read(evutil_socket_t fd, short what, void *arg)
{
	struct notifyd *nd = arg;
	bool push = false, clients = false;
	PGnotify *n;
	char msg[512];

	(void)fd;
	(void)what;
	if (PQconsumeInput(nd->pg.conn) == 0 ||
	    PQstatus(nd->pg.conn) != CONNECTION_OK) {
		nd_pg_fail(nd, "lost the database connection",
		    nd_pg_msg(nd->pg.conn, msg, sizeof(msg)));
		return;
	}
	while ((n = PQnotifies(nd->pg.conn)) != NULL) {
		if (strcmp(n->relname, ND_PUSH_CHANNEL) == 0)
			push = true;
		else if (strcmp(n->relname, ND_CLIENT_CHANNEL) == 0)
			clients = true;
		PQfreemem(n);
	}
	if (clients)
		nd_pg_clients(nd);
	if (push && nd_push_load(nd, nd->pg.conn) == -1 &&
	    !db_alive(nd->pg.conn))
		nd_pg_fail(nd, "lost the database connection", db_error());
}

/* Connected: refuse a superuser, LISTEN, load, then read notifications. */
static void
nd_pg_ready(struct notifyd *nd)
{
	const char *su = PQparameterStatus(nd->pg.conn, "is_superuser");

	if (su == NULL || strcmp(su, "off") != 0) {
		log_error("cannot run as the superuser \"%s\": connect as "
		          "sitesys_notifyd ([notifyd] conninfo)",
		    PQuser(nd->pg.conn));
		PQfinish(nd->pg.conn);
		nd->pg.conn = NULL;
		nd->fatal = true;
		event_base_loopbreak(nd->base);
		return;
	}
	if (db_listen(nd->pg.conn, ND_PUSH_CHANNEL) == -1 ||
	    db_listen(nd->pg.conn, ND_CLIENT_CHANNEL) == -1 ||
	    nd_accept_load(nd, nd->pg.conn) == -1 ||
	    nd_push_load(nd, nd->pg.conn) == -1) {
		nd_pg_fail(
		    nd, "could not set up the database connection", db_error());
		return;
	}
	nd_pg_clients(nd);
	nd_conn_pace(nd); /* the accepted clients are known: take them */
	if (nd->pg.lost_logged)
		log_info("connected to the database again");
	nd->pg.lost_logged = false;
	nd->pg.backoff = 0;
	nd->pg.up = true;
	if (nd->pg.ev != NULL)
		event_free(nd->pg.ev);
	nd->pg.ev = event_new(nd->base, PQsocket(nd->pg.conn),
	    EV_READ | EV_PERSIST, nd_pg_read, nd);
	if (nd->pg.ev == NULL || event_add(nd->pg.ev, NULL) == -1) {
		nd_pg_fail(nd, "could not watch the database connection",
		    "out of memory");
		return;
	}
	nd_pg_report(nd, "running");
}

static void
nd_pg_poll(evutil_socket_t fd, short what, void *arg)
{
	struct notifyd *nd = arg;
	char msg[512];

	(void)fd;
	if (what & EV_TIMEOUT) {
		nd_pg_fail(
		    nd, "could not connect to the database", "timed out");
		return;
	}
	switch (PQconnectPoll(nd->pg.conn)) {
	case PGRES_POLLING_READING:
		nd_pg_wait(nd, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		nd_pg_wait(nd, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		nd_pg_ready(nd);
		break;
	default:
		nd_pg_fail(nd, "could not connect to the database",
		    nd_pg_msg(nd->pg.conn, msg, sizeof(msg)));
	}
}

static void
nd_pg_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nd_pg_start(arg);
}

void
nd_pg_start(struct notifyd *nd)
{
	char msg[512];

	if (nd->pg.retry == NULL &&
	    (nd->pg.retry = evtimer_new(nd->base, nd_pg_retry, nd)) == NULL) {
		log_error("could not connect to the database: out of memory");
		return;
	}
	nd->pg.conn = PQconnectStart(daemon_db_conninfo(*nd->cfp));
	if (nd->pg.conn == NULL || PQstatus(nd->pg.conn) == CONNECTION_BAD) {
		nd_pg_fail(nd, "could not connect to the database",
		    nd_pg_msg(nd->pg.conn, msg, sizeof(msg)));
		return;
	}
	nd_pg_wait(nd, EV_WRITE);
}

void
nd_pg_report(struct notifyd *nd, const char *state)
{
	char detail[512];

	if (!nd->pg.up)
		return;
	snprintf(detail, sizeof(detail),
	    "%zu clients online; %lu connections accepted, %lu refused, %lu "
	    "closed for bad frames, %lu gone; %lu pushed, %lu received, %lu "
	    "results",
	    nd->nready, nd->n.accepted, nd->n.refused, nd->n.closed_bad,
	    nd->n.gone, nd->n.pushed, nd->n.received, nd->n.results);
	if (component_report(nd->pg.conn, state, detail) == -1 &&
	    !db_alive(nd->pg.conn))
		nd_pg_fail(nd, "lost the database connection", db_error());
}

void
nd_pg_stop(struct notifyd *nd)
{
	if (nd->pg.ev != NULL)
		event_free(nd->pg.ev);
	if (nd->pg.retry != NULL)
		event_free(nd->pg.retry);
	nd->pg.ev = nd->pg.retry = NULL;
	PQfinish(nd->pg.conn);
	nd->pg.conn = NULL;
	nd->pg.up = false;
}
