/*
 * notify.c - the agent's notification client: one TLS connection to
 * sitesys-notifyd on the management point's host, kept by a thread of
 * the daemon with its own poll loop. It answers each task with a receipt
 * at once, runs each task id once (notify_done.c), one action at a time
 * (notify_run.c; "policy" is the daemon's SIGUSR2), sends the results,
 * keeps the connection alive, and connects again with capped, fully
 * jittered exponential back-off.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "notify_action.h"
#include "notify_frame.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/ipaddr.h"
#include "util/log.h"
#include "util/sjson.h"

#define NC_ACTIONS 32 /* room for the table of notify_action.h */
#define NC_HTTP_POLLS 10 /* polls over HTTP before TCP is tried again */
#define NC_HTTP_PATH "/notify/v1/poll"
#define NC_HTTP_MAX (1024 * 1024) /* bytes of a poll's answer */
#define NC_POLL_FORMAT "sitesys.notify-poll/1" /* sitesys-notify(7) */

/* The client: what it copied from the configuration, and its state. */
struct nc {
	char host[256], port[8], dir[PATH_MAX];
	char guid[STATEMSG_GUID_LEN + 1]; /* the client's, for its polls */
	int timeout; /* seconds to connect and shake hands */
	uint32_t cap_ms; /* the back-off's cap */
	char *cmds[NC_ACTIONS]; /* by index of notify_actions; NULL: unset */
	char conf[PATH_MAX]; /* the agent's configuration file, or "" */
	long long action_limit; /* [agent] action_timeout_seconds */
	SSL_CTX *ctx;
	int stop[2]; /* the pipe notify_stop writes to */
	pthread_t thread;
	/* the connection */
	int fd;
	SSL *ssl;
	struct notify_decoder dec;
	struct buf out; /* frames not yet written */
	size_t out_off; /* bytes of out written */
	bool hello;
	double keepalive, grace; /* seconds, from hello */
	double last_in, next_keepalive;
	long long reconnect_ms; /* the server's "after_ms", or -1 */
	bool failing; /* connecting failed since the last hello */
	SSL_SESSION *sess; /* the notification server's last ticket */
	/* the HTTP fallback: long polls to the MP's HTTPS port */
	char https_port[8];
	bool http; /* polling over HTTP now */
	json_t *http_out; /* the frames for the next poll */
	size_t http_sent; /* how many of them the poll under way carries */
	/* the poll is sent and held by the server: frames to send cut it
	 * short (connecting, shaking hands or writing, they wait) */
	bool http_holding;
	/* the tasks */
	struct notify_done done;
	json_t *queue; /* task frames waiting for the job */
	struct notify_job job;
};

static struct nc *client;

