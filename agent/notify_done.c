/*
 * notify_done.c - the notification tasks the agent has run, kept in
 * state_dir/notify-done.json until they expire, so that a task pushed
 * again (after a restart too) is never run twice; and the client's
 * back-off and result frames
 */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "notify_frame.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

int
notify_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			continue;
	if (end[0] != 'Z' || end[1] != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

void
notify_done_free(struct notify_done *d)
{
	for (size_t i = 0; i < d->n; i++)
		json_decref(d->v[i].result);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

struct notify_done_entry *
notify_done_find(struct notify_done *d, long long task)
{
	/* at most a few hundred live tasks: a scan will do */
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].task == task)
			return &d->v[i];
	return NULL;
}

/* Drop entry i (its result too). */
static void
done_drop(struct notify_done *d, size_t i)
{
	json_decref(d->v[i].result);
	d->v[i] = d->v[--d->n];
}

struct notify_done_entry *
notify_done_add(
    struct notify_done *d, long long task, int64_t expires, int64_t now)
{
	struct notify_done_entry *e;

	for (size_t i = d->n; i > 0; i--)
		if (d->v[i - 1].expires <= now)
			done_drop(d, i - 1);
	if (d->n >= NOTIFY_DONE_MAX) {
		size_t first = 0;

		for (size_t i = 1; i < d->n; i++)
			if (d->v[i].expires < d->v[first].expires)
				first = i;
		done_drop(d, first);
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct notify_done_entry *v = realloc(d->v, cap * sizeof(*v));

		if (v == NULL)
			abort();
		d->v = v;
		d->cap = cap;
	}
	e = &d->v[d->n++];
	memset(e, 0, sizeof(*e));
	e->task = task;
	e->expires = expires;
	return e;
}

int
notify_done_load(
    const char *dir, struct notify_done *d, int64_t now, char *why, size_t len)
{
	char path[PATH_MAX], *text = NULL;
	json_t *doc = NULL, *arr;
	size_t n, i;

	memset(d, 0, sizeof(*d));
	if (fsio_join(path, sizeof(path), dir, NOTIFY_DONE_FILE) == -1 ||
	    fsio_read_file(path, 64u * 1024 * 1024, &text, &n) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, len, "could not read \"%s/%s\": %s", dir,
		    NOTIFY_DONE_FILE, strerror(errno));
		return -1;
	}
	doc = sjson_parse(text, n, why, len);
	free(text);
	if (doc == NULL ||
	    sjson_format(doc, NOTIFY_DONE_FORMAT, why, len) == -1 ||
	    sjson_array(doc, "done", NOTIFY_DONE_MAX, true, &arr, why, len) ==
	        -1)
		goto bad;
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *it = json_array_get(arr, i), *res;
		long long task, exp;
		bool sent = false;
		struct notify_done_entry *e;

		if (sjson_int(it, "task", 1, LLONG_MAX, true, &task, why,
		        len) == -1 ||
		    sjson_int(it, "expires", 0, LLONG_MAX, true, &exp, why,
		        len) == -1 ||
		    sjson_bool(it, "sent", false, &sent, why, len) == -1)
			goto bad;
		if (exp <= now)
			continue;
		e = notify_done_add(d, task, exp, now);
		e->sent = sent;
		if ((res = json_object_get(it, "result")) != NULL)
			e->result = json_incref(res);
	}
	json_decref(doc);
	return 0;
bad:
	json_decref(doc);
	notify_done_free(d);
	return -1;
}

int
notify_done_save(const char *dir, const struct notify_done *d)
{
	json_t *arr = json_array(), *doc;
	char *text;
	int rc;

	if (arr == NULL)
		abort();
	for (size_t i = 0; i < d->n; i++) {
		json_t *e = json_pack("{s:I,s:I,s:b}", "task",
		    (json_int_t)d->v[i].task, "expires",
		    (json_int_t)d->v[i].expires, "sent", d->v[i].sent);

		if (e == NULL)
			abort();
		if (d->v[i].result != NULL)
			sjson_set(e, "result", json_incref(d->v[i].result));
		sjson_append(arr, e);
	}
	doc = json_pack("{s:s,s:o}", "format", NOTIFY_DONE_FORMAT, "done", arr);
	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL)
		abort();
	json_decref(doc);
	rc = store_write_file(dir, NOTIFY_DONE_FILE, text, strlen(text));
	free(text);
	return rc;
}

uint32_t
notify_backoff_ms(unsigned failures, uint32_t cap_ms, fb_rnd_fn rnd, void *ctx)
{
	uint64_t bound = NOTIFY_RETRY_BASE_MS;

	/* bounded: the bound doubles at most 32 times before the cap */
	for (unsigned i = 0; i < failures && i < 32 && bound < cap_ms; i++)
		bound *= 2;
	if (bound > cap_ms)
		bound = cap_ms;
	return rnd(ctx, (uint32_t)bound + 1);
}

/* Copy s (len bytes) into out, each byte that is not part of a whole
 * UTF-8 character (or is NUL) made "?"; out has room for len + 1. */
static void
utf8_clean(const unsigned char *s, size_t len, char *out)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n = c < 0x80                   ? 1
		    : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2
		    : (c & 0xf0) == 0xe0              ? 3
		    : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4
		                                      : 0;
		size_t k;

		for (k = 1; n > 1 && k < n && i + k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				break;
		if (n == 0 || k < n || c == 0 ||
		    (n == 3 && c == 0xe0 && s[i + 1] < 0xa0) ||
		    (n == 3 && c == 0xed && s[i + 1] >= 0xa0) ||
		    (n == 4 && c == 0xf0 && s[i + 1] < 0x90) ||
		    (n == 4 && c == 0xf4 && s[i + 1] >= 0x90)) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, s + i, n);
		i += n;
	}
	out[len] = '\0';
}

json_t *
notify_result(long long task, const char *status, bool has_exit, int exit,
    const char *output, size_t len)
{
	char clean[NOTIFY_MAX_OUTPUT + 1];
	json_t *r;

	if (len > NOTIFY_MAX_OUTPUT)
		len = NOTIFY_MAX_OUTPUT;
	utf8_clean((const unsigned char *)output, len, clean);
	r = json_pack("{s:s,s:I,s:s}", "type", "result", "task",
	    (json_int_t)task, "status", status);
	if (r == NULL)
		abort();
	if (has_exit)
		sjson_set(r, "exit", json_integer(exit));
	if (len > 0)
		sjson_set(r, "output", json_string(clean));
	return r;
}
