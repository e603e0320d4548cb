/* strmap.c - open-addressing string hash with linear probing */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strmap.h"

void
strmap_init(struct strmap *m, bool nocase)
{
	memset(m, 0, sizeof(*m));
	m->nocase = nocase;
}

uint64_t
strmap_hash(const char *s, bool nocase)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		h ^= nocase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
		h *= 0x100000001b3ULL;
	}
	return h ^ h >> 29;
}

static bool
key_eq(const struct strmap *m, const char *a, const char *b)
{
	return m->nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Where key (of hash h) is, or the empty slot it would take. */
static size_t
slot(const struct strmap *m, const char *key, uint64_t h)
{
	size_t i = h & (m->cap - 1);

	/* the stored hash spares most probes a read of another key */
	while (m->slots[i].key != NULL &&
	    (m->slots[i].hash != h || !key_eq(m, m->slots[i].key, key)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Twice the room; each key moves with the hash it was stored with. */
static void
grow(struct strmap *m)
{
	struct strmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key != NULL)
			m->slots[slot(m, old.slots[i].key, old.slots[i].hash)] =
			    old.slots[i];
	free(old.slots);
}

void
strmap_put_h(struct strmap *m, const char *key, uint64_t h, uint32_t val)
{
	struct strmap_slot *s;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	s = &m->slots[slot(m, key, h)];
	if (s->key == NULL) {
		s->key = key;
		s->hash = h;
		m->n++;
	}
	s->val = val;
}

void
strmap_put(struct strmap *m, const char *key, uint32_t val)
{
	strmap_put_h(m, key, strmap_hash(key, m->nocase), val);
}

bool
strmap_get_h(const struct strmap *m, const char *key, uint64_t h, uint32_t *val)
{
	const struct strmap_slot *s;

	if (m->cap == 0)
		return false;
	s = &m->slots[slot(m, key, h)];
	if (s->key == NULL)
		return false;
	*val = s->val;
	return true;
}

bool
strmap_get(const struct strmap *m, const char *key, uint32_t *val)
{
	return strmap_get_h(m, key, strmap_hash(key, m->nocase), val);
}

void
strmap_free(struct strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
