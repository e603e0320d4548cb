/*
 * agent.h - sitesys-agent, the state-message part of the managed computer's
 * client: prototypes grouped by file
 */
#ifndef SITESYS_AGENT_H
#define SITESYS_AGENT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct daemon_opts;

#include "inbox.h"
#include "location/location.h"
#include "notify_frame.h"
#include "statemsg.h"
#include "util/http_client.h"
#include "util/x509.h"

struct conf;

#define AGENT_NAME "sitesys-agent"
#define AGENT_OUTBOX_FORMAT "sitesys.agent-outbox/1"
#define AGENT_CACHE_FORMAT "sitesys.agent-cache/1"
#define AGENT_RESYNC_TOPIC 700 /* topic type of the completion message */
#define AGENT_RESYNC_DONE 2 /* its state: resync complete */
#define AGENT_TIME_LEN 32 /* "2026-11-22T10:00:00.000Z" and NUL */
/* room left in a batch body for its envelope: format, client, signature
 * (at most 100 bytes of its own), braces and brackets; test_agent checks
 * that the fullest batch stays within STATEMSG_MAX_BODY */
#define AGENT_BATCH_ENVELOPE 256

/* msg.c - one state message: arguments, time, identity */

/* The arguments of one state message, as the user gave them. */
struct msg_args {
	const char *topic_type, *topic_id, *id_type, *state, *criticality;
	const char *details;
	const char *params[STATEMSG_MAX_PARAMS + 1];
	size_t nparams;
	bool too_many_params;
};

/* msg_build - check args against statemsg.h limits; the message or NULL */
json_t *msg_build(const struct msg_args *a, char *why, size_t whylen);

/* msg_now - the current UTC time, RFC 3339 with milliseconds and "Z" */
void msg_now(char out[AGENT_TIME_LEN]);

/* msg_new_guid - "GUID:" and a fresh random (version 4) UUID; 0 or -1 */
int msg_new_guid(char out[STATEMSG_GUID_LEN + 1]);

/* msg_json_size - bytes of msg printed compactly, as in a batch */
size_t msg_json_size(const json_t *msg);

/* store.c - the state directory: identity, serials, outbox, cache */

struct store {
	char *dir;
	int lock_fd; /* the open lock file; locked while lock_depth > 0 */
	int lock_depth;
	struct inbox outbox; /* dir/outbox: tmp/, incoming/, corrupt/ */
	char guid[STATEMSG_GUID_LEN + 1];
	/* the identity (identity.c): key and certificate, and their files */
	EVP_PKEY *key;
	X509 *cert;
	char fingerprint[X509_FINGERPRINT_LEN]; /* the certificate's SHA-256 */
	char key_path[PATH_MAX], cert_path[PATH_MAX];
};

/* One outbox file: the messages it holds and their printed size. */
struct outbox_file {
	char name[INBOX_NAME_MAX + 1];
	json_t *msgs; /* array of messages */
	size_t bytes;
};

/* store_make_dir - create dir 0700 (parents 0755) unless it exists */
int store_make_dir(const char *dir);

/*
 * store_open - open (creating, 0700) the state directory dir and load or
 * make the identity (the GUID, then identity_open's key and certificate);
 * 0, or -1 with the cause logged
 */
int store_open(struct store *st, const char *dir);

/* store_close - release the store (and its lock) */
void store_close(struct store *st);

/* store_lock - take the state directory's lock (nests); 0 or -1 logged */
int store_lock(struct store *st);

/* store_unlock - release one level of store_lock */
void store_unlock(struct store *st);

/* store_serial - the last serial taken (0: none yet); 0 or -1 logged */
int store_serial(struct store *st, long long *last);

/* store_raise - give msg the next serial and the time now, cache it and
 * queue it durably; 0 (serial in *serial), or -1 logged */
int store_raise(struct store *st, json_t *msg, long long *serial);

/* store_cache - the cached latest message of each topic, oldest first */
json_t *store_cache(struct store *st);

