/*
 * fcgi_server.h - a threaded FastCGI responder behind nginx: N threads
 * accept on one unix socket (libfcgi) and call one handler per request
 *
 * The daemon opens the socket in its init() (before it drops privileges),
 * starts the threads in run(), waits for signals_stopping() and stops them:
 * the requests in progress are answered, no new one is taken.
 */
#ifndef SITESYS_FCGI_SERVER_H
#define SITESYS_FCGI_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct fcgi_req;
struct fcgi_server;

/*
 * fcgi_handler - answer one request with fcgi_reply/fcgi_error; 0, or -1
 * when it could not (the server then answers 500 if nothing was sent)
 */
typedef int (*fcgi_handler)(struct fcgi_req *req, void *arg);

/*
 * fcgi_listen - listen on a unix socket at path (making its directory)
 * with the given mode, owner and group (-1: unchanged, as chown(2) takes
 * them), set before anyone can connect; replacing a stale socket but
 * refusing one that a process still answers on; the descriptor, or -1
 * (logged with the cause)
 */
int fcgi_listen(
    const char *path, mode_t mode, uid_t owner, gid_t group, int backlog);

/*
 * fcgi_server_start - handle the requests arriving on fd in nthreads
 * threads; NULL (logged) if no thread could be started
 */
struct fcgi_server *fcgi_server_start(
    int fd, int nthreads, fcgi_handler handle, void *arg);

/*
 * fcgi_server_stop - stop taking requests, let the ones in progress finish,
 * join the threads, close fd and free the server
 */
void fcgi_server_stop(struct fcgi_server *srv);

/* fcgi_param - a FastCGI parameter (CGI variable), or NULL */
const char *fcgi_param(struct fcgi_req *req, const char *name);

/* fcgi_method - the request method, e.g. "POST" ("" if nginx sent none) */
const char *fcgi_method(struct fcgi_req *req);

/*
 * fcgi_path - the request's path, decoded and normalized by nginx:
 * DOCUMENT_URI, else SCRIPT_NAME followed by PATH_INFO
 */
const char *fcgi_path(struct fcgi_req *req);

/* fcgi_query - the query string without "?" ("" when there is none) */
const char *fcgi_query(struct fcgi_req *req);

/*
 * fcgi_read_body - read the whole body, NUL-terminated, into *body (freed
 * by the caller); 0, or -1 after answering 413 when it is larger than max
 * bytes, 400 when it is shorter than its Content-Length
 */
int fcgi_read_body(struct fcgi_req *req, size_t max, char **body, size_t *len);

/* fcgi_add_header - one more "Name: value" line for the coming reply */
void fcgi_add_header(struct fcgi_req *req, const char *name, const char *value);

/* fcgi_reply - answer with status and a JSON text (NULL: no body); 0 or -1 */
int fcgi_reply(struct fcgi_req *req, int status, const char *json);

/* fcgi_reply_json - answer with status and doc, compact; 0 or -1 */
int fcgi_reply_json(struct fcgi_req *req, int status, const json_t *doc);

/*
 * fcgi_refusal_hook - told of every answer fcgi_error or fcgi_refuse
 * gives: the request, its status, the code (or NULL) and the reason. It
 * runs in the request's thread after the answer was sent.
 */
typedef void (*fcgi_refusal_hook)(
    struct fcgi_req *req, int status, const char *code, const char *reason);

/*
 * fcgi_set_refusal_hook - call hook (NULL: none) for each refusal from now
 * on; set it before fcgi_server_start, as the threads read it unlocked
 */
void fcgi_set_refusal_hook(fcgi_refusal_hook hook);

/* fcgi_error - answer status with {"error": "<printf text>"}; 0 or -1 */
__attribute__((format(printf, 3, 4))) int fcgi_error(
    struct fcgi_req *req, int status, const char *fmt, ...);

/*
 * fcgi_refuse - fcgi_error with a machine-readable reason beside the
 * text: {"error": "<printf text>", "code": code}; 0 or -1
 */
__attribute__((format(printf, 4, 5))) int fcgi_refuse(
    struct fcgi_req *req, int status, const char *code, const char *fmt, ...);

#endif
