/*
 * send.c - one file of an outbox to the site server's receiver: its name
 * is its identity there, so sending it again after a crash or a lost
 * answer is harmless (sitesys-inbox(5))
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sender.h"
#include "util/fsio.h"
#include "util/log.h"

/* The reason of an error answer, {"error": reason}, or its status. */
static void
answer_why(const struct http_reply *r, char *why, size_t len)
{
	json_t *doc = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(doc, "error"));

	if (e != NULL)
		snprintf(why, len, "HTTP %ld: %s", r->status, e);
	else
		snprintf(why, len, "HTTP %ld", r->status);
	json_decref(doc);
}

/* Whether status refuses the file itself rather than this sender. */
static bool
file_refused(long status)
{
	return status == 400 || status == 413;
}

/* The file is at the site server: unlink it here. */
static enum send_result
sent(struct outbox *o, const char *name)
{
	char path[4096];

	if (fsio_join(path, sizeof(path), o->ib.incoming, name) == 0 &&
	    unlink(path) == -1 && errno != ENOENT)
		log_error("could not remove %s, which was sent: %m (it will "
		          "be sent again, harmlessly)",
		    path);
	pthread_mutex_lock(&o->lock);
	o->sent++;
	o->last_sent = time(NULL);
	o->error[0] = '\0';
	o->error_since = 0;
	pthread_mutex_unlock(&o->lock);
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

/* What the answer r to the PUT of name means for it. */
static enum send_result
answered(struct outbox *o, const char *name, const struct http_reply *r,
    char *why, size_t whylen)
{
	if (r->status == 201)
		return sent(o, name);
	answer_why(r, why, whylen);
	if (file_refused(r->status))
		return rejected(o, name, why);
	return r->status == 409 ? SEND_WAIT : SEND_FAILED;
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

	if (fsio_join(path, sizeof(path), o->ib.incoming, name) == -1)
		return snprintf(why, whylen, "%s: path too long", name),
		       SEND_FAILED;
	if (inbox_entry_read(
	        AT_FDCWD, path, &data, &len, &st, err, sizeof(err)) == -1)
		return unreadable(o, name, errno, err, why, whylen);
	if (inbox_watch_settling(&o->watch, st.st_mtime)) {
		free(data);
		return SEND_WAIT;
	}
	snprintf(url, sizeof(url), "%s?name=%s", o->url, name);
	if (o->http->request(o->http->ctx, "PUT", url, data, len, &r) == -1) {
		snprintf(why, whylen, "%s", r.error);
		res = SEND_FAILED;
	} else {
		res = answered(o, name, &r, why, whylen);
	}
	http_reply_free(&r);
	free(data);
	return res;
}