/*
 * store_resync - answer the resync request of time requested: queue the
 * whole cache renumbered and the completion message, then remember the
 * request as answered; 0 (messages queued in *n), or -1 logged
 */
int store_resync(struct store *st, const char *requested, size_t *n);

/* store_resync_answered - the last answered request time, "" if none */
int store_resync_answered(struct store *st, char *out, size_t len);

/*
 * store_outbox_list - the outbox files in serial order (corrupt ones are
 * moved aside); 0, or -1 logged
 */
int store_outbox_list(struct store *st, struct outbox_file **files, size_t *n);

/* store_outbox_free - release what store_outbox_list returned */
void store_outbox_free(struct outbox_file *files, size_t n);

/* store_outbox_remove - delete files that were delivered; 0 or -1 logged */
int store_outbox_remove(
    struct store *st, const struct outbox_file *files, size_t n);

/* store_status - status.json: what the last send and policy poll did */
json_t *store_status(struct store *st);

/* store_status_set - replace member key of status.json; 0 or -1 logged */
int store_status_set(struct store *st, const char *key, json_t *value);

/* store_write_file - replace dir/name by write-temp-fsync-rename */
int store_write_file(
    const char *dir, const char *name, const void *data, size_t len);

/*
 * store_paths - dir/name into path and dir/.name.tmp, the file it is
 * written as before the rename, into tmp; 0, or -1 with errno
 * ENAMETOOLONG when either would not fit in PATH_MAX bytes
 */
int store_paths(
    const char *dir, const char *name, char path[PATH_MAX], char tmp[PATH_MAX]);

/* identity.c - the client's key and self-signed certificate */

#define IDENTITY_KEY_FILE "identity.key"
#define IDENTITY_CERT_FILE "identity.crt"
#define IDENTITY_OU AGENT_NAME /* the certificate's organizational unit */
#define IDENTITY_DAYS (20 * 365 + 5) /* valid for 20 years */

/*
 * identity_open - load st->dir's key and certificate into st, making them
 * on the first start: the key (0600) when there is none, the certificate
 * (self-signed, CN the GUID) when there is none beside the key. A key that
 * cannot be used, a certificate without its key, or one that is not the
 * key's or names another client is refused: -1, logged as "PATH: reason",
 * and nothing is made. The caller holds the lock and has set st->guid.
 */
int identity_open(struct store *st);

/* identity_made - whether st->dir holds a key or a certificate */
bool identity_made(const struct store *st);

/* identity_close - release what identity_open loaded */
void identity_close(struct store *st);

/* reply.c - the answers of HTTP requests */

/* A management point's error answer, {"error": reason, "code": code}. */
struct mp_error {
	char code[32]; /* "" when the answer is not one */
	char reason[400];
};

/* http_reply_error - r's error answer into e (empty when it has none) */
void http_reply_error(const struct http_reply *r, struct mp_error *e);

/*
 * http_reply_why - "URL answered HTTP N", with ": reason (code)" when the
 * answer says why, into why
 */
void http_reply_why(
    const char *url, const struct http_reply *r, char *why, size_t whylen);

/* approval.c - the registration as the management point last saw it */

/*
 * approval_note - the management point's latest word on this client's
 * registration: state "approved", "pending", or an error code of its
 * answer ("unregistered", "blocked", "identity-mismatch", ...) with its
 * reason; kept in status.json as "registration", and logged when the
 * state changes (only then)
 */
void approval_note(struct store *st, const char *state, const char *reason);

/* send.c - deliver the outbox in batches: the MP, else the FSP */

/* send_pack - how many files from the head of files fit one batch */
size_t send_pack(const struct outbox_file *files, size_t n);

/*
 * send_batch_doc - the sitesys.statemsg/1 batch of files[0..count) for
 * guid, signed with key ("signature": x509_sign of statemsg_signed_text);
 * NULL with why when it could not be signed
 */
json_t *send_batch_doc(const char *guid, EVP_PKEY *key,
    const struct outbox_file *files, size_t count, char *why, size_t whylen);

