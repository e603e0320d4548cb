/*
 * send.c - deliver the outbox: whole files packed into sitesys.statemsg/1
 * batches within the limits, each posted to the management point, else to
 * the fallback status point; only a 202 answer removes what was sent
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

size_t
send_pack(const struct outbox_file *files, size_t n)
{
	size_t count = 0, msgs = 0, bytes = 0;

	for (; count < n; count++) {
		size_t m = json_array_size(files[count].msgs);

		if (count > 0 &&
		    (msgs + m > STATEMSG_MAX_MESSAGES ||
		        bytes + files[count].bytes >
		            STATEMSG_MAX_BODY - AGENT_BATCH_ENVELOPE))
			break;
		msgs += m;
		bytes += files[count].bytes;
	}
	return count;
}

json_t *
send_batch_doc(const char *guid, EVP_PKEY *key, const struct outbox_file *files,
    size_t count, char *why, size_t whylen)
{
	json_t *msgs = json_array(), *doc;
	char sig[X509_SIGNATURE_LEN], err[512], *text;
	int rc;

	if (msgs == NULL)
		abort();
	for (size_t i = 0; i < count; i++)
		json_array_extend(msgs, files[i].msgs);
	doc = json_pack("{s:s,s:s,s:o}", "format", STATEMSG_FORMAT, "client",
	    guid, "messages", msgs);
	if (doc == NULL || (text = statemsg_signed_text(doc)) == NULL)
		abort();
	rc = x509_sign(key, text, strlen(text), sig, err, sizeof(err));
	free(text);
	if (rc == -1) {
		snprintf(why, whylen, "could not sign the batch: %s", err);
		json_decref(doc);
		return NULL;
	}
	sjson_set(doc, "signature", json_string(sig));
	return doc;
}

/* POST body to base/statemsg; 0 on 202, else -1 with why. */
static int
send_post(const struct http_ops *http, const char *base, const char *body,
    size_t len, char *why, size_t whylen)
{
	struct http_reply r = { 0 };
	char url[2048];
	int rc = -1;

	if (*base == '\0') {
		snprintf(why, whylen, "no URL is configured");
		return -1;
	}
	snprintf(url, sizeof(url), "%.*s/statemsg",
	    (int)(strlen(base) - (base[strlen(base) - 1] == '/')), base);
	if (http->request(http->ctx, "POST", url, body, len, &r) == -1)
		snprintf(why, whylen, "%.600s: %.400s", url, r.error);
	else if (r.status != 202)
		http_reply_why(url, &r, why, whylen);
	else
		rc = 0;
	http_reply_free(&r);
	return rc;
}

/* Where batches go: the management point, else the fallback one. */
struct send_to {
	const struct http_ops *mp, *fsp;
	const char *mp_url, *fsp_url;
};

/* Post one batch to the MP, else the FSP; where it went, or NULL. */
static const char *
send_batch(const struct send_to *where, json_t *doc, char *why, size_t whylen)
{
	char mp_why[1024], fsp_why[1024];
	char *body = json_dumps(doc, JSON_COMPACT);
	const char *to = NULL;
	size_t len;

	if (body == NULL)
		abort();
	len = strlen(body);
	if (send_post(where->mp, where->mp_url, body, len, mp_why,
	        sizeof(mp_why)) == 0)
		to = "mp";
	else if (send_post(where->fsp, where->fsp_url, body, len, fsp_why,
	             sizeof(fsp_why)) == 0) {
		to = "fsp";
		log_warn("management point failed (%s); sent to the fallback "
		         "status point",
		    mp_why);
	} else {
		snprintf(why, whylen,
		    "management point: %.1020s; fallback status point: %.1020s",
		    mp_why, fsp_why);
	}
	free(body);
	return to;
}

/* Remember in status.json how this attempt ended. */
static void
send_record(
    struct store *st, size_t sent, size_t left, const char *to, const char *why)
{
	char now[AGENT_TIME_LEN];
	json_t *v;

	msg_now(now);
	v = json_pack("{s:s,s:s,s:I,s:I}", "time", now, "result",
	    why == NULL ? "ok" : "failed", "sent", (json_int_t)sent, "left",
	    (json_int_t)left);
	if (v == NULL)
		abort();
	if (to != NULL)
		sjson_set(v, "to", json_string(to));
	if (why != NULL)
		sjson_set(v, "error", json_string(why));
	store_status_set(st, "last_send", v);
}

/* Messages in files[0..n). */
static size_t
send_count(const struct outbox_file *files, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		m += json_array_size(files[i].msgs);
	return m;
}

/* Deliver the outbox (the caller holds the send lock). */
static int
send_locked(struct store *st, const struct send_to *where)
{
	struct outbox_file *files;
	size_t n, i = 0, sent = 0;
	const char *to = NULL, *last_to = NULL;
	char why[2200];

	if (store_outbox_list(st, &files, &n) == -1)
		return -1;
	while (i < n) {
		size_t count = send_pack(files + i, n - i);
		json_t *doc = send_batch_doc(
		    st->guid, st->key, files + i, count, why, sizeof(why));

		to = doc ? send_batch(where, doc, why, sizeof(why)) : NULL;
		json_decref(doc);
		if (to == NULL)
			break;
		last_to = to;
		if (store_outbox_remove(st, files + i, count) == -1) {
			snprintf(why, sizeof(why),
			    "could not remove sent messages from the outbox");
			to = NULL;
			break;
		}
		sent += send_count(files + i, count);
		i += count;
	}
	if (to == NULL && i < n)
		log_error("could not send %zu state messages, kept for the "
		          "next attempt: %s",
		    send_count(files + i, n - i), why);
	else if (sent > 0)
		log_info("sent %zu state messages", sent);
	send_record(st, sent, send_count(files + i, n - i), last_to,
	    i < n ? why : NULL);
	store_outbox_free(files, n);
	return i < n ? -1 : 0;
}

/* Take dir/send.lock, so that two senders never post the same files. */
static int
send_lock(const struct store *st)
{
	char path[PATH_MAX];
	int fd;

	if (fsio_join(path, sizeof(path), st->dir, "send.lock") == -1 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_error("could not open \"%s/send.lock\": %m", st->dir);
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			log_error("could not lock \"%s\": %m", path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
send_outbox(struct store *st, const struct http_ops *mp, const char *mp_url,
    const struct http_ops *fsp, const char *fsp_url)
{
	const struct send_to where = { mp, fsp, mp_url, fsp_url };
	int fd = send_lock(st), rc;

	if (fd == -1)
		return -1;
	rc = send_locked(st, &where);
	close(fd);
	return rc;
}
