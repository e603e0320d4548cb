/* notify_frame.c - the frames of sitesys-notify(7): encode, check, decode */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify_action.h"
#include "notify_frame.h"
#include "util/buf.h"
#include "util/sjson.h"

#define TASK_MAX 9007199254740991LL /* 2^53 - 1: exact in every JSON */

static const char *const type_names[] = {
	[NOTIFY_HELLO] = "hello",
	[NOTIFY_TASK] = "task",
	[NOTIFY_PONG] = "pong",
	[NOTIFY_RECONNECT] = "reconnect",
	[NOTIFY_KEEPALIVE] = "keepalive",
	[NOTIFY_RECEIVED] = "received",
	[NOTIFY_RESULT] = "result",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *
notify_type_name(enum notify_type t)
{
	return (size_t)t < NTYPES ? type_names[t] : "?";
}

/* "YYYY-MM-DDTHH:MM:SS", an optional fraction, then "Z" */
static bool
is_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
		                    : s[i] != shape[i])
			return false;
	if (s[i] == '.') {
		size_t d = 0;

		for (i++; s[i] >= '0' && s[i] <= '9' && d < 9; i++)
			d++;
		if (d == 0)
			return false;
	}
	return s[i] == 'Z' && s[i + 1] == '\0';
}

static bool
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

