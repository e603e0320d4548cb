/*
 * strmap.h - an open-addressing hash from strings (exact, or without
 * regard to ASCII case) to 32-bit values; the keys are not copied
 */
#ifndef SITESYS_STRMAP_H
#define SITESYS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap {
	const char **keys;
	uint64_t *hashes; /* of each key, compared before the key itself */
	uint32_t *vals;
	size_t cap, n; /* cap: 0 or a power of two */
	bool nocase;
};

/* strmap_init - an empty map; nocase: "ABC" and "abc" are one key */
void strmap_init(struct strmap *m, bool nocase);

/* strmap_hash - the hash of s as the map computes it */
uint64_t strmap_hash(const char *s, bool nocase);

/*
 * strmap_put - map key (which must outlive the map) to val, replacing an
 * old value; aborts when memory runs out
 */
void strmap_put(struct strmap *m, const char *key, uint32_t val);

/* strmap_get - the value of key into *val; false if key is absent */
bool strmap_get(const struct strmap *m, const char *key, uint32_t *val);

/* strmap_free - release the map's memory (not the keys) */
void strmap_free(struct strmap *m);

#endif