/*
 * send_outbox - deliver the whole outbox: each batch to mp_url through
 * mp, else to fsp_url through fsp; 0 when it is empty after, -1 when
 * something is left for the next attempt (the reason is logged and kept in
 * status.json)
 */
int send_outbox(struct store *st, const struct http_ops *mp, const char *mp_url,
    const struct http_ops *fsp, const char *fsp_url);

/* policy.c - registration and policy */

/* The policy as last received. */
struct policy {
	int send_minutes, poll_minutes; /* 0: not set by the policy */
	char resync[AGENT_TIME_LEN]; /* "" when no resync is requested */
};

/* policy_register_doc - the sitesys.register/1 request body */
json_t *policy_register_doc(
    const char *guid, const char *name, json_t *addresses);

/* policy_parse - check a sitesys.policy/1 answer for guid; 0 or -1 why */
int policy_parse(const char *body, size_t len, const char *guid,
    struct policy *p, char *why, size_t whylen);

/* policy_register - register with the MP; 0, or -1 logged (a refusal
 * of the registration only when it is new: approval_note) */
int policy_register(struct store *st, const struct http_ops *http,
    const char *mp_url, const char *name);

/*
 * policy_poll - fetch and apply the policy (registering again, once, when
 * the management point answers 403 "unregistered"; answering a new resync
 * request); 1 when a resync was queued, 0, or -1 logged (a refusal of the
 * registration only when it is new: approval_note)
 */
int policy_poll(struct store *st, const struct http_ops *http,
    const char *mp_url, const char *name, struct policy *p);

/* netaddr.c - the computer's addresses */

/* netaddr_list - non-loopback IPv4/IPv6 addresses as "addr/prefix" */
json_t *netaddr_list(void);

/* main.c, cmd.c, run.c - the program */

/* What every command works with. */
struct agent {
	struct conf *cf;
	struct store st;
	struct http_ops http; /* management points: the identity, HTTPS */
	struct http_ops http_fsp; /* the fallback status point: anonymous */
	struct http_conf mp_conf, fsp_conf; /* what http and http_fsp read */
	char name[256];
};

/* agent_open - open the state directory, as [site] user if root, and
 * present its identity to management points */
int agent_open(struct agent *ag);

/* agent_settings - take the name and the HTTP clients' settings from cf */
void agent_settings(struct agent *ag, struct conf *cf);

/* agent_prepare_dir - as root, make state_dir owned by [site] user */
int agent_prepare_dir(const struct conf *cf);

/* agent_daemon_pid - the pid of the running daemon, 0 if none */
long agent_daemon_pid(const struct store *st);

/* Each command checks its arguments, then calls agent_open. */

/* cmd_state - raise one state message; an exit status */
int cmd_state(struct agent *ag, int argc, char **argv);

/* cmd_send - have the daemon send, or send once; an exit status */
int cmd_send(struct agent *ag, int argc, char **argv);

/* cmd_policy - have the daemon poll, or poll once; an exit status */
int cmd_policy(struct agent *ag, int argc, char **argv);

/* cmd_show - print identity, serial, outbox, cache, status */
int cmd_show(struct agent *ag, int argc, char **argv);

/* cmd_location - the answer for a role and the source in use; a status */
int cmd_location(struct agent *ag, int argc, char **argv);

/* agent_usage - the synopsis on fp; returns status */
int agent_usage(FILE *fp, int status);

/* run_main - the "run" command: the daemon, on the shared skeleton */
int run_main(struct daemon_opts *o, int argc, char **argv);

/*
 * fallback.c, fallback_dp.c, fallback_sup.c, fallback_mp.c - which source
 * of a location answer the client uses now (seed 003: "fallback"). Times
 * are seconds on one clock the caller gives (the wall clock in the agent,
 * any numbers in tests); failures are reported by the caller.
 */

#define FB_DP_TRY_SECONDS 120 /* each distribution point for two minutes */
#define FB_SUP_HOLD_SECONDS 7200 /* the last known-good SUP for 120 min */
#define FB_MP_ERRORS 5 /* five errors ... */
#define FB_MP_WINDOW_SECONDS 600 /* ... within ten minutes move on */
#define FB_MP_REFRESH_SECONDS 86400 /* back to a local MP once a day */

