/*
 * httpbench.h - what the HTTP benchmarks share: starting processes by pid,
 * keep-alive clients posting back to back through nginx on loopback, over
 * plain HTTP or over TLS with a client certificate, and a rate counted
 * only of the answers with the status expected
 */
#ifndef HTTPBENCH_H
#define HTTPBENCH_H

#include <limits.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HB_MAX_CLIENTS 1024
#define HB_MAX_BODY 16384

/* One load: clients post body to path for seconds after a warm-up. */
struct hb_load {
	int port;
	SSL_CTX *tls; /* from hb_tls_client; NULL: plain HTTP */
	const char *path;
	const char *body; /* POSTed; NULL: GET */
	size_t len;
	int want; /* the status that counts: 200, 202 ... */
	int clients;
	double seconds, warmup;
	bool reconnect; /* a new connection (and handshake) per request */
};

/* A connection to 127.0.0.1: a socket, and its TLS when there is one. */
struct hb_conn {
	int fd; /* -1: closed */
	SSL *ssl; /* NULL: plain HTTP */
	bool ok; /* no error yet: a TLS close_notify may be sent */
};

/* One nginx server: a port, and the prefixes it passes to FastCGI. */
struct hb_server {
	int port;
	/*
	 * HTTPS with this certificate and key, asking every client for its
	 * certificate (ssl_verify_client optional_no_ca, as for the MP) and
	 * passing it on as SSL_CLIENT_CERT; NULL: plain HTTP
	 */
	const char *cert, *key;
	const char *const *prefixes;
	size_t n;
};

/* The files of a run's TLS, made by hb_tls_make under DIR/tls/. */
struct hb_tls_files {
	char ca[PATH_MAX]; /* the CA's certificate, which clients trust */
	char cert[PATH_MAX], key[PATH_MAX]; /* the server's, for 127.0.0.1 */
	char client_cert[PATH_MAX], client_key[PATH_MAX]; /* self-signed */
};

/*
 * hb_env_long - the whole number in [min, max] that the environment's name
 * holds, or def when it is unset or empty; anything else: say so, exit 2
 */
long hb_env_long(const char *name, long def, long min, long max);

/*
 * hb_threads - start n threads of run, the ith given (char *)args + i *
 * size, each with a small stack (a client's buffers and OpenSSL's: a
 * thousand of them fit); or die
 */
void hb_threads(
    pthread_t *t, int n, void *(*run)(void *), void *args, size_t size);

/* hb_die - print the program's name, what failed and errno; exit 1 */
void hb_die(const char *what);

/*
 * hb_setup - make a private work directory for the run (mode 0755: nginx's
 * workers read it) into dir, and the directory of the program argv0 (the
 * build's bench/) into bindir, which hold dirlen and binlen bytes, and
 * raise the open files limit to its hard limit (HB_MAX_CLIENTS clients;
 * nginx and the daemons started after inherit it); or die
 */
void hb_setup(
    const char *argv0, char *dir, size_t dirlen, char *bindir, size_t binlen);

/* hb_path - "dir/name" into out (len bytes), or die if it does not fit */
void hb_path(char *out, size_t len, const char *dir, const char *name);

/*
 * hb_web_group - the group of the roles' FastCGI sockets ([site]
 * fastcgi_group) and the user of nginx's workers: "www-data" when run as
 * root, "" otherwise (nginx and the roles then run as this user)
 */
const char *hb_web_group(void);

/*
 * hb_trivial - start the trivial FastCGI responder of the build in bindir
 * on dir/trivial.sock with threads threads, stderr to log; its pid
 */
pid_t hb_trivial(
    const char *bindir, const char *dir, int threads, const char *log);

/* hb_free_port - a loopback TCP port that was free a moment ago */
int hb_free_port(void);

/* hb_spawn - run argv, stdin /dev/null, stdout and stderr to log; pid */
pid_t hb_spawn(char *const argv[], const char *log);

/* hb_write_file - write text to path whole, or die */
void hb_write_file(const char *path, const char *text);

/*
 * hb_tls_make - a CA, its certificate for server 127.0.0.1, and a
 * self-signed client certificate named client_cn (ECDSA P-256, valid a
 * day) under dir/tls/, their paths into f; or die
 */
void hb_tls_make(
    const char *dir, const char *client_cn, struct hb_tls_files *f);

/*
 * hb_tls_client - a TLS 1.3 client context that presents f's client
 * certificate, trusts only f's CA for server 127.0.0.1, and never resumes
 * a session: every connection is a full handshake; or die
 */
SSL_CTX *hb_tls_client(const struct hb_tls_files *f);

/*
 * hb_request - one request on a new connection (TLS with tls, else plain
 * HTTP); the status, or -1
 */
int hb_request(int port, SSL_CTX *tls, const char *method, const char *path,
    const char *body, size_t len);

/*
 * hb_conn_open - connect c to 127.0.0.1:port, and with tls make a full
 * handshake presenting cert and its key (NULL: tls's own certificate);
 * 0, or -1 with c closed
 */
int hb_conn_open(
    struct hb_conn *c, int port, SSL_CTX *tls, X509 *cert, EVP_PKEY *key);

/*
 * hb_conn_request - send one HTTP/1.1 request (a body of len bytes, at
 * most HB_MAX_BODY) on c and read the whole answer; its status, or -1
 * (c is then to be closed)
 */
int hb_conn_request(struct hb_conn *c, const char *method, const char *path,
    const char *data, size_t len);

/* hb_conn_close - close c (if open), with a TLS close_notify if all went
 * well */
void hb_conn_close(struct hb_conn *c);

/* hb_wait_ready - 0 once path answers through nginx (not 502), or -1 */
int hb_wait_ready(int port, SSL_CTX *tls, const char *path);

/*
 * hb_measure - requests per second answered with load->want during
 * load->seconds, by at most HB_MAX_CLIENTS clients, each connected (and
 * its handshake made) before the clock starts unless load->reconnect;
 * the others are reported on stderr with their last status
 */
double hb_measure(const struct hb_load *load);

/*
 * hb_nginx - write DIR/nginx.conf (nginx on 127.0.0.1 with the n servers
 * of srv, each passing its "/prefix/"es to the FastCGI socket
 * DIR/<name>.sock, where name is the prefix's first path element, and
 * answering GET /health itself) and start nginx; its pid
 */
pid_t hb_nginx(
    const char *dir, const struct hb_server *srv, size_t n, const char *log);

/*
 * hb_cpu - the CPU seconds, user and system, all threads, that process
 * pid and its children (nginx's workers) have used so far; or die
 */
double hb_cpu(pid_t pid);

/* hb_stop - signal pid (if any) and reap it */
void hb_stop(pid_t pid, int sig);

#endif
