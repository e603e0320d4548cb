/*
 * fcgi_server.c - a threaded FastCGI responder over libfcgi
 *
 * Every thread blocks in FCGX_Accept_r on the one listening socket. To
 * stop, shutdown(2) on the listening socket makes every accept(2) that
 * waits, and every later one, fail at once (Linux), so the threads leave
 * their loop after the request they are answering, if any.
 * FCGX_ShutdownPending is not used: libfcgi then fails the reads and writes
 * of the requests still in progress.
 */
#include <errno.h>
#include <libgen.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgi_server.h"
#include "fsio.h"
#include "log.h"

#define DRAIN_MAX (64u * 1024 * 1024) /* most unread body thrown away */

struct fcgi_req {
	FCGX_Request r;
	int answered;
	char path[4096];
	char headers[512]; /* extra header lines for the reply */
};

struct fcgi_server {
	int fd;
	int nthreads;
	pthread_t *threads;
	fcgi_handler handle;
	void *arg;
	int stopping; /* read and written with __atomic builtins */
};

/* Make a sockaddr_un for path; -1 (logged) if it is too long. */
static int
unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		log_error(
		    "cannot listen on \"%s\": the path is longer than %zu "
		    "bytes",
		    path, sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Remove a socket left by a process that died; -1 if one still answers. */
static int
remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT
		    ? 0
		    : (log_error("cannot stat \"%s\": %m", path), -1);
	if (!S_ISSOCK(st.st_mode)) {
		log_error(
		    "cannot listen on \"%s\": it exists and is not a socket",
		    path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return log_error("could not make a socket: %m"), -1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		log_error(
		    "cannot listen on \"%s\": another process answers there",
		    path);
		return -1;
	}
	if (unlink(path) == -1) {
		log_error("could not remove the stale socket \"%s\": %m", path);
		return -1;
	}
	return 0;
}

int
fcgi_listen(
    const char *path, mode_t mode, uid_t owner, gid_t group, int backlog)
{
	struct sockaddr_un sa;
	int fd;

	char dir[sizeof(sa.sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	if (fsio_mkdirs(dirname(dir), 0755) == -1) {
		log_error("could not create the directory of \"%s\": %m", path);
		return -1;
	}
	if (unix_addr(path, &sa) == -1 || remove_stale(path, &sa) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_error("could not make a socket: %m");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		log_error("could not bind to \"%s\": %m", path);
		goto fail;
	}
	if (chmod(path, mode) == -1) {
		log_error("could not set the mode of \"%s\": %m", path);
		goto fail;
	}
	if ((owner != (uid_t)-1 || group != (gid_t)-1) &&
	    chown(path, owner, group) == -1) {
		log_error(
		    "could not set the owner and group of \"%s\": %m", path);
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		log_error("could not listen on \"%s\": %m", path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Answer 500 unless the handler answered. */
static void
serve_one(struct fcgi_server *srv, struct fcgi_req *req)
{
	req->answered = 0;
	req->headers[0] = '\0';
	if (srv->handle(req, srv->arg) == -1 || !req->answered) {
		if (!req->answered)
			fcgi_error(req, 500, "internal error");
	}
}

static void *
worker(void *p)
{
	struct fcgi_server *srv = p;
	struct fcgi_req *req = calloc(1, sizeof(*req));
	int rc;

	if (req == NULL) {
		log_error("out of memory for a FastCGI thread");
		return NULL;
	}
	FCGX_InitRequest(&req->r, srv->fd, 0);
	for (;;) {
		rc = FCGX_Accept_r(&req->r);
		if (__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE))
			break;
		if (rc < 0) {
			/* e.g. EMFILE: do not spin, the next may work */
			log_warn("could not accept a FastCGI request: %s",
			    rc > -1000 ? strerror(-rc) : "libfcgi error");
			usleep(100000);
			continue;
		}
		serve_one(srv, req);
	}
	FCGX_Finish_r(&req->r);
	free(req);
	return NULL;
}

struct fcgi_server *
fcgi_server_start(int fd, int nthreads, fcgi_handler handle, void *arg)
{
	struct fcgi_server *srv = calloc(1, sizeof(*srv));
	int rc;

	if (srv == NULL ||
	    (srv->threads = calloc((size_t)nthreads, sizeof(*srv->threads))) ==
	        NULL) {
		log_error("out of memory for %d FastCGI threads", nthreads);
		free(srv);
		return NULL;
	}
	if ((rc = FCGX_Init()) != 0) {
		log_error("could not initialise libfcgi (%d)", rc);
		goto fail;
	}
	srv->fd = fd;
	srv->handle = handle;
	srv->arg = arg;
	for (; srv->nthreads < nthreads; srv->nthreads++) {
		rc = pthread_create(
		    &srv->threads[srv->nthreads], NULL, worker, srv);
		if (rc != 0) {
			log_error("could not start FastCGI thread %d: %s",
			    srv->nthreads + 1, strerror(rc));
			break;
		}
	}
	if (srv->nthreads > 0)
		return srv;
fail:
	free(srv->threads);
	free(srv);
	return NULL;
}

void
fcgi_server_stop(struct fcgi_server *srv)
{
	if (srv == NULL)
		return;
	__atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
	if (shutdown(srv->fd, SHUT_RDWR) == -1)
		log_error("could not shut the FastCGI socket down: %m");
	for (int i = 0; i < srv->nthreads; i++)
		pthread_join(srv->threads[i], NULL);
	close(srv->fd);
	free(srv->threads);
	free(srv);
}

const char *
fcgi_param(struct fcgi_req *req, const char *name)
{
	return FCGX_GetParam(name, req->r.envp);
}

const char *
fcgi_method(struct fcgi_req *req)
{
	const char *m = fcgi_param(req, "REQUEST_METHOD");

	return m ? m : "";
}

const char *
fcgi_path(struct fcgi_req *req)
{
	const char *doc = fcgi_param(req, "DOCUMENT_URI");
	const char *script = fcgi_param(req, "SCRIPT_NAME");
	const char *info = fcgi_param(req, "PATH_INFO");

	if (doc != NULL && *doc != '\0')
		return doc;
	snprintf(req->path, sizeof(req->path), "%s%s", script ? script : "",
	    info ? info : "");
	return req->path;
}

const char *
fcgi_query(struct fcgi_req *req)
{
	const char *q = fcgi_param(req, "QUERY_STRING");

	return q ? q : "";
}

/* Read and throw away what is left of the body (at most DRAIN_MAX). */
static void
drain(struct fcgi_req *req)
{
	char junk[8192];
	size_t total = 0;
	int n;

	while (total < DRAIN_MAX &&
	    (n = FCGX_GetStr(junk, sizeof(junk), req->r.in)) > 0)
		total += (size_t)n;
}

/* The declared Content-Length, or -1 if absent or not a number. */
static long long
content_length(struct fcgi_req *req)
{
	const char *s = fcgi_param(req, "CONTENT_LENGTH");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	return (*end != '\0' || v < 0 || errno != 0) ? -1 : v;
}

/* Read up to want bytes into buf; the count read (short only at EOF). */
static size_t
read_upto(struct fcgi_req *req, char *buf, size_t want)
{
	size_t got = 0;
	int n;

	while (got < want) {
		size_t chunk = want - got > 1 << 20 ? 1 << 20 : want - got;

		if ((n = FCGX_GetStr(buf + got, (int)chunk, req->r.in)) <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int
fcgi_read_body(struct fcgi_req *req, size_t max, char **body, size_t *len)
{
	long long declared = content_length(req);
	size_t want = declared >= 0 ? (size_t)declared : max + 1, got;
	char *buf;

	*body = NULL;
	*len = 0;
	if (declared > (long long)max) {
		drain(req);
		return fcgi_error(req, 413,
		           "request body of %lld bytes is larger than the "
		           "limit of %zu bytes",
		           declared, max),
		       -1;
	}
	if ((buf = malloc(want + 1)) == NULL) {
		drain(req);
		return fcgi_error(req, 503, "out of memory"), -1;
	}
	got = read_upto(req, buf, want);
	if (declared < 0 && got > max) {
		free(buf);
		drain(req);
		return fcgi_error(req, 413,
		           "request body is larger than the limit of %zu bytes",
		           max),
		       -1;
	}
	if (declared >= 0 && got < want) {
		free(buf);
		return fcgi_error(req, 400,
		           "request body ended after %zu of %lld bytes", got,
		           declared),
		       -1;
	}
	buf[got] = '\0';
	*body = buf;
	*len = got;
	return 0;
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return "Unknown";
	}
}

void
fcgi_add_header(struct fcgi_req *req, const char *name, const char *value)
{
	size_t used = strlen(req->headers);

	snprintf(req->headers + used, sizeof(req->headers) - used, "%s: %s\r\n",
	    name, value);
}

int
fcgi_reply(struct fcgi_req *req, int status, const char *json)
{
	size_t len = json ? strlen(json) : 0;
	int rc;

	if (req->answered)
		return -1;
	req->answered = 1;
	rc = FCGX_FPrintF(req->r.out,
	    "Status: %d %s\r\n%sContent-Type: application/json\r\n"
	    "Content-Length: %d\r\n\r\n", /* libfcgi printf: no %zu */
	    status, status_text(status), req->headers, json ? (int)len + 1 : 0);
	if (rc >= 0 && json != NULL) {
		rc = FCGX_PutStr(json, (int)len, req->r.out);
		if (rc >= 0)
			rc = FCGX_PutChar('\n', req->r.out);
	}
	return rc < 0 ? -1 : 0;
}

int
fcgi_reply_json(struct fcgi_req *req, int status, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return fcgi_reply(req, 500, "{\"error\":\"out of memory\"}");
	rc = fcgi_reply(req, status, text);
	free(text);
	return rc;
}

/* Answer status with {"error": msg} and "code" unless NULL; 0 or -1. */
static int
fcgi_error_json(struct fcgi_req *req, int status, const char *code, char *msg)
{
	json_t *doc;
	int rc;

	if ((doc = json_pack("{s:s}", "error", msg)) == NULL) {
		/* cut inside a UTF-8 sequence, say: keep it ASCII */
		for (char *s = msg; *s != '\0'; s++)
			if ((unsigned char)*s >= 0x80)
				*s = '?';
		if ((doc = json_pack("{s:s}", "error", msg)) == NULL)
			return fcgi_reply(req, 500, NULL);
	}
	if (code != NULL &&
	    json_object_set_new(doc, "code", json_string(code)) == -1) {
		json_decref(doc);
		return fcgi_reply(req, 500, NULL);
	}
	rc = fcgi_reply_json(req, status, doc);
	json_decref(doc);
	return rc;
}

static fcgi_refusal_hook refusal_hook;

void
fcgi_set_refusal_hook(fcgi_refusal_hook hook)
{
	refusal_hook = hook;
}

/*
 * Answer status with {"error": msg} and "code" unless NULL, and tell the
 * refusal hook; 0 or -1.
 */
static int
fcgi_error_doc(struct fcgi_req *req, int status, const char *code, char *msg)
{
	bool answered = req->answered;
	int rc = fcgi_error_json(req, status, code, msg);

	if (!answered && refusal_hook != NULL)
		refusal_hook(req, status, code, msg);
	return rc;
}

int
fcgi_error(struct fcgi_req *req, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fcgi_error_doc(req, status, NULL, msg);
}

int
fcgi_refuse(
    struct fcgi_req *req, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fcgi_error_doc(req, status, code, msg);
}
