/*
 * poll_doc.h - the body of an HTTP fallback poll (sitesys-notify(7),
 * "HTTP FALLBACK"), read without the server around it, so that a fuzz
 * target can take it alone
 */
#ifndef SITESYS_NOTIFYD_POLL_DOC_H
#define SITESYS_NOTIFYD_POLL_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "notify_frame.h"
#include "statemsg.h"

#define POLL_FORMAT "sitesys.notify-poll/1"
#define POLL_MAX_BODY (NOTIFY_MAX_FRAME + 4096)
#define POLL_MAX_FRAMES 64 /* a client's frames in one poll */

/* A poll's body, checked; frames point into doc. */
struct poll_doc {
	json_t *doc;
	char client[STATEMSG_GUID_LEN + 1]; /* lower case */
	struct notify_frame frames[POLL_MAX_FRAMES];
	size_t nframes;
};

/*
 * poll_doc_parse - read body (len bytes) as a poll: its format, its
 * client (a client id) and its frames, each a frame a client sends
 * (keepalive, received, result); 0 with p filled (to free), or -1 with
 * the first fault in why ("frames[2]: a client sends no \"task\"
 * frame") and nothing to free
 */
int poll_doc_parse(
    const char *body, size_t len, struct poll_doc *p, char *why, size_t whylen);

/* poll_doc_free - release what poll_doc_parse kept */
void poll_doc_free(struct poll_doc *p);

#endif
