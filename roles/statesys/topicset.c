/*
 * topicset.c - the current-state rows a batch's known clients have already,
 * read once per batch, so that a topic new to its client is COPYed in and
 * only a topic that exists goes through the (three times dearer) upsert
 */
#include <stdlib.h>
#include <string.h>

#include "statesys.h"

struct topic_entry {
	const struct serial_track *t;
	int topic_type;
	char *topic_id;
	int64_t time_us, serial;
};

struct topicset {
	struct topic_entry *slots; /* topic_id NULL: empty */
	size_t cap, count;
};

static uint64_t
topic_hash(const struct serial_track *t, int type, const char *id)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)t;

	h = (h ^ (uint64_t)(unsigned)type) * 1099511628211ULL;
	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h ^ (h >> 29);
}

struct topicset *
topicset_new(void)
{
	struct topicset *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	s->cap = 64;
	if ((s->slots = calloc(s->cap, sizeof(*s->slots))) == NULL)
		abort();
	return s;
}

/* The slot for the key: its entry, or the empty slot it would take. */
static struct topic_entry *
topicset_slot(struct topic_entry *slots, size_t cap,
    const struct serial_track *t, int type, const char *id)
{
	size_t i = topic_hash(t, type, id) & (cap - 1);

	while (slots[i].topic_id != NULL &&
	    (slots[i].t != t || slots[i].topic_type != type ||
	        strcmp(slots[i].topic_id, id) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void
topicset_grow(struct topicset *s)
{
	size_t cap = s->cap * 2;
	struct topic_entry *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		abort();
	for (size_t i = 0; i < s->cap; i++) {
		struct topic_entry *e = &s->slots[i];

		if (e->topic_id != NULL)
			*topicset_slot(
			    slots, cap, e->t, e->topic_type, e->topic_id) = *e;
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
}

void
topicset_add(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t time_us, int64_t serial)
{
	struct topic_entry *e;

	if (s->count * 2 >= s->cap)
		topicset_grow(s);
	e = topicset_slot(s->slots, s->cap, t, type, id);
	if (e->topic_id == NULL) {
		if ((e->topic_id = strdup(id)) == NULL)
			abort();
		s->count++;
	}
	e->t = t;
	e->topic_type = type;
	e->time_us = time_us;
	e->serial = serial;
}

bool
topicset_find(const struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t *time_us, int64_t *serial)
{
	const struct topic_entry *e =
	    topicset_slot(s->slots, s->cap, t, type, id);

	if (e->topic_id == NULL)
		return false;
	*time_us = e->time_us;
	*serial = e->serial;
	return true;
}

void
topicset_free(struct topicset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].topic_id);
	free(s->slots);
	free(s);
}
