/*
 * httpbench.h - what the HTTP benchmarks share: starting processes by pid,
 * keep-alive clients posting back to back through nginx on loopback, and
 * a rate counted only of the answers with the status expected
 */
#ifndef HTTPBENCH_H
#define HTTPBENCH_H

#include <stddef.h>
#include <sys/types.h>

#define HB_MAX_CLIENTS 256
#define HB_MAX_BODY 16384

/* One load: clients post body to path for seconds after a warm-up. */
struct hb_load {
	int port;
	const char *path;
	const char *body;
	size_t len;
	int want; /* the status that counts: 200, 202 ... */
	int clients;
	double seconds, warmup;
};

/* hb_die - print the program's name, what failed and errno; exit 1 */
void hb_die(const char *what);

/*
 * hb_setup - make a private work directory for the run (mode 0755: nginx's
 * workers read it) into dir, and the directory of the program argv0 (the
 * build's bench/) into bindir, which hold dirlen and binlen bytes; or die
 */
void hb_setup(
    const char *argv0, char *dir, size_t dirlen, char *bindir, size_t binlen);

/* hb_path - "dir/name" into out (len bytes), or die if it does not fit */
void hb_path(char *out, size_t len, const char *dir, const char *name);

/*
 * hb_trivial - start the trivial FastCGI responder of the build in bindir
 * on dir/trivial.sock with threads threads, stderr to log; its pid
 */
pid_t hb_trivial(
    const char *bindir, const char *dir, int threads, const char *log);

/* hb_free_port - a loopback TCP port that was free a moment ago */
int hb_free_port(void);

/* hb_spawn - run argv with stderr appended to log; its pid */
pid_t hb_spawn(char *const argv[], const char *log);

/* hb_write_file - write text to path whole, or die */
void hb_write_file(const char *path, const char *text);

/* hb_request - one request on a new connection; the status, or -1 */
int hb_request(int port, const char *method, const char *path, const char *body,
    size_t len);

/* hb_wait_ready - 0 once path answers through nginx (not 502), or -1 */
int hb_wait_ready(int port, const char *path);

/*
 * hb_measure - requests per second answered with load->want during
 * load->seconds; the others are reported on stderr with their last status
 */
double hb_measure(const struct hb_load *load);

/*
 * hb_nginx - write DIR/nginx.conf (nginx on 127.0.0.1:port passing each
 * "/prefix/" of names to the FastCGI socket DIR/<name>.sock, where name is
 * the prefix's first path element) and start nginx; its pid
 */
pid_t hb_nginx(const char *dir, int port, const char *const *prefixes, size_t n,
    const char *log);

/* hb_stop - signal pid (if any) and reap it */
void hb_stop(pid_t pid, int sig);

#endif
