/*
 * notifyd.h - sitesys-notifyd, the notification server of a management
 * point host: prototypes grouped by file
 *
 * One process, one libevent loop: the clients' TLS connections, the
 * site database's connection (LISTEN), and the timers that write bgb.box.
 */
#ifndef SITESYS_NOTIFYD_H
#define SITESYS_NOTIFYD_H

#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "inbox.h"
#include "notify_frame.h"
#include "statemsg.h"
#include "util/buf.h"
#include "util/strmap.h"
#include "util/x509.h"

#define ND_NAME "sitesys-notifyd"
#define ND_BOX "bgb.box"
#define ND_HANDSHAKE_SECONDS 30 /* from accept to the end of the handshake */
#define ND_STOP_SECONDS 5 /* a stop waits this long for the last frames */
#define ND_EVENTS_MAX                                                          \
	1000000 /* events held while bgb.box cannot be
				 written; more are dropped and counted */
#define ND_GUID_LEN (STATEMSG_GUID_LEN + 1)
#define ND_MAX_WORKERS 64

struct notifyd;
struct nd_conn;
struct nd_poll;

/* Task events for one .bts file: their JSON objects, comma-separated. */
struct nd_events {
	struct buf text;
	size_t n; /* at most BGB_MAX_EVENTS */
};

/* A client a task waits for: not online here when its push was loaded. */
struct nd_waiter {
	char guid[ND_GUID_LEN];
	bool claimed; /* it came online here and holds the push in its slot */
};

/*
 * One task, shared by its pushes to every client. The clients online when
 * a push is loaded hold it in their slot; the others wait in wait, sorted
 * by GUID, until one connects here (nd_push_claim): a worker keeps no slot
 * for the clients of the other workers.
 */
struct nd_task {
	long long id;
	int64_t expires_us; /* valid_until, microseconds since the epoch */
	struct buf frame; /* its task frame, encoded */
	size_t refs; /* pushes that hold it, and one for wait while kept */
	struct nd_waiter *wait; /* sorted up to nsorted, then appended */
	size_t nwait, capwait, nsorted;
	struct nd_task *next;
};

/* One client ever named by the accepted set or a push. */
struct nd_slot {
	char guid[ND_GUID_LEN];
	struct nd_conn *conn; /* its connection with the handshake done */
	struct nd_task **pend; /* released, not yet received */
	size_t npend, cap;
	struct nd_poll *poll; /* its HTTP poll held, or NULL */
	double http_until; /* online over HTTP until then (monotonic) */
	int64_t http_since_us; /* when it began polling */
};

/* One client connection (conn.c). */
struct nd_conn {
	struct notifyd *nd;
	int fd;
	SSL *ssl;
	struct event *ev; /* EV_READ always, EV_WRITE while writing */
	struct buf out; /* what the socket has not taken yet; freed when
			   empty */
	char *failed; /* why a write failed; closed by the callback */
	double last_in; /* monotonic: the accept, then the last bytes in */
	char addr[48]; /* the peer, "ADDR:PORT" or "[ADDR6]:PORT" */
	char guid[ND_GUID_LEN]; /* from the verified certificate */
	char fp[X509_FINGERPRINT_LEN];
	struct nd_slot *slot; /* once ready */
	struct notify_decoder dec;
	int64_t since_us; /* when the handshake ended */
	bool refused; /* the verify callback refused it (and logged) */
	bool ready; /* the handshake is done, hello sent */
	bool closing; /* the last frames are being written */
	bool writing; /* the event asks for EV_WRITE */
	struct nd_conn *prev, *next;
};

/* The certificates accepted: fingerprint -> guid, from one query. */
struct nd_accept {
	PGresult *res; /* the rows: fingerprint, guid; the map's keys */
	struct strmap map; /* fingerprint -> row */
	bool loaded;
};

/* The site database, in the loop. */
struct nd_pg {
	PGconn *conn;
	struct event *ev; /* its socket: connecting, or notifications */
	struct event *retry; /* the next attempt */
	int backoff; /* seconds before the next attempt */
	bool up; /* connected, listening, loaded */
	bool lost_logged; /* the failure of the current outage was logged */
};

/* What the server has seen, for its status line. */
struct nd_counts {
	unsigned long accepted, refused, closed_bad, gone, pushed, received,
	    results, dropped_events;
};

