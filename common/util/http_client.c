/* http_client.c - HTTP(S) requests through libcurl */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http_client.h"
#include "log.h"

#define HTTP_MAX_REPLY (1024 * 1024)

int
http_global_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		log_error(
		    "could not initialize libcurl: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* Collect the answer's body, refusing more than HTTP_MAX_REPLY bytes. */
static size_t
http_on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > HTTP_MAX_REPLY)
		return 0;
	buf_add(b, data, n);
	return n;
}

/*
 * TLS as hc says: the peer and its name verified against hc->ca alone
 * (no CA path, so OpenSSL loads none of the system's CAs: libcurl falls
 * back to OpenSSL's default paths only when neither a file nor a path is
 * set, and imports a native store only with CURLSSLOPT_NATIVE_CA, which
 * is off and Windows' alone), revocation checked against hc->crl, and
 * hc->cert and its key presented.
 */
static CURLcode
http_tls(CURL *c, const struct http_conf *hc)
{
	CURLcode rc = CURLE_OK;

	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rc == CURLE_OK && hc->ca != NULL && *hc->ca != '\0' &&
	    (rc = curl_easy_setopt(c, CURLOPT_CAINFO, hc->ca)) == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	if (rc == CURLE_OK && hc->crl != NULL && *hc->crl != '\0')
		rc = curl_easy_setopt(c, CURLOPT_CRLFILE, hc->crl);
	if (rc == CURLE_OK && hc->cert != NULL &&
	    (rc = curl_easy_setopt(c, CURLOPT_SSLCERT, hc->cert)) == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_SSLKEY, hc->key);
	return rc;
}

/* libcurl's progress callback: a nonzero return ends the transfer. */
static int
http_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct http_conf *hc = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return hc->cancelled() ? 1 : 0;
}

/* Set the options every request has; the header list to free, or NULL
 * with r->error when TLS cannot be set up as hc says. */
static struct curl_slist *
http_setup(CURL *c, const struct http_conf *hc, const char *url, char *err,
    struct buf *b, struct http_reply *r)
{
	struct curl_slist *hdrs = NULL;
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (hc->stall_only) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, hc->timeout);
	} else {
		curl_easy_setopt(c, CURLOPT_TIMEOUT, hc->timeout);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, hc->timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, hc->protocols);
	curl_easy_setopt(c, CURLOPT_USERAGENT, hc->user_agent);
	if (hc->cancelled != NULL) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, hc);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	if ((rc = http_tls(c, hc)) != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "could not set up TLS: %s",
		    curl_easy_strerror(rc));
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	/* no "100 continue" round trip before a large batch */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

/* The calling thread's handle, kept with its connections (keep_alive). */
static _Thread_local CURL *thread_handle;

/* A handle for one request as hc says: the thread's, reset, or a new one. */
static CURL *
http_handle(const struct http_conf *hc)
{
	if (!hc->keep_alive)
		return curl_easy_init();
	if (thread_handle == NULL)
		thread_handle = curl_easy_init();
	else
		curl_easy_reset(thread_handle); /* connections are kept */
	return thread_handle;
}

/* Done with c: cleaned up unless it is the thread's, kept. */
static void
http_handle_done(CURL *c)
{
	if (c != thread_handle)
		curl_easy_cleanup(c);
}

void
http_thread_done(void)
{
	if (thread_handle != NULL)
		curl_easy_cleanup(thread_handle);
	thread_handle = NULL;
}

/* One request with libcurl; 0 with the answer in r, or -1 with r->error. */
static int
http_curl_request(void *ctx, const char *method, const char *url,
    const char *body, size_t len, struct http_reply *r)
{
	char err[CURL_ERROR_SIZE] = "";
	struct buf b = { 0 };
	struct curl_slist *hdrs;
	CURL *c = http_handle(ctx);
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (c == NULL) {
		snprintf(r->error, sizeof(r->error), "could not start libcurl");
		return -1;
	}
	if ((hdrs = http_setup(c, ctx, url, err, &b, r)) == NULL) {
		http_handle_done(c);
		return -1;
	}
	if (strcmp(method, "PUT") == 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else {
		r->failure = (int)rc;
		snprintf(r->error, sizeof(r->error), "%s",
		    err[0] != '\0' ? err : curl_easy_strerror(rc));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	http_handle_done(c);
	if (rc != CURLE_OK) {
		buf_free(&b);
		return -1;
	}
	buf_add(&b, "", 0);
	r->body = b.p;
	r->len = b.len;
	return 0;
}

void
http_curl_ops(struct http_ops *ops, struct http_conf *conf)
{
	ops->request = http_curl_request;
	ops->ctx = conf;
}

void
http_reply_free(struct http_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