/* A random number below n (n > 0); tests give their own. */
typedef uint32_t (*fb_rnd_fn)(void *ctx, uint32_t n);

/* The sources of an answer in the order a walker goes through them. */
struct fb_list {
	const struct loc_source **v;
	size_t n;
};

/* fb_list_by_minute - a's sources, stably by minute (a pool grows at its
 * end); 0, or -1 out of memory */
int fb_list_by_minute(const struct loc_answer *a, struct fb_list *l);

/* fb_list_by_locality - a's sources, stably by locality, 3 first */
int fb_list_by_locality(const struct loc_answer *a, struct fb_list *l);

/* fb_list_free - release a list (not the answer it points into) */
void fb_list_free(struct fb_list *l);

/* fb_pool_size - how many of l's head are usable elapsed seconds into
 * fallback (their minute has come) */
size_t fb_pool_size(const struct fb_list *l, int64_t elapsed);

/* fb_find - the index of the source named name in l, or -1 */
long fb_find(const struct fb_list *l, const char *name);

/* fb_random - a uniform random number below n, from getrandom(2) */
uint32_t fb_random(void *ctx, uint32_t n);

/* Distribution points (and state migration points, cloud ones, CMGs). */
struct fb_dp {
	int64_t started; /* when fallback started */
	int64_t since; /* when the current source was first tried */
	long cur; /* its index in the list; -1: none picked yet */
	fb_rnd_fn rnd;
	void *rnd_ctx;
};

/* fb_dp_start - fallback starts at now; the first pick will be random */
void fb_dp_start(struct fb_dp *w, int64_t now, fb_rnd_fn rnd, void *ctx);

/*
 * fb_dp_source - the source to try at now: a random first one of the pool
 * of minute 0, each for two minutes, the next group's sources appended to
 * the pool when its minute comes, the first again after the last; NULL
 * while the pool is empty
 */
const struct loc_source *fb_dp_source(
    struct fb_dp *w, const struct fb_list *l, int64_t now);

/* fb_dp_failed - the current source failed at now: the next one at once */
const struct loc_source *fb_dp_failed(
    struct fb_dp *w, const struct fb_list *l, int64_t now);

/* Software update points. */
struct fb_sup {
	char known_good[LOC_NAME_MAX + 1]; /* "" when none */
	int64_t good_at; /* when it was last reached */
	bool failing; /* it has failed since */
	int64_t failing_since; /* the first failure: fallback's start */
	size_t cur; /* after the hold: failures in the pool so far */
};

/* fb_sup_reached - name answered at now: it is the last known-good */
void fb_sup_reached(struct fb_sup *w, const char *name, int64_t now);

/* fb_sup_failed - the SUP in use failed at now (fallback starts at the
 * first failure; after the hold, the next of the pool is tried) */
void fb_sup_failed(struct fb_sup *w, int64_t now);

/*
 * fb_sup_pool - the pool at now: the sources whose minute has come since
 * the first failure, in the order they came; how many, at most max of
 * them into out
 */
size_t fb_sup_pool(const struct fb_sup *w, const struct fb_list *l, int64_t now,
    const char **out, size_t max);

/*
 * fb_sup_source - the SUP to use at now: the last known-good alone until
 * it has failed for 120 minutes, then the pool in turn (from the one after
 * the last known-good, a failure moving on to the next); NULL when none
 */
const char *fb_sup_source(
    const struct fb_sup *w, const struct fb_list *l, int64_t now);

/*
 * fb_sup_next - the notification's switch (next-sup): the SUP after the
 * one in use at now in l's order (fallback minute, then name), wrapping
 * round, becomes the last known-good, without the 120-minute hold; its
 * name, or NULL (nothing changed) when l has no other
 */
const char *fb_sup_next(struct fb_sup *w, const struct fb_list *l, int64_t now);