struct notifyd {
	struct conf **cfp;
	struct event_base *base;
	SSL_CTX *ctx;
	struct evconnlistener *listener;
	struct evhttp *http; /* the HTTP fallback, or NULL */
	int http_fd; /* its socket, from init; -1 without one */
	size_t npolls; /* HTTP polls held */
	char server[256];
	struct nd_accept acc;
	struct nd_pg pg;
	long long max_seq; /* the highest release_seq loaded */
	struct strmap slot_map; /* guid -> index in slots */
	struct nd_slot **slots;
	size_t nslots, capslots;
	struct nd_task *tasks;
	struct nd_conn *conns; /* every connection, the handshake done or not */
	size_t nconns, nready;
	struct inbox box; /* bgb.box */
	struct nd_events *events; /* the .bts events not yet written, a
				     file's worth each */
	size_t nevents, nevent_files;
	bool write_failed; /* the last write into bgb.box failed (logged) */
	struct nd_counts n;
	struct event *tick;
	double next_status, next_presence, next_report, next_sweep;
	double next_tickets, next_conns;
	int worker, nworkers; /* this process is worker worker of nworkers */
	bool stopping;
	bool paced; /* the listener is off: handshakes enough under way */
	bool fatal; /* a fault that stops the server with status 1 */
	double stop_deadline;
};

/* tls.c - the server's TLS context */

/*
 * nd_tls_new - a TLS 1.3 server context with cf's [notifyd] cert (and
 * chain) and key, asking each client for its certificate and checking it
 * with nd_tls_verify against nd's accepted set; NULL, logged
 */
SSL_CTX *nd_tls_new(const struct conf *cf, struct notifyd *nd);

/*
 * nd_tls_resumed - the client of c's resumed session (whose certificate
 * was not verified in this handshake) checked as nd_tls_verify checks a
 * new one: 0 with c's GUID set, or -1 refused (logged)
 */
int nd_tls_resumed(struct nd_conn *c, SSL *ssl);

/* accept.c - the set of accepted certificates */

/*
 * nd_accept_load - replace the set by the clients registered, approved and
 * not blocked; 0, or -1 (logged; the old set kept)
 */
int nd_accept_load(struct notifyd *nd, PGconn *db);

/*
 * nd_accept_guid - the GUID of the accepted certificate of fingerprint
 * fp, or NULL if it is not accepted
 */
const char *nd_accept_guid(const struct notifyd *nd, const char *fp);

/* nd_accept_free - release the set */
void nd_accept_free(struct nd_accept *acc);

/* conn.c - the client connections */

/* nd_conn_accept - take a new TCP connection fd from addr (a listener
 * callback) */
void nd_conn_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg);

/*
 * nd_conn_pace - take connections, or stop taking them: with [notifyd]
 * handshakes under way, or before the accepted clients are first loaded,
 * the listener is off and the kernel keeps the rest queued (delayed,
 * never refused), so a reconnect storm settles instead of starving the
 * handshakes begun, and no client is refused for being early
 */
void nd_conn_pace(struct notifyd *nd);

/* nd_conn_send - encode doc as a frame to c (doc is kept); 0 or -1 logged */
int nd_conn_send(struct nd_conn *c, const json_t *doc);

/* nd_conn_send_raw - queue an encoded frame to c */
void nd_conn_send_raw(struct nd_conn *c, const struct buf *frame);

/*
 * nd_conn_close - close c now: its slot goes offline, its memory is freed;
 * why (may be NULL) is logged at level info when given
 */
void nd_conn_close(struct nd_conn *c, const char *why);

/*
 * nd_conn_goodbye - tell c to come back after a random delay within the
 * window, then close it once that frame is written
 */
void nd_conn_goodbye(struct nd_conn *c, int window_seconds);

/*
 * nd_conn_sweep - close the connections whose handshake took longer than
 * ND_HANDSHAKE_SECONDS, and count gone those silent longer than the
 * keepalive interval and its grace (called once a second)
 */
void nd_conn_sweep(struct notifyd *nd);

/*
 * nd_reconnect_frame - a reconnect frame with a delay drawn at random
 * within window_seconds, so that the clients come back spread
 */
json_t *nd_reconnect_frame(int window_seconds);

/* workers.c - several processes on one port */

/*
 * nd_workers_listen - n sockets bound to sa (salen bytes) with
 * SO_REUSEPORT, listening, into fds; 0, or -1 (logged; none left open)
 */
