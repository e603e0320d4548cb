/*
 * clientmap.c - a batch's clients' tracking, in the order first seen,
 * found by GUID through a strmap
 */
#include <stdlib.h>
#include <string.h>

#include "statesys.h"
#include "util/strmap.h"

struct clientmap {
	struct strmap index; /* GUID (the entry's own copy) -> tracks[] */
	struct serial_track **tracks;
	size_t count, cap;
};

struct clientmap *
clientmap_new(void)
{
	struct clientmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	strmap_init(&m->index, false);
	return m;
}

/* A new zeroed entry for client, its index in tracks. */
static uint32_t
clientmap_add(struct clientmap *m, const char *client)
{
	struct serial_track *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->client = strdup(client)) == NULL)
		abort();
	t->seq = (uint32_t)m->count;
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->tracks = realloc(m->tracks, m->cap * sizeof(*m->tracks));
		if (m->tracks == NULL)
			abort();
	}
	m->tracks[m->count] = t;
	return (uint32_t)m->count++;
}

struct serial_track *
clientmap_get(struct clientmap *m, const char *client)
{
	uint64_t h = strmap_hash(client, false);
	uint32_t i;

	if (!strmap_get_h(&m->index, client, h, &i)) {
		i = clientmap_add(m, client);
		strmap_put_h(&m->index, m->tracks[i]->client, h, i);
	}
	return m->tracks[i];
}

void
clientmap_each(
    struct clientmap *m, void (*fn)(struct serial_track *, void *), void *arg)
{
	for (size_t i = 0; i < m->count; i++)
		fn(m->tracks[i], arg);
}

static int
cmp_guid(const void *a, const void *b)
{
	const struct serial_track *const *x = a, *const *y = b;

	return strcmp((*x)->client, (*y)->client);
}

void
clientmap_rank(struct clientmap *m)
{
	struct serial_track **order = malloc((m->count + 1) * sizeof(*order));

	if (order == NULL)
		abort();
	memcpy(order, m->tracks, m->count * sizeof(*order));
	qsort(order, m->count, sizeof(*order), cmp_guid);
	for (size_t i = 0; i < m->count; i++)
		order[i]->rank = (uint32_t)i;
	free(order);
}

size_t
clientmap_count(const struct clientmap *m)
{
	return m->count;
}

void
clientmap_free(struct clientmap *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->tracks[i]->client);
		free(m->tracks[i]->ranges);
		free(m->tracks[i]);
	}
	strmap_free(&m->index);
	free(m->tracks);
	free(m);
}