/* Management points. */
struct fb_mp {
	char current[LOC_NAME_MAX + 1]; /* "" : the most local one */
	int64_t errors[FB_MP_ERRORS]; /* within the window, oldest first */
	size_t nerrors;
	int64_t refreshed; /* last refresh; 0: never */
};

/* fb_mp_refresh - the refresh cycle (or an agent restart): back to the
 * most local management point, errors forgotten */
void fb_mp_refresh(struct fb_mp *w, int64_t now);

/* fb_mp_source - the management point to use at now, in locality order
 * (refreshing when a day has passed); NULL when l is empty */
const struct loc_source *fb_mp_source(
    struct fb_mp *w, const struct fb_list *l, int64_t now);

/* fb_mp_error - the current one failed at now; true when that made five
 * within ten minutes and the next one (by locality) is now current */
bool fb_mp_error(struct fb_mp *w, const struct fb_list *l, int64_t now);

/* fallback_state.c - what survives a restart, in state_dir/fallback.json */

#define FB_STATE_FILE "fallback.json"
#define FB_STATE_FORMAT "sitesys.agent-fallback/1"

#define FB_MP_LIST_MAX 64 /* management points kept from an answer */

/* A management point of the last answer for role mp. */
struct fb_mp_known {
	char name[LOC_NAME_MAX + 1];
	int locality;
};

struct fb_state {
	int64_t dp_started; /* when content fallback started; 0: none */
	struct fb_sup sup;
	struct fb_mp mp;
	char site[LOC_SITE_MAX + 1]; /* the assigned site, "" if none */
	struct fb_mp_known mps[FB_MP_LIST_MAX]; /* by locality, 3 first */
	size_t nmps;
	int64_t mps_at; /* when that answer came; 0: never */
};

/* fb_state_load - dir's state (all zero when it has none); 0, or -1 with
 * why (an unreadable or malformed file; *s is then all zero) */
int fb_state_load(const char *dir, struct fb_state *s, char *why, size_t len);

/* fb_state_save - replace dir's state durably and atomically; 0 or -1 */
int fb_state_save(const char *dir, const struct fb_state *s);

/* fb_state_restart - the agent restarted at now: back to a local MP */
void fb_state_restart(struct fb_state *s, int64_t now);

/* fb_state_mp_list - s's management points as sources in src (room for
 * FB_MP_LIST_MAX) and l, by locality; 0, or -1 out of memory */
int fb_state_mp_list(
    const struct fb_state *s, struct loc_source *src, struct fb_list *l);

/* fb_state_set_mps - keep l's management points (at most FB_MP_LIST_MAX,
 * in l's order) as the list of now */
void fb_state_set_mps(struct fb_state *s, const struct fb_list *l, int64_t now);

/* mp_route.c - which management point the requests go to ([agent]
 * mp_url_template and the MP walker, else [agent] mp_url) */

#define MP_ROUTE_URL_MAX 2048

/* Where one piece of MP traffic goes, and how it went. */
struct mp_route {
	char name[LOC_NAME_MAX + 1]; /* the MP; "": the fixed [agent] mp_url */
	char url[MP_ROUTE_URL_MAX]; /* the base URL for requests */
	struct http_ops http; /* the agent's, counting failures to url */
	const struct http_ops *inner;
	int failures; /* requests to url without an answer, or 5xx */
};

/* mp_route_url - tmpl with its "%s" replaced by name (letters, digits,
 * ".-_:" only) into out; 0, or -1 (bad name, no "%s", too long) */
int mp_route_url(const char *tmpl, const char *name, char *out, size_t len);

/* mp_route_begin - r for the next requests: the current MP (asking for
 * the list first when there is none or it is a day old), else mp_url */
void mp_route_begin(struct agent *ag, struct mp_route *r);

/* mp_route_end - report r's failures as errors of its management point,
 * moving on (logged) after five in ten minutes */
void mp_route_end(struct agent *ag, struct mp_route *r);

/* mp_route_refresh - with a template: ask for role mp, through the
 * current MP, else mp_url, and keep the list; 0, or -1 logged */
