/*
 * topicset.c - the current-state rows a batch's known clients have already,
 * read once per batch, so that a topic new to its client is COPYed in and
 * only a topic that exists goes through the (dearer) staged UPDATE;
 * found through a strmap by a key made of the client, type and topic ID
 */
#include <stdlib.h>
#include <string.h>

#include "statesys.h"
#include "util/buf.h"
#include "util/strmap.h"

struct topic_entry {
	char *key;
	int64_t serial;
};

struct topicset {
	struct strmap index; /* key -> entries[] */
	struct topic_entry *entries;
	size_t count, cap;
	struct buf key; /* the key being looked up */
};

/* t's topic's key in s->key: "SEQ\x1fTYPE\x1fTOPIC-ID", the client by its
 * place in the batch (shorter to hash than its GUID); numbers hold no
 * \x1f, so two topics have one key only if they are one. */
static const char *
topic_key(
    struct topicset *s, const struct serial_track *t, int type, const char *id)
{
	buf_reset(&s->key);
	buf_addi(&s->key, t->seq);
	buf_addc(&s->key, '\x1f');
	buf_addi(&s->key, type);
	buf_addc(&s->key, '\x1f');
	buf_adds(&s->key, id);
	return s->key.p;
}

struct topicset *
topicset_new(void)
{
	struct topicset *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	strmap_init(&s->index, false);
	return s;
}

/* A new entry keyed by a copy of key; its index in entries. */
static uint32_t
topicset_new_entry(struct topicset *s, const char *key)
{
	if (s->count == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->entries = realloc(s->entries, s->cap * sizeof(*s->entries));
		if (s->entries == NULL)
			abort();
	}
	if ((s->entries[s->count].key = strdup(key)) == NULL)
		abort();
	return (uint32_t)s->count++;
}

void
topicset_add(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t serial)
{
	const char *key = topic_key(s, t, type, id);
	uint64_t h = strmap_hash(key, false);
	uint32_t i;

	if (!strmap_get_h(&s->index, key, h, &i)) {
		i = topicset_new_entry(s, key);
		strmap_put_h(&s->index, s->entries[i].key, h, i);
	}
	s->entries[i].serial = serial;
}

bool
topicset_find(struct topicset *s, const struct serial_track *t, int type,
    const char *id, int64_t *serial)
{
	uint32_t i;

	if (!strmap_get(&s->index, topic_key(s, t, type, id), &i))
		return false;
	*serial = s->entries[i].serial;
	return true;
}

void
topicset_free(struct topicset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		free(s->entries[i].key);
	strmap_free(&s->index);
	buf_free(&s->key);
	free(s->entries);
	free(s);
}
