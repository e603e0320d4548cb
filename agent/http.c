/* http.c - the agent's HTTP requests, through libcurl */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/buf.h"
#include "util/log.h"

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

/* Set the options every request has; the header list to free. */
static struct curl_slist *
http_setup(CURL *c, long timeout, const char *url, char *err, struct buf *b)
{
	struct curl_slist *hdrs = NULL;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, AGENT_NAME);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	/* no "100 continue" round trip before a large batch */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

/* One request with libcurl; 0 with the answer in r, or -1 with r->error. */
static int
http_curl_request(void *ctx, const char *method, const char *url,
    const char *body, size_t len, struct http_reply *r)
{
	char err[CURL_ERROR_SIZE] = "";
	struct buf b = { 0 };
	struct curl_slist *hdrs;
	CURL *c = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (c == NULL) {
		snprintf(r->error, sizeof(r->error), "could not start libcurl");
		return -1;
	}
	hdrs = http_setup(c, *(long *)ctx, url, err, &b);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		snprintf(r->error, sizeof(r->error), "%s",
		    err[0] != '\0' ? err : curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
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
http_curl_ops(struct http_ops *ops, long *timeout_seconds)
{
	ops->request = http_curl_request;
	ops->ctx = timeout_seconds;
}