int mp_route_refresh(struct agent *ag);

/* mp_route_send - send_outbox to ag's management point, else [agent]
 * fsp_url */
int mp_route_send(struct agent *ag);

/* mp_route_register - policy_register with ag's management point */
int mp_route_register(struct agent *ag);

/* mp_route_poll - policy_poll with ag's management point */
int mp_route_poll(struct agent *ag, struct policy *p);

/* mp_route_show - with a template: the MP walker now and its errors in
 * the last ten minutes; false when there is no template */
bool mp_route_show(struct agent *ag, struct fb_mp *mp, size_t *errors);

/* location.c - asking the management point where to go (POST
 * mp_url/location, "sitesys.location/1", sitesys-location(5)) */

#define LOCATION_FORMAT "sitesys.location/1"
#define LOCATION_ANSWER_FORMAT "sitesys.location-answer/1"
#define LOCATION_MAX_SOURCES 4096
#define LOCATION_MAX_MINUTES 10000000

/* What the agent asks, besides its identity and addresses. */
struct location_ask {
	enum loc_role role;
	const char *content; /* NULL or "": none */
	const char *site; /* the assigned site; NULL or "": none */
	const char *ad_site, *vpn_name, *vpn_description; /* NULL or "" */
};

/* An answer: the engine's struct over the strings of the document. */
struct location_answer {
	json_t *doc; /* holds the strings */
	struct loc_answer a; /* its arrays are the parser's */
	const char *assigned_site; /* or NULL */
	const char *role; /* the role it answers, or NULL (not said) */
};

/* location_ask_conf - q's site, AD site and VPN from cf's [agent] */
void location_ask_conf(struct location_ask *q, const struct conf *cf);

/* location_request_doc - the request for guid at addresses (stolen; at
 * most LOC_MAX_ADDRS of them are sent) */
json_t *location_request_doc(
    const char *guid, json_t *addresses, const struct location_ask *q);

/* location_parse - a "sitesys.location-answer/1" document, checked
 * member by member; 0, or -1 with why */
int location_parse(const char *body, size_t len, struct location_answer *la,
    char *why, size_t whylen);

/* location_read - location_parse of the file path; 0 or -1 with why */
int location_read(
    const char *path, struct location_answer *la, char *why, size_t whylen);

/* location_fetch - post req to mp_url/location and parse the answer; 0,
 * or -1 with why (no answer, an HTTP error and its reason, a bad answer) */
int location_fetch(const struct http_ops *http, const char *mp_url,
    const json_t *req, struct location_answer *la, char *why, size_t whylen);

/* location_answer_free - release what location_parse made */
void location_answer_free(struct location_answer *la);

/* location_kind_name - "server", "cloud", "peer" */
const char *location_kind_name(enum loc_kind k);

/*
 * notify_done.c, notify_run.c, notify.c - the notification client
 * (sitesys-notify(7)): a thread of the daemon with its own poll loop, so
 * that a receipt or a keepalive never waits for an HTTP request of the
 * main loop
 */
#define NOTIFY_DONE_FILE "notify-done.json"
#define NOTIFY_DONE_FORMAT "sitesys.agent-notify/1"
#define NOTIFY_DONE_MAX 100000 /* task ids remembered at most */
#define NOTIFY_QUEUE_MAX 64 /* tasks waiting for the one running */
#define NOTIFY_RETRY_BASE_MS 1000 /* the first bound of the back-off */

/* One task run (or being run): remembered until it expires. */
struct notify_done_entry {
	long long task;
	int64_t expires; /* seconds since the epoch */
	json_t *result; /* its result frame once done, else NULL */
	bool sent; /* the result was written to a connection */
};

/* The tasks run, by id. */
struct notify_done {
	struct notify_done_entry *v;
	size_t n, cap;
};

/* notify_time - "YYYY-MM-DDTHH:MM:SS[.f]Z" as seconds since the epoch
 * into *out; 0, or -1 when s is not such a time */
