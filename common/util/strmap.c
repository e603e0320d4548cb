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

static void
grow(struct strmap *m)
{
	struct strmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->hashes = xcalloc(m->cap, sizeof(*m->hashes));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i] != NULL)
			strmap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	free(old.hashes);
}

void
strmap_put(struct strmap *m, const char *key, uint32_t val)
{
	uint64_t h;
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	h = strmap_hash(key, m->nocase);
	for (i = h & (m->cap - 1); m->keys[i] != NULL;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->hashes[i] == h && key_eq(m, m->keys[i], key)) {
			m->vals[i] = val;
			return;
		}
	}
	m->keys[i] = key;
	m->hashes[i] = h;
	m->vals[i] = val;
	m->n++;
}

bool
strmap_get(const struct strmap *m, const char *key, uint32_t *val)
{
	uint64_t h;

	if (m->cap == 0)
		return false;
	h = strmap_hash(key, m->nocase);
	/* the stored hash spares most probes a read of another key */
	for (size_t i = h & (m->cap - 1); m->keys[i] != NULL;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->hashes[i] == h && key_eq(m, m->keys[i], key)) {
			*val = m->vals[i];
			return true;
		}
	}
	return false;
}

void
strmap_free(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	m->keys = NULL;
	m->vals = NULL;
	m->hashes = NULL;
	m->cap = m->n = 0;
}
