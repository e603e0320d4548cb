/*
 * send.c - one file of an outbox to the site server's receiver: its name
 * is its identity there, so sending it again after a crash or a lost
 * answer is harmless (sitesys-inbox(5))
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sender.h"
#include "util/fsio.h"
#include "util/log.h"

/*
 * The reason of an error answer, {"error": reason, "code": code}, or its
 * status, into why; whether its code refuses the file itself (its name,
 * its emptiness, its size) rather than this sender or the moment.
 */
static bool
answer_why(const struct http_reply *r, char *why, size_t len)
{
	static const char *const codes[] = { "bad-name", "empty", "too-large" };
	json_t *doc = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(doc, "error"));
	const char *code = json_string_value(json_object_get(doc, "code"));
	bool file = false;

	if (e != NULL)
		snprintf(why, len, "HTTP %ld: %s", r->status, e);
	else
		snprintf(why, len, "HTTP %ld", r->status);
	for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
		file = file || strcmp(code, codes[i]) == 0;
	json_decref(doc);
	return file && (r->status == 400 || r->status == 413);
}

/* The file is at the site server: unlink it here. */
static enum send_result
sent(struct outbox *o, const char *name)
{
	char path[4096];
	bool recovered;

	if (fsio_join(path, sizeof(path), o->ib.incoming, name) == 0 &&
	    unlink(path) == -1 && errno != ENOENT)
		log_error("could not remove %s, which was sent: %m (it will "
		          "be sent again, harmlessly)",
		    path);
	pthread_mutex_lock(&o->lock);
	recovered = o->error[0] != '\0';
	o->sent++;
	o->last_sent = time(NULL);
	o->error[0] = '\0';
	o->error_since = 0;
	pthread_mutex_unlock(&o->lock);
	if (recovered)
		log_info("%s: the site server takes files again", o->ib.name);
	return SEND_DONE;
}

/* The receiver refused the file for what it is: to corrupt/. */
static enum send_result
rejected(struct outbox *o, const char *name, const char *why)
{
	char reason[700];

	snprintf(reason, sizeof(reason), "refused by the site server: %s", why);
	if (inbox_reject(&o->ib, name, reason) == -1)
		return SEND_FAILED;
	pthread_mutex_lock(&o->lock);
	o->rejected++;
	pthread_mutex_unlock(&o->lock);
	return SEND_REJECTED;
}

/* A file that cannot be read: gone (done), to corrupt/, or later. */
static enum send_result
unreadable(struct outbox *o, const char *name, int err, const char *why,
    char *out, size_t outlen)
{
	if (err == ENOENT)
		return SEND_DONE; /* taken away by hand: nothing to send */
	snprintf(out, outlen, "could not read %s: %s", name, why);
	if (inbox_transient(err))
		return SEND_FAILED;
	return inbox_reject(&o->ib, name, why) == 0 ? SEND_REJECTED
	                                            : SEND_FAILED;
}

/*
 * Whether a file may still be being copied in: young, and not yet a whole
 * JSON document (every inbox file is one). A file its role wrote by the
 * protocol is whole when it appears, and goes at once.
 */
static bool
unsettled(struct outbox *o, const char *data, size_t len, time_t mtime)
{
	json_t *doc;

	if (!inbox_watch_settling(&o->watch, mtime))
		return false;
	if ((doc = json_loadb(data, len, 0, NULL)) == NULL)
		return true;
	json_decref(doc);
	return false;
}

/* What the answer r to the PUT of name means for it. */
static enum send_result
answered(struct outbox *o, const char *name, const struct http_reply *r,
    char *why, size_t whylen)
{
	if (r->status == 201)
		return sent(o, name);
	if (answer_why(r, why, whylen))
		return rejected(o, name, why);
	o->failure = r->status;
	return SEND_FAILED;
}

enum send_result
outbox_send(struct outbox *o, const char *name, char *why, size_t whylen)
{
	char path[4096], url[1400], err[300];
	struct http_reply r;
	enum send_result res;
	struct stat st;
	char *data;
	size_t len;

	o->failure = -1; /* here, unless the site server's answer says */
	if (fsio_join(path, sizeof(path), o->ib.incoming, name) == -1)
		return snprintf(why, whylen, "%s: path too long", name),
		       SEND_FAILED;
	if (inbox_entry_read(
	        AT_FDCWD, path, &data, &len, &st, err, sizeof(err)) == -1)
		return unreadable(o, name, errno, err, why, whylen);
	if (unsettled(o, data, len, st.st_mtime)) {
		free(data);
		return SEND_WAIT;
	}
	snprintf(url, sizeof(url), "%s?name=%s", o->url, name);
	if (o->http->request(o->http->ctx, "PUT", url, data, len, &r) == -1) {
		snprintf(why, whylen, "%s", r.error);
		o->failure = 1000 + r.failure;
		res = SEND_FAILED;
	} else {
		res = answered(o, name, &r, why, whylen);
	}
	http_reply_free(&r);
	free(data);
	return res;
}
