/*
 * notify_frame.h - the frames of client notification (sitesys-notify(7)):
 * a 4-byte big-endian length N, 1 <= N <= NOTIFY_MAX_FRAME, then N bytes
 * of one JSON object with a string member "type". The encoder checks a
 * frame before it sends it; the decoder is fed bytes as they come and
 * yields whole, checked frames or the reason the connection must close.
 */
#ifndef SITESYS_NOTIFY_FRAME_H
#define SITESYS_NOTIFY_FRAME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;

#define NOTIFY_FORMAT "sitesys.notify/1"
#define NOTIFY_MAX_FRAME 65536 /* bytes of JSON in one frame */
#define NOTIFY_HEADER 4 /* bytes of the length before it */
#define NOTIFY_MAX_OUTPUT 4096 /* bytes of a result's output */
#define NOTIFY_MAX_SCRIPT (48 * 1024) /* bytes of a run-script body */
#define NOTIFY_MAX_AFTER_MS 86400000 /* a reconnect delay: one day */

/* The frame types, server to client first. */
enum notify_type {
	NOTIFY_HELLO,
	NOTIFY_TASK,
	NOTIFY_PONG,
	NOTIFY_RECONNECT,
	NOTIFY_KEEPALIVE,
	NOTIFY_RECEIVED,
	NOTIFY_RESULT
};

/* One checked frame; the strings and args point into doc. */
struct notify_frame {
	enum notify_type type;
	json_t *doc; /* owned by the frame */
	long long task; /* task, received, result */
	const char *server; /* hello */
	long long keepalive, grace; /* hello, seconds */
	const char *action, *expires; /* task */
	const json_t *args; /* task: an object, or NULL */
	const char *sha256, *name, *body; /* task run-script: its args */
	long long after_ms; /* reconnect */
	const char *status; /* result: succeeded, failed, unsupported */
	bool has_exit; /* result */
	long long exit; /* result, when has_exit */
	const char *output; /* result: "" when absent */
};

/* notify_type_name - the "type" of t ("hello", ...) */
const char *notify_type_name(enum notify_type t);

/*
 * notify_frame_check - check doc as a frame: an object whose "type" is
 * known and whose members are those of its type (sitesys-notify(7));
 * members it does not know are ignored. 0 with f filled (f->doc = doc,
 * not referenced: the caller keeps its own), or -1 with why.
 */
int notify_frame_check(
    json_t *doc, struct notify_frame *f, char *why, size_t whylen);

/*
 * notify_frame_encode - append doc as a frame (its length, then its
 * compact JSON) to out, after notify_frame_check; 0, or -1 with why and
 * out unchanged (a frame that is not valid or would be too long)
 */
int notify_frame_encode(
    const json_t *doc, struct buf *out, char *why, size_t whylen);

/* notify_frame_clear - release the frame's document */
void notify_frame_clear(struct notify_frame *f);

/* An incremental decoder: bytes in, frames out. */
struct notify_decoder {
	unsigned char hdr[NOTIFY_HEADER];
	size_t hlen; /* bytes of hdr read */
	size_t need; /* the body's length, once the header is whole */
	size_t have; /* bytes of the body read */
	char *body; /* the frame under way's body, of its own size; NULL
		       between frames */
	bool failed; /* after an error nothing more is decoded */
};

/* notify_decoder_init - an empty decoder */
void notify_decoder_init(struct notify_decoder *d);

/* notify_decoder_free - release its buffer; it may be initialized again */
void notify_decoder_free(struct notify_decoder *d);

/*
 * notify_decode - take bytes from data (len of them) until one frame is
 * whole; *used says how many were taken. 1: a checked frame in *f (to
 * clear), 0: all of data taken and no frame whole yet, -1: the stream is
 * bad (why says how: "frame length 0", "frame of N bytes exceeds the
 * limit of 65536", "frame is not a JSON object: ...", "frame has no
 * string member \"type\"", "unknown frame type \"x\"", or a member's
 * fault), and every later call fails too.
 */
int notify_decode(struct notify_decoder *d, const void *data, size_t len,
    size_t *used, struct notify_frame *f, char *why, size_t whylen);

/* notify_decoder_pending - whether part of a frame has been taken */
bool notify_decoder_pending(const struct notify_decoder *d);

#endif
