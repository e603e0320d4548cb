/* split.c - the names and documents of a batch forwarded in parts */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"

/* If base ends in ".rN" (N a number without leading zero), N; else 0. */
static unsigned
rest_number(const char *base, size_t len, size_t *stemlen)
{
	size_t i = len;
	unsigned long n;

	while (i > 0 && base[i - 1] >= '0' && base[i - 1] <= '9')
		i--;
	if (i == len || len - i > 9 || base[i] == '0' || i < 3 ||
	    base[i - 1] != 'r' || base[i - 2] != '.')
		return 0;
	n = strtoul(base + i, NULL, 10);
	*stemlen = i - 2;
	return (unsigned)n;
}

int
split_names(const char *name, struct split_names *out)
{
	const char *dot = strrchr(name, '.');
	size_t baselen, stemlen;
	int a, b;

	memset(out, 0, sizeof(*out));
	if (dot == NULL || dot == name || dot[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	baselen = stemlen = (size_t)(dot - name);
	out->done = rest_number(name, baselen, &stemlen);
	a = snprintf(out->part, sizeof(out->part), "%.*s.p%u%s", (int)stemlen,
	    name, out->done + 1, dot);
	b = snprintf(out->rest, sizeof(out->rest), "%.*s.r%u%s", (int)stemlen,
	    name, out->done + 1, dot);
	if (strlen(name) > INBOX_NAME_MAX || a < 0 || a > INBOX_NAME_MAX ||
	    b < 0 || b > INBOX_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a rest forwarded whole is the last part of its batch */
	snprintf(out->whole, sizeof(out->whole), "%s",
	    out->done == 0 ? name : out->part);
	return 0;
}

/* A copy of batch doc holding messages [from, to) only; NULL if none. */
static json_t *
batch_slice(const json_t *doc, size_t from, size_t to)
{
	json_t *msgs = json_object_get(doc, "messages");
	json_t *copy, *slice;

	if (!json_is_array(msgs) || from > to || to > json_array_size(msgs))
		return NULL;
	if ((copy = json_copy((json_t *)doc)) == NULL)
		return NULL;
	if ((slice = json_array()) == NULL)
		goto fail;
	for (size_t i = from; i < to; i++)
		if (json_array_append(slice, json_array_get(msgs, i)) == -1) {
			json_decref(slice);
			goto fail;
		}
	if (json_object_set_new(copy, "messages", slice) == -1)
		goto fail;
	return copy;
fail:
	json_decref(copy);
	return NULL;
}

size_t
split_count(const json_t *doc)
{
	json_t *batches = json_object_get(doc, "batches"), *b;
	size_t i, n = 0;

	if (!json_is_array(batches))
		return json_array_size(json_object_get(doc, "messages"));
	json_array_foreach(batches, i, b) n +=
	    json_array_size(json_object_get(b, "messages"));
	return n;
}

/* The batches of set doc that hold messages [from, to), cut to fit. */
static json_t *
set_slice(const json_t *doc, json_t *batches, size_t from, size_t to)
{
	json_t *copy = json_copy((json_t *)doc), *out = json_array(), *b;
	size_t i, at = 0;

	if (copy == NULL || out == NULL)
		goto fail;
	json_array_foreach(batches, i, b)
	{
		size_t n = json_array_size(json_object_get(b, "messages"));
		json_t *part;

		/* batch b holds messages [at, at + n) */
		if (at < to && from < at + n) {
			part = batch_slice(b, from > at ? from - at : 0,
			    to < at + n ? to - at : n);
			if (part == NULL ||
			    json_array_append_new(out, part) == -1)
				goto fail;
		}
		at += n;
	}
	if (at < to || json_array_size(out) == 0)
		goto fail;
	if (json_object_set_new(copy, "batches", out) == -1) {
		json_decref(copy); /* out went with the failed call */
		return NULL;
	}
	return copy;
fail:
	json_decref(out);
	json_decref(copy);
	return NULL;
}

json_t *
split_doc(const json_t *doc, size_t from, size_t to)
{
	json_t *batches = json_object_get(doc, "batches");

	if (from >= to)
		return NULL;
	if (json_is_array(batches))
		return set_slice(doc, batches, from, to);
	return batch_slice(doc, from, to);
}
