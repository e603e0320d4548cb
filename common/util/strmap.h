/*
 * strmap.h - an open-addressing hash from strings (exact, or without
 * regard to ASCII case) to 32-bit values; the keys are not copied
 */
#ifndef SITESYS_STRMAP_H
#define SITESYS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One place of the table: a key (NULL: empty), its hash, its value. */
struct strmap_slot {
	uint64_t hash; /* compared before the key itself */
	const char *key;
	uint32_t val;
};

struct strmap {
	struct strmap_slot *slots; /* a probe reads one slot, not three */
	size_t cap, n; /* cap: 0 or a power of two */
	bool nocase;
};

/* strmap_init - an empty map; nocase: "ABC" and "abc" are one key */
void strmap_init(struct strmap *m, bool nocase);

/*
 * strmap_hash - the hash of s as a map of that nocase computes it: the one
 * string hash of sitesys (FNV-1a)
 */
uint64_t strmap_hash(const char *s, bool nocase);

/*
 * strmap_put - map key (which must outlive the map) to val, replacing an
 * old value; aborts when memory runs out
 */
void strmap_put(struct strmap *m, const char *key, uint32_t val);

/* strmap_get - the value of key into *val; false if key is absent */
bool strmap_get(const struct strmap *m, const char *key, uint32_t *val);

/*
 * strmap_get_h, strmap_put_h - strmap_get and strmap_put with key's hash h,
 * strmap_hash(key, m->nocase), computed once by the caller: a lookup that
 * may be followed by an insertion hashes the key once
 */
bool strmap_get_h(
    const struct strmap *m, const char *key, uint64_t h, uint32_t *val);
void strmap_put_h(struct strmap *m, const char *key, uint64_t h, uint32_t val);

/* strmap_free - release the map's memory (not the keys) */
void strmap_free(struct strmap *m);

#endif