/* A string member that may be empty, of at most max bytes. */
static int
opt_text(const json_t *obj, const char *key, size_t max, const char **out,
    char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, key);

	*out = "";
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, whylen, "member \"%s\" is not a string", key);
		return -1;
	}
	if (json_string_length(v) > max) {
		snprintf(why, whylen,
		    "member \"%s\" of %zu bytes exceeds the limit of %zu", key,
		    json_string_length(v), max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
check_hello(json_t *doc, struct notify_frame *f, char *why, size_t whylen)
{
	const char *format;

	if (sjson_str(doc, "format", 64, true, &format, why, whylen) == -1 ||
	    sjson_str(doc, "server", 255, true, &f->server, why, whylen) ==
	        -1 ||
	    sjson_int(doc, "keepalive", 1, 86400, true, &f->keepalive, why,
	        whylen) == -1 ||
	    sjson_int(doc, "grace", 0, 86400, true, &f->grace, why, whylen) ==
	        -1)
		return -1;
	if (strcmp(format, NOTIFY_FORMAT) != 0) {
		snprintf(why, whylen, "format is \"%s\", expected \"%s\"",
		    format, NOTIFY_FORMAT);
		return -1;
	}
	return 0;
}

static int
check_script(
    const json_t *args, struct notify_frame *f, char *why, size_t whylen)
{
	if (args == NULL) {
		snprintf(why, whylen, "a run-script task has no \"args\"");
		return -1;
	}
	if (sjson_str(args, "sha256", 64, true, &f->sha256, why, whylen) ==
	        -1 ||
	    sjson_str(args, "name", 255, true, &f->name, why, whylen) == -1 ||
	    sjson_str(args, "body", NOTIFY_MAX_SCRIPT, true, &f->body, why,
	        whylen) == -1)
		return -1;
	if (!is_hex64(f->sha256)) {
		snprintf(why, whylen,
		    "member \"sha256\" is not 64 lower-case hex digits");
		return -1;
	}
	return 0;
}

static int
check_task(json_t *doc, struct notify_frame *f, char *why, size_t whylen)
{
	const json_t *args = json_object_get(doc, "args");

	if (sjson_int(doc, "task", 1, TASK_MAX, true, &f->task, why, whylen) ==
	        -1 ||
	    sjson_str(doc, "action", 64, true, &f->action, why, whylen) == -1 ||
	    sjson_str(doc, "expires", 40, true, &f->expires, why, whylen) == -1)
		return -1;
	if (!is_time(f->expires)) {
		snprintf(why, whylen,
		    "member \"expires\" is not an RFC 3339 UTC time");
		return -1;
	}
	if (args != NULL && !json_is_object(args)) {
		snprintf(why, whylen, "member \"args\" is not an object");
		return -1;
	}
	f->args = args;
	/* an unknown action is a valid frame: the client answers
	 * "unsupported" */
	if (strcmp(f->action, "run-script") == 0)
		return check_script(args, f, why, whylen);
	return 0;
}

static int
check_result(json_t *doc, struct notify_frame *f, char *why, size_t whylen)
{
	if (sjson_int(doc, "task", 1, TASK_MAX, true, &f->task, why, whylen) ==
	        -1 ||
	    sjson_str(doc, "status", 16, true, &f->status, why, whylen) == -1)
		return -1;
	if (strcmp(f->status, "succeeded") != 0 &&
	    strcmp(f->status, "failed") != 0 &&
	    strcmp(f->status, "unsupported") != 0) {
		snprintf(
		    why, whylen, "unknown result status \"%s\"", f->status);
		return -1;
	}
	f->has_exit = json_object_get(doc, "exit") != NULL;
	if (f->has_exit && strcmp(f->status, "unsupported") == 0) {
		snprintf(why, whylen, "an unsupported result has an \"exit\"");
		return -1;
	}
	if (f->has_exit &&
	    sjson_int(doc, "exit", -255, 255, true, &f->exit, why, whylen) ==
	        -1)
		return -1;
	return opt_text(
	    doc, "output", NOTIFY_MAX_OUTPUT, &f->output, why, whylen);
}

int
notify_frame_check(
    json_t *doc, struct notify_frame *f, char *why, size_t whylen)
{
	const json_t *t = json_object_get(doc, "type");
	size_t i;

	memset(f, 0, sizeof(*f));
	f->output = "";
	if (!json_is_object(doc)) {
		snprintf(why, whylen, "frame is not a JSON object");
		return -1;
	}
	if (!json_is_string(t)) {
		snprintf(why, whylen, "frame has no string member \"type\"");
		return -1;
	}
	for (i = 0; i < NTYPES; i++)
		if (strcmp(json_string_value(t), type_names[i]) == 0)
			break;
	if (i == NTYPES) {
		/* at most 64 bytes of it, and never a control character */
		char name[65];
		size_t j;

		snprintf(name, sizeof(name), "%s", json_string_value(t));
		for (j = 0; name[j] != '\0'; j++)
			if ((unsigned char)name[j] < 0x20 || name[j] == '"')
				name[j] = '?';
		snprintf(why, whylen, "unknown frame type \"%s\"", name);
		return -1;
	}
	f->type = (enum notify_type)i;
	f->doc = doc;
	switch (f->type) {
	case NOTIFY_HELLO:
		return check_hello(doc, f, why, whylen);
	case NOTIFY_TASK:
		return check_task(doc, f, why, whylen);
	case NOTIFY_RECONNECT:
		return sjson_int(doc, "after_ms", 0, NOTIFY_MAX_AFTER_MS, true,
		    &f->after_ms, why, whylen);
	case NOTIFY_RECEIVED:
		return sjson_int(
		    doc, "task", 1, TASK_MAX, true, &f->task, why, whylen);
	case NOTIFY_RESULT:
		return check_result(doc, f, why, whylen);
	case NOTIFY_PONG:
	case NOTIFY_KEEPALIVE:
		break;
	}
	return 0;
}

int
notify_frame_encode(
    const json_t *doc, struct buf *out, char *why, size_t whylen)
{
	struct notify_frame f;
	unsigned char hdr[NOTIFY_HEADER];
	char *text;
	size_t n;

	/* the check keeps no reference: the cast does not modify doc */
	if (notify_frame_check((json_t *)doc, &f, why, whylen) == -1)
		return -1;
	if ((text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		snprintf(why, whylen,
		    "could not encode the frame: out of "
		    "memory");
		return -1;
	}
	n = strlen(text);
	if (n > NOTIFY_MAX_FRAME) {
		snprintf(why, whylen,
		    "frame of %zu bytes exceeds the limit of %d", n,
		    NOTIFY_MAX_FRAME);
		free(text);
		return -1;
	}
	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
	buf_add(out, hdr, sizeof(hdr));
	buf_add(out, text, n);
	free(text);
	return 0;
}

void
notify_frame_clear(struct notify_frame *f)
{
	json_decref(f->doc);
	f->doc = NULL;
}

void
notify_decoder_init(struct notify_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void
notify_decoder_free(struct notify_decoder *d)
{
	free(d->body);
	notify_decoder_init(d);
}

bool
notify_decoder_pending(const struct notify_decoder *d)
{
	return d->hlen > 0;
}

/* The header is whole: its length, checked. */
static int
take_length(struct notify_decoder *d, char *why, size_t whylen)
{
	uint32_t n = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
	    (uint32_t)d->hdr[2] << 8 | d->hdr[3];

	if (n == 0) {
		snprintf(why, whylen, "frame length 0");
		return -1;
	}
	if (n > NOTIFY_MAX_FRAME) {
		snprintf(why, whylen,
		    "frame of %lu bytes exceeds the limit of %d",
		    (unsigned long)n, NOTIFY_MAX_FRAME);
		return -1;
	}
	/* the frame's own size, freed once it is whole: an idle
	 * connection (a million of them) holds no buffer */
	free(d->body);
	if ((d->body = malloc(n)) == NULL) {
		snprintf(why, whylen,
		    "could not decode a frame: out of "
		    "memory");
		return -1;
	}
	d->need = n;
	d->have = 0;
	return 0;
}

/* The body is whole: parse and check it. */
static int
take_body(
    struct notify_decoder *d, struct notify_frame *f, char *why, size_t whylen)
{
	char perr[200];
	json_error_t je;
	json_t *doc;

	d->hlen = 0;
	doc = json_loadb(d->body, d->need, JSON_REJECT_DUPLICATES, &je);
	free(d->body);
	d->body = NULL;
	if (doc == NULL || !json_is_object(doc)) {
		if (doc == NULL)
			snprintf(perr, sizeof(perr),
			    "invalid JSON at line %d, column %d: %s", je.line,
			    je.column, je.text);
		else
			snprintf(perr, sizeof(perr), "it is a JSON %s",
			    json_is_array(doc) ? "array" : "scalar");
		json_decref(doc);
		snprintf(why, whylen, "frame is not a JSON object: %s", perr);
		return -1;
	}
	if (notify_frame_check(doc, f, why, whylen) == -1) {
		json_decref(doc);
		f->doc = NULL;
		return -1;
	}
	return 1;
}

int
notify_decode(struct notify_decoder *d, const void *data, size_t len,
    size_t *used, struct notify_frame *f, char *why, size_t whylen)
{
	const unsigned char *p = data;
	size_t i = 0, n;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	*used = 0;
	if (d->failed) {
		snprintf(why, whylen, "the stream failed before");
		return -1;
	}
	while (i < len && rc == 0) {
		if (d->hlen < NOTIFY_HEADER) {
			d->hdr[d->hlen++] = p[i++];
			if (d->hlen == NOTIFY_HEADER &&
			    take_length(d, why, whylen) == -1)
				rc = -1;
			continue;
		}
		n = len - i < d->need - d->have ? len - i : d->need - d->have;
		memcpy(d->body + d->have, p + i, n);
		d->have += n;
		i += n;
		if (d->have == d->need)
			rc = take_body(d, f, why, whylen);
	}
	*used = i;
	if (rc == -1)
		d->failed = true;
	return rc;
}
