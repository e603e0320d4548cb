/* seam.c - a named point armed for the Nth time it is passed */
#include <stdlib.h>
#include <string.h>

#include "seam.h"

int
seam_arm(struct seam *s, const char *spec, size_t len)
{
	const char *colon = memchr(spec, ':', len);
	size_t namelen = colon != NULL ? (size_t)(colon - spec) : len;
	long n = 1;

	atomic_store(&s->armed, false);
	if (len == 0)
		return 0;
	if (colon != NULL) {
		char count[24], *end;
		size_t clen = len - namelen - 1;

		if (clen == 0 || clen >= sizeof(count))
			return -1;
		memcpy(count, colon + 1, clen);
		count[clen] = '\0';
		n = strtol(count, &end, 10);
		if (*end != '\0' || n < 1)
			return -1;
	}
	if (namelen == 0 || namelen > SEAM_NAME_MAX)
		return -1;
	memcpy(s->name, spec, namelen);
	s->name[namelen] = '\0';
	atomic_store(&s->left, n);
	atomic_store(&s->armed, true);
	return 0;
}

bool
seam_pass(struct seam *s, const char *name)
{
	if (!atomic_load(&s->armed) || strcmp(name, s->name) != 0)
		return false;
	return atomic_fetch_sub(&s->left, 1) == 1;
}
