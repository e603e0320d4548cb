/* intake.c - a state message batch over HTTP into an inbox, durably */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "group_commit.h"
#include "intake.h"
#include "inbox.h"
#include "statemsg.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/sjson.h"

/*
 * The batches that arrive together go into one file, a set of batches
 * (sitesys-statemsg(5)); 16 MiB leaves room under the 64-MiB file limit.
 * A fallback status point's sets say so, even a set of one.
 */
static const struct group_commit_set statemsg_set = {
	.ext = "smx",
	.head = "{\"format\":\"" STATEMSG_SET_FORMAT "\",\"batches\":[\n",
	.sep = ",\n",
	.tail = "]}\n",
	.max_items = 10000,
	.max_bytes = 16u << 20,
};
static const struct group_commit_set statemsg_fsp_set = {
	.ext = "smx",
	.head = "{\"format\":\"" STATEMSG_SET_FORMAT
	        "\",\"via\":\"" STATEMSG_VIA_FSP "\",\"batches\":[\n",
	.sep = ",\n",
	.tail = "]}\n",
	.max_items = 10000,
	.max_bytes = 16u << 20,
	.wrap_one = true,
};

static int
intake_ack(struct fcgi_req *req, const char *name, size_t n)
{
	json_t *ack = json_pack("{s:s, s:I, s:s}", "format", "sitesys.ack/1",
	    "accepted", (json_int_t)n, "file", name);
	int rc = fcgi_reply_json(req, 202, ack);

	json_decref(ack);
	return rc;
}

/* Read and check the body: its messages and client, or -1 answered. */
static long
read_batch(struct fcgi_req *req, char **body, size_t *len, char *client,
    size_t clientlen, int *rc)
{
	struct statemsg_batch batch;
	char why[512];
	json_t *doc;
	long n;

	if (fcgi_read_body(req, STATEMSG_MAX_BODY, body, len) == -1) {
		*rc = 0; /* answered: too large or cut short */
		return -1;
	}
	doc = sjson_parse(*body, *len, why, sizeof(why));
	if (doc == NULL ||
	    statemsg_parse(doc, &batch, why, sizeof(why)) == -1) {
		json_decref(doc);
		free(*body);
		*rc = fcgi_error(req, 400, "%s", why);
		return -1;
	}
	n = (long)batch.n;
	snprintf(client, clientlen, "%s", batch.client);
	statemsg_free(&batch);
	json_decref(doc);
	return n;
}

/*
 * Store the checked body by group commit and answer; 0 or -1 (no answer
 * sent), *stored saying whether it was stored.
 */
static int
store(struct fcgi_req *req, struct group_commit *gc, struct inbox *ib,
    const char *sender, const char *key, const char *body, size_t len, long n,
    bool *stored)
{
	char name[INBOX_NAME_MAX + 1];

	if (group_commit_add_key(gc, ib,
	        sender == NULL ? &statemsg_fsp_set : &statemsg_set, key, body,
	        len, name, sizeof(name)) == -1) {
		log_error("could not store a batch in %s: %m", ib->name);
		*stored = false;
		return fcgi_error(
		    req, 503, "could not store the batch: %s", strerror(errno));
	}
	*stored = true;
	return intake_ack(req, name, (size_t)n);
}

int
intake_statemsg(struct fcgi_req *req, struct group_commit *gc, struct inbox *ib,
    const char *sender)
{
	char client[64];
	bool stored;
	size_t len;
	char *body;
	long n;
	int rc;

	if ((n = read_batch(req, &body, &len, client, sizeof(client), &rc)) ==
	    -1)
		return rc;
	if (sender != NULL && strcmp(client, sender) != 0) {
		rc = fcgi_refuse(req, 403, "not-yours",
		    "the batch is client %s's; this certificate is client "
		    "%s's: nothing was written",
		    client, sender);
		free(body);
		return rc;
	}
	rc = store(req, gc, ib, sender, NULL, body, len, n, &stored);
	free(body);
	return rc;
}

int
intake_statemsg_from(struct fcgi_req *req, struct group_commit *gc,
    struct inbox *ib, const struct intake_source *src)
{
	char client[64], after[32];
	bool stored;
	size_t len;
	char *body;
	long n, wait;
	int rc;

	if ((n = read_batch(req, &body, &len, client, sizeof(client), &rc)) ==
	    -1)
		return rc;
	if ((wait = src->admit(src->arg, src->key, n)) > 0) {
		free(body);
		snprintf(after, sizeof(after), "%ld", wait);
		fcgi_add_header(req, "Retry-After", after);
		return fcgi_refuse(req, 429, "throttled",
		    "this address has too many messages waiting to be "
		    "forwarded: nothing was written; try again in %ld s",
		    wait);
	}
	rc = store(req, gc, ib, NULL, src->key, body, len, n, &stored);
	src->done(src->arg, src->key, n, stored);
	free(body);
	return rc;
}