/* The thread stops: notify_stop wrote to the pipe. */
static bool
nc_stopping(struct nc *nc)
{
	struct pollfd p = { .fd = nc->stop[0], .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Queue frame doc (kept) on the connection, if there is one. */
static int
nc_send(struct nc *nc, const json_t *doc)
{
	char why[256];

	if (nc->http) {
		/* a copy: the caller keeps doc */
		sjson_append(nc->http_out, json_deep_copy(doc));
		return 0;
	}
	if (nc->ssl == NULL)
		return -1;
	if (notify_frame_encode(doc, &nc->out, why, sizeof(why)) == -1) {
		log_error("could not encode a notification frame: %s", why);
		return -1;
	}
	return 0;
}

/* Send results not yet sent; remember which went. */
static void
nc_send_results(struct nc *nc)
{
	bool changed = false;

	for (size_t i = 0; i < nc->done.n; i++) {
		struct notify_done_entry *e = &nc->done.v[i];

		if (e->result == NULL || e->sent || !nc->hello)
			continue;
		if (nc_send(nc, e->result) == 0) {
			e->sent = true;
			changed = true;
		}
	}
	if (changed)
		(void)notify_done_save(nc->dir, &nc->done);
}

/* Task's result is in: keep it durably, then send it. */
static void
nc_finish(struct nc *nc, json_t *result)
{
	long long task = json_integer_value(json_object_get(result, "task"));
	struct notify_done_entry *e = notify_done_find(&nc->done, task);

	log_info("notification task %lld: %s", task,
	    json_string_value(json_object_get(result, "status")));
	if (e == NULL) {
		json_decref(result);
		return;
	}
	json_decref(e->result);
	e->result = result;
	e->sent = false;
	(void)notify_done_save(nc->dir, &nc->done);
	nc_send_results(nc);
}

/* Start task f (checked), or answer it at once. */
static void
nc_run(struct nc *nc, const struct notify_frame *f)
{
	const struct notify_action *a = notify_action_find(f->action);
	const char *cmd = NULL;
	char why[512], sha[X509_FINGERPRINT_LEN];
	int rc;

	if (a == NULL) {
		nc_finish(nc,
		    notify_result(f->task, "unsupported", false, 0,
		        "unknown action", 14));
		return;
	}
	if (a->run == NOTIFY_RUN_POLICY) {
		/* the daemon's main loop polls, as on SIGUSR2 */
		kill(getpid(), SIGUSR2);
		nc_finish(nc,
		    notify_result(f->task, "succeeded", true, 0,
		        "policy poll requested", 21));
		return;
	}
	if (a->run == NOTIFY_RUN_COMMAND &&
	    (cmd = nc->cmds[a - notify_actions]) == NULL) {
		snprintf(why, sizeof(why),
		    "no command is configured for this action");
		nc_finish(nc,
		    notify_result(
		        f->task, "unsupported", false, 0, why, strlen(why)));
		return;
	}
	if (a->run == NOTIFY_RUN_SCRIPT) {
		x509_sha256_hex(f->body, strlen(f->body), sha);
		if (strcmp(sha, f->sha256) != 0) {
			snprintf(why, sizeof(why),
			    "the script \"%s\" has SHA-256 %s, not the "
			    "approved %s",
			    f->name, sha, f->sha256);
			log_warn(
			    "notification task %lld not run: %s", f->task, why);
			nc_finish(nc,
			    notify_result(
			        f->task, "failed", false, 0, why, strlen(why)));
			return;
		}
		rc = notify_job_script(
		    &nc->job, f->task, nc->dir, f->body, why, sizeof(why));
	} else if (a->run == NOTIFY_RUN_AGENT)
		rc = notify_job_agent(
		    &nc->job, f->task, nc->conf, a->args, why, sizeof(why));
	else
		rc = notify_job_command(
		    &nc->job, f->task, cmd, why, sizeof(why));
	if (rc == -1) {
		log_error(
		    "could not run notification task %lld: %s", f->task, why);
		nc_finish(nc,
		    notify_result(
		        f->task, "failed", false, 0, why, strlen(why)));
		return;
	}
	nc->job.limit = nc->action_limit;
	nc->job.until = clock_mono() + (double)nc->action_limit;
	log_info("notification task %lld: running %s", f->task, f->action);
}

/* Start the next queued task, if none runs. */
static void
nc_run_next(struct nc *nc)
{
	struct notify_frame f;
	char why[512];
	json_t *task;

	/* bounded: each turn takes one task off the queue */
	while (nc->job.pid == 0 && json_array_size(nc->queue) > 0) {
		task = json_incref(json_array_get(nc->queue, 0));
		json_array_remove(nc->queue, 0);
		if (notify_frame_check(task, &f, why, sizeof(why)) == 0)
			nc_run(nc, &f);
		json_decref(task);
	}
}

/* A task frame: a receipt at once; run it unless it was run before. */
static void
nc_task(struct nc *nc, struct notify_frame *f)
{
	json_t *rec = json_pack(
	    "{s:s,s:I}", "type", "received", "task", (json_int_t)f->task);
	struct notify_done_entry *e;
	int64_t exp = 0, now = clock_now_us() / 1000000;

	if (rec == NULL)
		abort();
	nc_send(nc, rec);
	json_decref(rec);
	if ((e = notify_done_find(&nc->done, f->task)) != NULL) {
		log_info("notification task %lld was pushed again: run once "
		         "already",
		    f->task);
		if (e->result != NULL && e->sent)
			nc_send(nc, e->result); /* the result may have been
			                           lost with a connection */
		return;
	}
	if (notify_time(f->expires, &exp) == -1 || exp <= now) {
		log_info("notification task %lld expired at %s: not run",
		    f->task, f->expires);
		return;
	}
	if (json_array_size(nc->queue) >= NOTIFY_QUEUE_MAX) {
		log_warn("notification task %lld refused: %d tasks wait "
		         "already",
		    f->task, NOTIFY_QUEUE_MAX);
		return;
	}
	/* remembered before it runs: at most once, even across a crash */
	notify_done_add(&nc->done, f->task, exp, now);
	if (notify_done_save(nc->dir, &nc->done) == -1) {
		log_error("notification task %lld not run: it could not be "
		          "remembered",
		    f->task);
		nc->done.n--;
		return;
	}
	log_info("notification task %lld: %s, received", f->task, f->action);
	json_array_append(nc->queue, f->doc);
	nc_run_next(nc);
}

/* One frame from the server; 0, or -1 to close the connection. */
static int
nc_frame(struct nc *nc, struct notify_frame *f)
{
	switch (f->type) {
	case NOTIFY_HELLO:
		nc->hello = true;
		nc->failing = false;
		nc->keepalive = (double)f->keepalive;
		nc->grace = (double)f->grace;
		nc->next_keepalive = clock_mono() + nc->keepalive;
		log_info("notification server \"%s\" at %s port %s: connected",
		    f->server, nc->host, nc->port);
		nc_send_results(nc);
		return 0;
	case NOTIFY_TASK:
		if (!nc->hello)
			break;
		nc_task(nc, f);
		return 0;
	case NOTIFY_PONG:
		return 0;
	case NOTIFY_RECONNECT:
		nc->reconnect_ms = f->after_ms;
		log_info("the notification server is going away: connecting "
		         "again in %lld ms",
		    f->after_ms);
		return -1;
	default:
		break;
	}
	log_warn("closing the notification connection: the server sent a "
	         "\"%s\" frame out of turn",
	    notify_type_name(f->type));
	return -1;
}

/* Close the connection, if any. */
static void
nc_close(struct nc *nc)
{
	if (nc->ssl != NULL) {
		(void)SSL_shutdown(nc->ssl);
		SSL_free(nc->ssl);
	}
	if (nc->fd != -1)
		close(nc->fd);
	nc->ssl = NULL;
	nc->fd = -1;
	nc->hello = false;
	buf_free(&nc->out);
	nc->out_off = 0;
	notify_decoder_free(&nc->dec);
}

/* Why OpenSSL failed, one line. */
static const char *
nc_ssl_why(SSL *ssl, int rc, char *why, size_t len)
{
	unsigned long e = ERR_get_error();
	int err = SSL_get_error(ssl, rc);
	long v = SSL_get_verify_result(ssl);
	char buf[256];

	if (e != 0 && v != X509_V_OK) { /* say why it was not verified */
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(
		    why, len, "%s: %s", buf, X509_verify_cert_error_string(v));
	} else if (e != 0)
		ERR_error_string_n(e, why, len);
	else if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(why, len, "%s", strerror(errno));
	else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)
		snprintf(why, len, "the server closed the connection");
	else
		snprintf(why, len, "TLS error %d", err);
	ERR_clear_error();
	return why;
}

/* Wait on fd for events (and the stop pipe, and the job) until deadline
 * (mono seconds); 1 ready, 0 timed out, stopping, or a frame to write
 * after hello; -1 error. */
static int
nc_wait_fd(struct nc *nc, int fd, short events, double deadline)
{
	/* bounded: each turn waits until the deadline at most */
	for (;;) {
		struct pollfd p[3] = { { .fd = fd, .events = events },
			{ .fd = nc->stop[0], .events = POLLIN },
			{ .fd = nc->job.fd, .events = POLLIN } };
		double left = deadline - clock_mono();
		int ms = left <= 0 ? 0 : (int)(left * 1000) + 1, rc;
		json_t *res;

		/* over HTTP, a held poll is cut short by a frame to send,
		 * however it came (a new poll carries it) */
		if (nc->http_holding &&
		    json_array_size(nc->http_out) > nc->http_sent)
			return 0;
		if (nc->job.pid != 0 && nc->job.fd == -1 && ms > 100)
			ms = 100;
		/* a job's time limit is a deadline too */
		if (nc->job.pid != 0) {
			double to_limit = nc->job.until - clock_mono();
			int lms =
			    to_limit <= 0 ? 0 : (int)(to_limit * 1000) + 1;

			if (lms < ms)
				ms = lms;
		}
		rc = poll(p, nc->job.pid != 0 && nc->job.fd != -1 ? 3 : 2, ms);
		if (rc == -1 && errno != EINTR)
			return -1;
		if (p[1].revents != 0)
			return 0;
		if (nc->job.pid != 0 && notify_job_poll(&nc->job, &res) == 1) {
			nc_finish(nc, res);
			nc_run_next(nc);
		}
		if (rc > 0 && p[0].revents != 0)
			return 1;
		/* a result to write: back to the connection's loop */
		if (nc->hello &&
		    (nc->out.len > nc->out_off ||
		        (nc->http_holding &&
		            json_array_size(nc->http_out) > nc->http_sent)))
			return 0;
		if (clock_mono() >= deadline)
			return 0;
	}
}

/* Connect and shake hands; 0, or -1 with why (logged by the caller). */
static int
nc_connect(struct nc *nc, const char *port, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	double deadline = clock_mono() + nc->timeout;
	int one = 1, rc, err = 0;
	socklen_t elen = sizeof(err);
	struct ipaddr ip;
	char dummy[64];

	if ((rc = getaddrinfo(nc->host, port, &hints, &ai)) != 0) {
		snprintf(why, len, "could not resolve \"%s\": %s", nc->host,
		    gai_strerror(rc));
		return -1;
	}
	nc->fd = socket(
	    ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (nc->fd == -1) {
		snprintf(
		    why, len, "could not make a socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	(void)setsockopt(nc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(nc->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	rc = connect(nc->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc == -1 && errno != EINPROGRESS) {
		snprintf(why, len, "could not connect: %s", strerror(errno));
		return -1;
	}
	if (rc == -1) {
		if (nc_wait_fd(nc, nc->fd, POLLOUT, deadline) != 1) {
			snprintf(why, len, "could not connect: timed out");
			return -1;
		}
		if (getsockopt(nc->fd, SOL_SOCKET, SO_ERROR, &err, &elen) ==
		        -1 ||
		    err != 0) {
			snprintf(why, len, "could not connect: %s",
			    strerror(err != 0 ? err : errno));
			return -1;
		}
	}
	if ((nc->ssl = SSL_new(nc->ctx)) == NULL ||
	    SSL_set_fd(nc->ssl, nc->fd) != 1) {
		snprintf(why, len, "could not start TLS: out of memory");
		return -1;
	}
	/* the notification server's session resumed (its tickets outlive
	 * its restarts); nginx's port keeps its own sessions */
	if (strcmp(port, nc->port) == 0) {
		SSL_set_app_data(nc->ssl, nc);
		if (nc->sess != NULL)
			(void)SSL_set_session(nc->ssl, nc->sess);
	}
	/* the server's certificate names the host: a DNS name or an IP */
	if (ipaddr_parse(nc->host, &ip, dummy, sizeof(dummy)) == 0)
		rc = X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(nc->ssl), nc->host);
	else
		rc = SSL_set1_host(nc->ssl, nc->host) == 1 &&
		    SSL_set_tlsext_host_name(nc->ssl, nc->host) == 1;
	if (rc != 1) {
		snprintf(why, len, "could not set the server's name");
		return -1;
	}
	/* bounded by the deadline */
	while ((rc = SSL_connect(nc->ssl)) != 1) {
		int e = SSL_get_error(nc->ssl, rc);
		short ev = e == SSL_ERROR_WANT_READ ? POLLIN
		    : e == SSL_ERROR_WANT_WRITE     ? POLLOUT
		                                    : 0;

		if (ev == 0) {
			char s[256];

			snprintf(why, len, "TLS handshake failed: %s",
			    nc_ssl_why(nc->ssl, rc, s, sizeof(s)));
			return -1;
		}
		if (nc_wait_fd(nc, nc->fd, ev, deadline) != 1) {
			snprintf(why, len, "TLS handshake timed out");
			return -1;
		}
	}
	return 0;
}

/* Read what came; 0, or -1 with why to close. */
static int
nc_read(struct nc *nc, char *why, size_t len)
{
	char buf[16384];
	struct notify_frame f;
	size_t used, off;
	int n, rc;

	/* bounded: SSL_read ends with WANT_READ once the socket is empty */
	for (int i = 0; i < 64; i++) {
		n = SSL_read(nc->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int e = SSL_get_error(nc->ssl, n);

			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return 0;
			nc_ssl_why(nc->ssl, n, why, len);
			return -1;
		}
		nc->last_in = clock_mono();
		for (off = 0; off < (size_t)n; off += used) {
			rc = notify_decode(&nc->dec, buf + off, (size_t)n - off,
			    &used, &f, why, len);
			if (rc == -1)
				return -1;
			if (rc == 1) {
				rc = nc_frame(nc, &f);
				notify_frame_clear(&f);
				if (rc == -1) {
					snprintf(why, len, "closed");
					return -1;
				}
			}
		}
	}
	return 0;
}

/* Write what is queued; 0, or -1 with why. */
static int
nc_write(struct nc *nc, char *why, size_t len)
{
	/* bounded: each turn writes some, or stops at WANT_WRITE */
	while (nc->out_off < nc->out.len) {
		int n = SSL_write(nc->ssl, nc->out.p + nc->out_off,
		    (int)(nc->out.len - nc->out_off));

		if (n <= 0) {
			int e = SSL_get_error(nc->ssl, n);

			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return 0;
			nc_ssl_why(nc->ssl, n, why, len);
			return -1;
		}
		nc->out_off += (size_t)n;
	}
	buf_reset(&nc->out);
	nc->out_off = 0;
	return 0;
}

/* One connection, served until it ends; true if it got its hello. */
static bool
nc_session(struct nc *nc)
{
	char why[512] = "";
	bool hello = false;
	json_t *ka;

	nc->reconnect_ms = -1;
	notify_decoder_init(&nc->dec);
	if (nc_connect(nc, nc->port, why, sizeof(why)) == -1) {
		/* the first failure of an outage is a warning, the rest
		 * (one per retry) debug */
		if (!nc_stopping(nc) && !nc->failing)
			log_warn("notification server at %s port %s: %s; "
			         "trying again",
			    nc->host, nc->port, why);
		else if (!nc_stopping(nc))
			log_debug("notification server at %s port %s: %s",
			    nc->host, nc->port, why);
		nc->failing = true;
		nc_close(nc);
		return false;
	}
	nc->last_in = clock_mono();
	/* bounded by the connection's life: every turn waits or fails */
	while (!nc_stopping(nc)) {
		double now = clock_mono(), deadline;
		int rc;

		if (nc->hello && now >= nc->next_keepalive) {
			if ((ka = json_pack("{s:s}", "type", "keepalive")) ==
			    NULL)
				abort();
			nc_send(nc, ka);
			json_decref(ka);
			nc->next_keepalive = now + nc->keepalive;
		}
		if (nc_write(nc, why, sizeof(why)) == -1)
			break;
		/* a server silent for the keepalive and its grace is gone */
		deadline = nc->hello ? nc->last_in + nc->keepalive + nc->grace
		                     : nc->last_in + nc->timeout;
		if (now >= deadline) {
			snprintf(why, sizeof(why),
			    "nothing came from the server in time");
			break;
		}
		if (nc->hello && nc->next_keepalive < deadline)
			deadline = nc->next_keepalive;
		rc = nc_wait_fd(nc, nc->fd,
		    (short)(POLLIN | (nc->out.len > nc->out_off ? POLLOUT : 0)),
		    deadline);
		if (rc == -1) {
			snprintf(why, sizeof(why), "poll: %s", strerror(errno));
			break;
		}
		hello |= nc->hello;
		if (rc == 1 && nc_read(nc, why, sizeof(why)) == -1)
			break;
		hello |= nc->hello;
	}
	/* the last frames (a receipt, a result) go if they can */
	if (nc->ssl != NULL && nc->out.len > nc->out_off)
		(void)nc_write(nc, why + strlen(why), 1);
	if (!nc_stopping(nc) && nc->reconnect_ms < 0 && !nc->failing) {
		log_warn("notification connection to %s port %s lost: %s",
		    nc->host, nc->port, why);
		nc->failing = true; /* logged: the retries are debug */
	}
	nc_close(nc);
	return hello;
}

/* Read the whole answer (the server closes); 1 done, 0 interrupted (a
 * stop, or frames to send), -1 with why. */
static int
nc_http_read(
    struct nc *nc, struct buf *in, double deadline, char *why, size_t len)
{
	char chunk[16384];

	/* bounded by the deadline and NC_HTTP_MAX */
	for (;;) {
		int n = SSL_read(nc->ssl, chunk, sizeof(chunk)), e, rc;

		if (n > 0) {
			if (in->len + (size_t)n > NC_HTTP_MAX) {
				snprintf(why, len,
				    "the answer exceeds %d bytes", NC_HTTP_MAX);
				return -1;
			}
			buf_add(in, chunk, (size_t)n);
			continue;
		}
		e = SSL_get_error(nc->ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && in->len > 0))
			return 1;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			nc_ssl_why(nc->ssl, n, why, len);
			return -1;
		}
		rc = nc_wait_fd(nc, nc->fd,
		    e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (rc == -1 || (rc == 0 && clock_mono() >= deadline)) {
			snprintf(why, len, "no answer in time");
			return -1;
		}
		if (rc == 0)
			return 0;
	}
}

/* The frames of an answer: handled as over TCP; 0, or -1 with why. */
static int
nc_http_answer(struct nc *nc, struct buf *in, char *why, size_t len)
{
	const char *body = in->len > 0 ? strstr(in->p, "\r\n\r\n") : NULL;
	int status = 0;
	json_t *doc, *frames;
	struct notify_frame f;

	if (sscanf(in->p != NULL ? in->p : "", "HTTP/1.%*d %d", &status) != 1 ||
	    body == NULL) {
		snprintf(why, len, "the answer is not HTTP");
		return -1;
	}
	body += 4;
	if (status != 200) {
		snprintf(why, len, "the server answered HTTP %d: %.200s",
		    status, body);
		return -1;
	}
	if ((doc = sjson_parse(body, strlen(body), why, len)) == NULL)
		return -1;
	if (sjson_format(doc, NC_POLL_FORMAT, why, len) == -1 ||
	    sjson_array(doc, "frames", NOTIFY_QUEUE_MAX, true, &frames, why,
	        len) == -1) {
		json_decref(doc);
		return -1;
	}
	for (size_t i = 0; i < json_array_size(frames); i++) {
		f.doc = NULL;
		if (notify_frame_check(
		        json_array_get(frames, i), &f, why, len) == -1 ||
		    (f.type != NOTIFY_TASK && f.type != NOTIFY_RECONNECT)) {
			if (f.doc != NULL)
				snprintf(why, len, "a poll answered a \"%s\"",
				    notify_type_name(f.type));
			json_decref(doc);
			return -1;
		}
		if (f.type == NOTIFY_RECONNECT) /* the server is going away */
			nc->reconnect_ms = f.after_ms;
		else
			nc_task(nc, &f);
	}
	json_decref(doc);
	return 0;
}

/* One long poll: the frames waiting go, the tasks come; 0 or -1 why. */
static int
nc_http_poll(struct nc *nc, char *why, size_t len)
{
	size_t sent = json_array_size(nc->http_out);
	json_t *doc = json_pack("{s:s,s:s,s:O}", "format", NC_POLL_FORMAT,
	    "client", nc->guid, "frames", nc->http_out);
	struct buf in = { 0 };
	char *body;
	double deadline = clock_mono() + nc->timeout;
	int rc = -1;

	if (doc == NULL || (body = json_dumps(doc, JSON_COMPACT)) == NULL)
		abort();
	json_decref(doc);
	buf_addf(&nc->out,
	    /* HTTP/1.0: the answer ends where the connection does, never
	     * chunked */
	    "POST %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "\r\n%s",
	    NC_HTTP_PATH, nc->host, nc->https_port, AGENT_NAME, strlen(body),
	    body);
	free(body);
	nc->http_sent = sent;
	if (nc_connect(nc, nc->https_port, why, len) == -1)
		goto out;
	/* bounded by the deadline */
	while (nc->out_off < nc->out.len) {
		if (nc_write(nc, why, len) == -1)
			goto out;
		if (nc->out_off < nc->out.len &&
		    nc_wait_fd(nc, nc->fd, POLLOUT, deadline) != 1) {
			snprintf(why, len, "could not send the poll in time");
			goto out;
		}
	}
	/* held by the server up to its poll time, then some */
	nc->http_holding = true;
	rc = nc_http_read(nc, &in, clock_mono() + 600 + nc->timeout, why, len);
	nc->http_holding = false;
	if (rc == 1) {
		buf_add(&in, "", 0);
		rc = nc_http_answer(nc, &in, why, len);
		/* taken: the frames it carried are done with */
		for (size_t i = 0; rc == 0 && i < sent; i++)
			json_array_remove(nc->http_out, 0);
	}
	if (rc == 1 || (rc == 0 && in.len == 0))
		rc = 0; /* interrupted: the next poll carries what waits */
out:
	nc->http_sent = 0;
	buf_free(&in);
	nc_close(nc);
	return rc;
}

/* Poll over HTTP while TCP fails; how many polls were answered. */
static int
nc_http_round(struct nc *nc)
{
	char why[512] = "";
	int polls = 0;

	nc->http = true;
	for (int i = 0; i < NC_HTTP_POLLS && !nc_stopping(nc); i++) {
		nc->hello = true; /* results may go */
		nc_send_results(nc);
		if (nc_http_poll(nc, why, sizeof(why)) == -1)
			break;
		if (polls++ == 0)
			log_info("notification server at %s port %s: polling "
			         "over HTTPS while TCP fails",
			    nc->host, nc->https_port);
	}
	if (polls == 0 && !nc_stopping(nc))
		log_debug("notification server at %s port %s (HTTPS): %s",
		    nc->host, nc->https_port, why);
	nc->hello = false;
	nc->http = false;
	return polls;
}

/* Wait ms, serving the job, unless stopping; false once stopping. */
static bool
nc_pause(struct nc *nc, uint32_t ms)
{
	nc_wait_fd(nc, -1, 0, clock_mono() + ms / 1000.0);
	return !nc_stopping(nc);
}

static void *
nc_main(void *arg)
{
	struct nc *nc = arg;
	unsigned failures = 0;
	char why[512];

	if (notify_done_load(nc->dir, &nc->done, clock_now_us() / 1000000, why,
	        sizeof(why)) == -1)
		log_warn("%s; the tasks run before are forgotten", why);
	/* bounded by the stop: each turn connects once, then waits */
	while (!nc_stopping(nc)) {
		uint32_t ms;

		if (nc_session(nc))
			failures = 0;
		else if (nc->reconnect_ms < 0 && !nc_stopping(nc) &&
		    nc->https_port[0] != '\0' && nc_http_round(nc) > 0) {
			/* the fallback worked: TCP again, at once */
			failures = 0;
			continue;
		}
		if (nc->reconnect_ms >= 0)
			ms = (uint32_t)nc->reconnect_ms;
		else {
			ms = notify_backoff_ms(
			    failures, nc->cap_ms, fb_random, NULL);
			if (failures < 64)
				failures++;
		}
		log_debug("connecting to the notification server again in "
		          "%u ms",
		    ms);
		if (!nc_pause(nc, ms))
			break;
	}
	notify_job_kill(&nc->job);
	return NULL;
}

/* The host of an https:// URL, without brackets, and its port (443 when
 * it names none); 0 or -1. */
static int
nc_url_host(const char *url, char *out, size_t len, char port[8])
{
	const char *p = strstr(url, "://"), *end;
	size_t n;

	if (p == NULL)
		return -1;
	p += 3;
	if (*p == '[') {
		end = strchr(++p, ']');
	} else {
		end = p + strcspn(p, ":/");
	}
	if (end == NULL || end == p || (size_t)(end - p) >= len)
		return -1;
	snprintf(out, len, "%.*s", (int)(end - p), p);
	end += *end == ']';
	snprintf(port, 8, "443");
	if (*end == ':' && (n = strspn(end + 1, "0123456789")) > 0 && n < 6)
		snprintf(port, 8, "%.*s", (int)n, end + 1);
	return 0;
}

/* A ticket of the notification server: kept to resume with. */
static int
nc_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct nc *nc = SSL_get_app_data(ssl);

	if (nc == NULL)
		return 0;
	if (nc->sess != NULL)
		SSL_SESSION_free(nc->sess);
	nc->sess = sess;
	return 1; /* kept */
}

