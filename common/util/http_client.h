/*
 * http_client.h - HTTP(S) requests through libcurl: the peer verified
 * against one CA file alone (and its revocation list), an identity
 * presented if asked, the answer's body kept up to a limit
 */
#ifndef SITESYS_HTTP_CLIENT_H
#define SITESYS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* An HTTP answer, or why there was none. */
struct http_reply {
	long status; /* 0: no answer */
	int failure; /* with no answer, libcurl's CURLcode: the kind of
			failure, where error also has its details */
	char *body;
	size_t len;
	char error[512];
};

/* How libcurl makes one kind of request. */
struct http_conf {
	long timeout; /* seconds, for the connection and for the whole */
	bool stall_only; /* timeout counts while no byte moves, not in all:
			    for a body of any size on any link */
	const char *protocols; /* CURLOPT_PROTOCOLS_STR, e.g. "https" */
	const char *ca, *crl; /* CA file and revocation list; "": none */
	const char *cert, *key; /* the identity presented; NULL: none */
	const char *user_agent; /* the User-Agent header */
	bool (*cancelled)(void); /* or NULL: true ends a request under way */
	bool keep_alive; /* each thread keeps one connection per peer open
			    between requests (http_thread_done ends them) */
};

/* Requests as a program makes them (libcurl, or fakes in tests). */
struct http_ops {
	/* one request, method "GET", "POST" or "PUT" (body and len for
	 * the last two); 0 with the answer in r, or -1 with r->error */
	int (*request)(void *ctx, const char *method, const char *url,
	    const char *body, size_t len, struct http_reply *r);
	void *ctx;
};

/* http_global_init - curl_global_init once; 0 or -1 logged */
int http_global_init(void);

/*
 * http_curl_ops - requests through libcurl as conf says (read at each
 * request): only its protocols; over HTTPS, the peer and its host name
 * verified against conf->ca alone (never the system's CAs) and conf->crl,
 * conf->cert and its key presented; a TLS failure's reason in the reply
 */
void http_curl_ops(struct http_ops *ops, struct http_conf *conf);

/*
 * http_thread_done - close the calling thread's kept connections (see
 * keep_alive); a thread that made requests so calls it before it ends
 */
void http_thread_done(void);

/* http_reply_free - release a reply's body */
void http_reply_free(struct http_reply *r);

#endif
