/* poll_doc.c - the body of an HTTP fallback poll */
#include <stdio.h>
#include <string.h>

#include "poll_doc.h"
#include "util/sjson.h"

/* The frames of the poll, each one a client may send. */
static int
poll_frames(json_t *frames, struct poll_doc *p, char *why, size_t len)
{
	char inner[256];
	json_t *v;
	size_t i;

	json_array_foreach(frames, i, v)
	{
		struct notify_frame *f = &p->frames[i];

		if (notify_frame_check(v, f, inner, sizeof(inner)) == -1) {
			snprintf(why, len, "frames[%zu]: %s", i, inner);
			return -1;
		}
		if (f->type != NOTIFY_KEEPALIVE && f->type != NOTIFY_RECEIVED &&
		    f->type != NOTIFY_RESULT) {
			snprintf(why, len,
			    "frames[%zu]: a client sends no \"%s\" frame", i,
			    notify_type_name(f->type));
			return -1;
		}
		p->nframes++;
	}
	return 0;
}

int
poll_doc_parse(
    const char *body, size_t len, struct poll_doc *p, char *why, size_t whylen)
{
	const char *client;
	json_t *frames;

	memset(p, 0, sizeof(*p));
	if (len > POLL_MAX_BODY) {
		snprintf(why, whylen,
		    "a poll of %zu bytes exceeds the limit of %d", len,
		    POLL_MAX_BODY);
		return -1;
	}
	if ((p->doc = sjson_parse(body, len, why, whylen)) == NULL)
		return -1;
	if (sjson_format(p->doc, POLL_FORMAT, why, whylen) == -1 ||
	    sjson_str(p->doc, "client", STATEMSG_GUID_LEN, true, &client, why,
	        whylen) == -1 ||
	    sjson_array(p->doc, "frames", POLL_MAX_FRAMES, true, &frames, why,
	        whylen) == -1)
		goto bad;
	if (!statemsg_valid_guid(client)) {
		snprintf(why, whylen, "client: \"%s\" is not GUID: and a UUID",
		    client);
		goto bad;
	}
	statemsg_guid_lower(client, p->client);
	if (poll_frames(frames, p, why, whylen) == 0)
		return 0;
bad:
	json_decref(p->doc);
	p->doc = NULL;
	return -1;
}

void
poll_doc_free(struct poll_doc *p)
{
	/* the frames' documents are members of p->doc, not their own */
	json_decref(p->doc);
	p->doc = NULL;
	p->nframes = 0;
}