/* The site's revocation list crl (PEM; "" none) checked for the
 * server's certificate, as the agent's HTTPS clients check it; 0 or -1 */
static int
nc_ctx_crl(SSL_CTX *ctx, const char *crl)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lu;

	if (*crl == '\0')
		return 0;
	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_file())) == NULL ||
	    X509_load_crl_file(lu, crl, X509_FILETYPE_PEM) < 1 ||
	    X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK) != 1)
		return -1;
	return 0;
}

/* The client's TLS context: TLS 1.3, the site CA alone (and its
 * revocation list), the identity. */
static SSL_CTX *
nc_ctx(const struct agent *ag, const char *ca, const char *crl)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    nc_ctx_crl(ctx, crl) == -1 ||
	    SSL_CTX_use_certificate(ctx, ag->st.cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, ag->st.key) != 1) {
		char buf[256];

		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		log_error("could not set up the notification client's TLS "
		          "(\"%s\", \"%s\"): %s",
		    ca, crl, buf);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(
	    ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, nc_new_session);
	return ctx;
}

static void
nc_free(struct nc *nc)
{
	for (size_t i = 0; i < NC_ACTIONS; i++)
		free(nc->cmds[i]);
	SSL_CTX_free(nc->ctx);
	if (nc->sess != NULL)
		SSL_SESSION_free(nc->sess);
	if (nc->stop[0] != -1) {
		close(nc->stop[0]);
		close(nc->stop[1]);
	}
	notify_done_free(&nc->done);
	json_decref(nc->queue);
	json_decref(nc->http_out);
	free(nc);
}

