/* split.c - the names and documents of a batch forwarded in parts */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "statemsg.h"

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
	return split_names_at(name, 0, out);
}

int
split_names_at(const char *name, unsigned parts, struct split_names *out)
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
	out->done = rest_number(name, baselen, &stemlen) + parts;
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

/* The i-th batch of doc: of its "batches", or doc itself when lone. */
static const json_t *
batch_at(const json_t *doc, size_t i)
{
	json_t *batches = json_object_get(doc, "batches");

	if (!json_is_array(batches))
		return i == 0 ? doc : NULL;
	return json_array_get(batches, i);
}

/* The messages of the i-th batch of doc; 0 if there is none. */
static size_t
batch_messages(const json_t *doc, size_t i)
{
	return json_array_size(json_object_get(batch_at(doc, i), "messages"));
}

size_t
split_batches(const json_t *doc)
{
	json_t *batches = json_object_get(doc, "batches");

	return json_is_array(batches) ? json_array_size(batches) : 1;
}

size_t
split_count(const json_t *doc)
{
	return split_count_from(doc, 0);
}

size_t
split_count_from(const json_t *doc, size_t from)
{
	size_t n = 0, nb = split_batches(doc);

	for (size_t i = from; i < nb; i++)
		n += batch_messages(doc, i);
	return n;
}

size_t
split_take(const json_t *doc, size_t room, bool alone, size_t *k)
{
	return split_take_from(doc, 0, room, alone, k);
}

size_t
split_take_from(
    const json_t *doc, size_t from, size_t room, bool alone, size_t *k)
{
	size_t i, sum = 0, nb = split_batches(doc);

	for (i = from; i < nb && sum + batch_messages(doc, i) <= room; i++)
		sum += batch_messages(doc, i);
	if (i == from && from < nb) {
		*k = batch_messages(doc, from);
		return alone ? 1 : 0;
	}
	*k = sum;
	return i - from;
}

bool
split_marked(const json_t *doc)
{
	const char *via = json_string_value(json_object_get(doc, "via"));

	return json_is_array(json_object_get(doc, "batches")) && via != NULL &&
	    strcmp(via, STATEMSG_VIA_FSP) == 0;
}

/* An empty set of doc's form: its members, or a set's bare frame. */
static json_t *
set_frame(const json_t *doc)
{
	if (json_is_array(json_object_get(doc, "batches")))
		return json_copy((json_t *)doc);
	return json_pack("{s:s}", "format", STATEMSG_SET_FORMAT);
}

json_t *
split_doc(const json_t *doc, size_t from, size_t to)
{
	json_t *set, *out;

	if (from >= to || to > split_batches(doc))
		return NULL;
	if ((set = set_frame(doc)) == NULL)
		return NULL;
	if ((out = json_array()) == NULL)
		goto fail;
	for (size_t i = from; i < to; i++)
		if (json_array_append(out, (json_t *)batch_at(doc, i)) == -1) {
			json_decref(out);
			goto fail;
		}
	/* each set_new takes its value, also when it fails */
	if (json_object_set_new(set, "via", json_string(STATEMSG_VIA_FSP)) ==
	        -1 ||
	    json_object_set_new(set, "batches", out) == -1)
		goto fail;
	return set;
fail:
	json_decref(set);
	return NULL;
}