int nd_workers_listen(const struct sockaddr *sa, int salen, int n, int *fds);

/* nd_workers_count - [notifyd] workers: setting, or 0 for one per core */
int nd_workers_count(long long setting);

/* nd_raise_nofile - the open files limit up to its hard limit */
void nd_raise_nofile(void);

/*
 * nd_workers_run - fork n workers, each running work(i, arg) and exiting
 * with its status; pass SIGHUP and SIGUSR1 on to them, start again one
 * that dies, and at SIGTERM or SIGINT stop them all (killed if they take
 * too long); 0 once all have stopped, 1 if they could not be started
 */
int nd_workers_run(int n, int (*work)(int i, void *arg), void *arg);

/* http.c - the HTTP fallback: long polls through nginx */

/*
 * nd_http_listen - the unix socket of [notifyd] http_socket, for nginx
 * alone (as the FastCGI sockets are); the descriptor, -2 when the setting
 * is empty (no HTTP fallback), or -1 (logged)
 */
int nd_http_listen(const struct conf *cf);

/* nd_http_start - serve the polls arriving on fd (nothing if fd < 0);
 * 0, or -1 (logged) */
int nd_http_start(struct notifyd *nd, int fd);

/* nd_http_push - answer slot's held poll, if any, with its pending tasks */
void nd_http_push(struct notifyd *nd, struct nd_slot *s);

/* nd_http_goodbye - answer every held poll with a reconnect frame */
void nd_http_goodbye(struct notifyd *nd, int window_seconds);

/* nd_http_free - forget the held polls and stop serving */
void nd_http_free(struct notifyd *nd);

/* push.c - the released pushes, by client */

/* nd_slot_get - the slot of guid, made if create; NULL if absent */
struct nd_slot *nd_slot_get(struct notifyd *nd, const char *guid, bool create);

/*
 * nd_push_load - read the pushes released since the highest release_seq
 * seen and push each at once to its client if it is online; 0, or -1
 * (logged)
 */
int nd_push_load(struct notifyd *nd, PGconn *db);

/*
 * nd_push_claim - move into s the pushes that wait for its client (it
 * has just come online here)
 */
void nd_push_claim(struct notifyd *nd, struct nd_slot *s);

/* nd_push_connected - push to c (just ready) what its client has not
 * received and is still valid */
void nd_push_connected(struct notifyd *nd, struct nd_conn *c);

/* nd_push_received - the client of slot received task: drop its push */
void nd_push_received(struct notifyd *nd, struct nd_slot *slot, long long task);

/* nd_push_sweep - drop the pushes expired at now_us, and their tasks */
void nd_push_sweep(struct notifyd *nd, int64_t now_us);

/* nd_push_free - release every slot and task */
void nd_push_free(struct notifyd *nd);

/* pg.c - the site database in the event loop */

/*
 * nd_pg_start - begin connecting (without blocking the loop); once
 * connected: LISTEN, load the accepted set and the pushes. A failure or a
 * lost connection is logged and tried again with back-off, while the
 * pushes in memory are still delivered.
 */
void nd_pg_start(struct notifyd *nd);

/* nd_pg_report - the component status row, if connected */
void nd_pg_report(struct notifyd *nd, const char *state);

/* nd_pg_stop - close the connection */
void nd_pg_stop(struct notifyd *nd);

/* bgbfile.c - .bts and .bos files into bgb.box */

/*
 * nd_bgb_event - remember one task event ("pushed", "received", "result";
 * status, exit and output only for a result, has_exit when it has one)
 * for the next .bts file
 */
void nd_bgb_event(struct notifyd *nd, long long task, const char *guid,
    const char *event, const struct notify_frame *result);

/*
 * nd_bgb_flush - write the events remembered as .bts files (at most
 * BGB_MAX_EVENTS each); 0, or -1 (logged once until a write
 * succeeds; the events are kept for the next attempt)
 */
int nd_bgb_flush(struct notifyd *nd);

/*
 * nd_bgb_presence - write a .bos file of the clients online, or of none
 * when empty; 0, or -1 (logged)
 */
int nd_bgb_presence(struct notifyd *nd, bool empty);

/* nd_bgb_free - forget the events not written */
void nd_bgb_free(struct notifyd *nd);

#endif