int
notify_start(struct agent *ag)
{
	const struct conf *cf = ag->cf;
	long long port = conf_int(cf, "agent", "notify_port");
	const char *url = conf_str(cf, "agent", "mp_url");
	struct nc *nc;
	int rc;

	if (port == 0 || *url == '\0')
		return 0;
	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		abort();
	nc->fd = -1;
	nc->job.fd = -1;
	nc->stop[0] = nc->stop[1] = -1;
	if ((nc->queue = json_array()) == NULL ||
	    (nc->http_out = json_array()) == NULL)
		abort();
	if (nc_url_host(url, nc->host, sizeof(nc->host), nc->https_port) ==
	    -1) {
		log_error("cannot connect to a notification server: no host "
		          "in [agent] mp_url \"%s\"",
		    url);
		nc_free(nc);
		return -1;
	}
	snprintf(nc->port, sizeof(nc->port), "%lld", port);
	snprintf(nc->dir, sizeof(nc->dir), "%s", ag->st.dir);
	snprintf(nc->guid, sizeof(nc->guid), "%s", ag->st.guid);
	snprintf(nc->conf, sizeof(nc->conf), "%s",
	    conf_path(cf) != NULL ? conf_path(cf) : "");
	nc->timeout = (int)conf_int(cf, "agent", "timeout_seconds");
	nc->action_limit = conf_int(cf, "agent", "action_timeout_seconds");
	nc->cap_ms =
	    (uint32_t)conf_int(cf, "agent", "notify_retry_max_seconds") * 1000u;
	for (size_t i = 0; i < NC_ACTIONS && notify_actions[i].name != NULL;
	     i++) {
		const char *cmd;

		if (notify_actions[i].setting == NULL)
			continue;
		cmd = conf_str(cf, "agent", notify_actions[i].setting);
		if (*cmd != '\0' && (nc->cmds[i] = strdup(cmd)) == NULL)
			abort();
	}
	if ((nc->ctx = nc_ctx(ag, conf_str(cf, "agent", "site_ca"),
	         conf_str(cf, "agent", "site_crl"))) == NULL) {
		nc_free(nc);
		return -1;
	}
	if (pipe2(nc->stop, O_CLOEXEC) == -1) {
		log_error("could not start the notification client: %m");
		nc_free(nc);
		return -1;
	}
	/* the thread inherits the blocked signals: they go to the main loop */
	if ((rc = pthread_create(&nc->thread, NULL, nc_main, nc)) != 0) {
		log_error("could not start the notification client: %s",
		    strerror(rc));
		nc_free(nc);
		return -1;
	}
	client = nc;
	return 0;
}

void
notify_stop(void)
{
	struct nc *nc = client;
	int rc;

	if (nc == NULL)
		return;
	if (write(nc->stop[1], "x", 1) != 1)
		log_error("could not stop the notification client: %m");
	if ((rc = pthread_join(nc->thread, NULL)) != 0)
		log_error("could not wait for the notification client: %s",
		    strerror(rc));
	client = NULL;
	nc_free(nc);
}