int notify_time(const char *s, int64_t *out);

/*
 * notify_done_load - dir's remembered tasks, those expired before now left
 * out; none when the file does not exist. 0, or -1 with why (an
 * unreadable or malformed file: *d is then empty)
 */
int notify_done_load(
    const char *dir, struct notify_done *d, int64_t now, char *why, size_t len);

/* notify_done_save - replace dir's file durably and atomically; 0 or -1
 * logged */
int notify_done_save(const char *dir, const struct notify_done *d);

/* notify_done_find - the entry of task, or NULL */
struct notify_done_entry *notify_done_find(
    struct notify_done *d, long long task);

/*
 * notify_done_add - remember task (expiring at expires) as run, dropping
 * the expired ones first and, when NOTIFY_DONE_MAX are kept, the one that
 * expires first; the new entry
 */
struct notify_done_entry *notify_done_add(
    struct notify_done *d, long long task, int64_t expires, int64_t now);

/* notify_done_free - release every entry */
void notify_done_free(struct notify_done *d);

/*
 * notify_backoff_ms - the wait before connecting again after failures
 * failures in a row (0: the first retry): a random number of ms in
 * [0, min(cap_ms, NOTIFY_RETRY_BASE_MS * 2^failures)], from rnd
 */
uint32_t notify_backoff_ms(
    unsigned failures, uint32_t cap_ms, fb_rnd_fn rnd, void *ctx);

/*
 * notify_result - a result frame for task: status, with exit unless
 * has_exit is false, and output (len bytes, at most NOTIFY_MAX_OUTPUT
 * kept, bytes that are not UTF-8 made "?")
 */
json_t *notify_result(long long task, const char *status, bool has_exit,
    int exit, const char *output, size_t len);

/* One action's process: its output so far and how it ends. */
struct notify_job {
	pid_t pid; /* 0: none running */
	int fd; /* its standard output and error; -1 once at their end */
	long long task;
	char out[NOTIFY_MAX_OUTPUT];
	size_t len;
	char script[PATH_MAX]; /* the script file to remove after, or "" */
	double until; /* monotonic: killed then if still running; 0 never */
	long long limit; /* seconds it may run, for its result */
};

/*
 * notify_job_command - start cmd ("/abs/path arg ...", split at blanks,
 * no shell) for task; 0 started, or -1 with why (it could not be)
 */
int notify_job_command(struct notify_job *j, long long task, const char *cmd,
    char *why, size_t len);

/*
 * notify_job_agent - start this sitesys-agent (its /proc/self/exe) with
 * -c conf (unless conf is "") and args (split at blanks) for task; 0
 * started, or -1 with why
 */
int notify_job_agent(struct notify_job *j, long long task, const char *conf,
    const char *args, char *why, size_t len);

/*
 * notify_job_script - write body as dir/notify-script-TASK (0700) and run
 * it (through /bin/sh unless it starts with "#!"); 0 or -1 with why
 */
int notify_job_script(struct notify_job *j, long long task, const char *dir,
    const char *body, char *why, size_t len);

/*
 * notify_job_poll - read what the job wrote; 1 when it has ended, with
 * its result frame in *result, else 0 (call again when j->fd is readable,
 * or soon when it is -1)
 */
int notify_job_poll(struct notify_job *j, json_t **result);

/* notify_job_kill - end a job still running (at a stop) */
void notify_job_kill(struct notify_job *j);

/*
 * notify_start - start the notification client of ag (nothing when
 * [agent] notify_port is 0 or there is no mp_url), with what it needs
 * copied from ag's configuration: a reload does not change it; 0, or -1
 * logged
 */
int notify_start(struct agent *ag);

/* notify_stop - stop the client (if started) and wait for its thread */
void notify_stop(void);

/* simulate.c - many notification clients in one process, for load */

/*
 * simulate_main - sitesys-agent simulate make|run ...: identities for
 * many clients, or their connections to a notification server (the
 * usage at the top of simulate.c); an exit status
 */
int simulate_main(int argc, char **argv);

#endif
