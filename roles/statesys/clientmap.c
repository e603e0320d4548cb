/* clientmap.c - an open-addressing map from client GUID to its tracking */
#include <stdlib.h>
#include <string.h>

#include "statesys.h"

struct clientmap {
	struct serial_track **slots;
	size_t cap, count;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct clientmap *
clientmap_new(void)
{
	struct clientmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	m->cap = 64;
	if ((m->slots = calloc(m->cap, sizeof(*m->slots))) == NULL)
		abort();
	return m;
}

static void
clientmap_grow(struct clientmap *m)
{
	struct serial_track **old = m->slots;
	size_t oldcap = m->cap;

	m->cap *= 2;
	if ((m->slots = calloc(m->cap, sizeof(*m->slots))) == NULL)
		abort();
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i] == NULL)
			continue;
		size_t j = hash(old[i]->client) & (m->cap - 1);
		while (m->slots[j] != NULL)
			j = (j + 1) & (m->cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

struct serial_track *
clientmap_get(struct clientmap *m, const char *client)
{
	size_t i;

	if (m->count * 2 >= m->cap)
		clientmap_grow(m);
	i = hash(client) & (m->cap - 1);
	while (m->slots[i] != NULL) {
		if (strcmp(m->slots[i]->client, client) == 0)
			return m->slots[i];
		i = (i + 1) & (m->cap - 1);
	}
	struct serial_track *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->client = strdup(client)) == NULL)
		abort();
	m->slots[i] = t;
	m->count++;
	return t;
}

void
clientmap_each(
    struct clientmap *m, void (*fn)(struct serial_track *, void *), void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i] != NULL)
			fn(m->slots[i], arg);
}

size_t
clientmap_count(const struct clientmap *m)
{
	return m->count;
}

void
clientmap_free(struct clientmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i] == NULL)
			continue;
		free(m->slots[i]->client);
		free(m->slots[i]->ranges);
		free(m->slots[i]);
	}
	free(m->slots);
	free(m);
}
