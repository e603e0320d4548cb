/* intake.c - a state message batch over HTTP into an inbox, durably */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "group_commit.h"
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

int
intake_statemsg(struct fcgi_req *req, struct group_commit *gc, struct inbox *ib,
    const char *sender)
{
	char name[INBOX_NAME_MAX + 1], why[512];
	struct statemsg_batch batch;
	json_t *doc;
	size_t len, n;
	char *body;
	int rc;

	if (fcgi_read_body(req, STATEMSG_MAX_BODY, &body, &len) == -1)
		return 0; /* answered: too large or cut short */
	doc = sjson_parse(body, len, why, sizeof(why));
	if (doc == NULL ||
	    statemsg_parse(doc, &batch, why, sizeof(why)) == -1) {
		json_decref(doc);
		free(body);
		return fcgi_error(req, 400, "%s", why);
	}
	n = batch.n;
	if (sender != NULL && strcmp(batch.client, sender) != 0) {
		rc = fcgi_refuse(req, 403, "not-yours",
		    "the batch is client %s's; this certificate is client "
		    "%s's: nothing was written",
		    batch.client, sender);
		statemsg_free(&batch);
		json_decref(doc);
		free(body);
		return rc;
	}
	statemsg_free(&batch);
	json_decref(doc);
	if (group_commit_add(gc, ib,
	        sender == NULL ? &statemsg_fsp_set : &statemsg_set, body, len,
	        name, sizeof(name)) == -1) {
		log_error("could not store a batch in %s: %m", ib->name);
		rc = fcgi_error(
		    req, 503, "could not store the batch: %s", strerror(errno));
	} else {
		rc = intake_ack(req, name, n);
	}
	free(body);
	return rc;
}
