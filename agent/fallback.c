/*
 * fallback.c - what the walkers share: an answer's sources in the order a
 * walker takes them, the pool at a moment, and a random first pick
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "agent.h"

/* Copy a's sources into l as pointers; 0 or -1 (out of memory). */
static int
fb_list_fill(const struct loc_answer *a, struct fb_list *l)
{
	l->n = 0;
	l->v = NULL;
	if (a->nsrc == 0)
		return 0;
	if ((l->v = calloc(a->nsrc, sizeof(*l->v))) == NULL)
		return -1;
	for (size_t i = 0; i < a->nsrc; i++)
		l->v[i] = &a->src[i];
	l->n = a->nsrc;
	return 0;
}

/* Insertion sort: stable, and lists are short. */
static void
fb_list_sort(struct fb_list *l,
    int (*before)(const struct loc_source *, const struct loc_source *))
{
	for (size_t i = 1; i < l->n; i++) {
		const struct loc_source *s = l->v[i];
		size_t j = i;

		for (; j > 0 && before(s, l->v[j - 1]); j--)
			l->v[j] = l->v[j - 1];
		l->v[j] = s;
	}
}

static int
fb_earlier(const struct loc_source *a, const struct loc_source *b)
{
	return a->minute < b->minute;
}

static int
fb_more_local(const struct loc_source *a, const struct loc_source *b)
{
	return a->locality > b->locality;
}

int
fb_list_by_minute(const struct loc_answer *a, struct fb_list *l)
{
	if (fb_list_fill(a, l) == -1)
		return -1;
	fb_list_sort(l, fb_earlier);
	return 0;
}

int
fb_list_by_locality(const struct loc_answer *a, struct fb_list *l)
{
	if (fb_list_fill(a, l) == -1)
		return -1;
	fb_list_sort(l, fb_more_local);
	return 0;
}

void
fb_list_free(struct fb_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

size_t
fb_pool_size(const struct fb_list *l, int64_t elapsed)
{
	size_t n = 0;

	while (n < l->n && l->v[n]->minute >= 0 &&
	    (int64_t)l->v[n]->minute * 60 <= elapsed)
		n++;
	return n;
}

long
fb_find(const struct fb_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->name, name) == 0)
			return (long)i;
	return -1;
}

uint32_t
fb_random(void *ctx, uint32_t n)
{
	uint32_t r = 0, limit;

	(void)ctx;
	if (n <= 1)
		return 0;
	/* reject the top partial range so every result is equally likely */
	limit = UINT32_MAX - UINT32_MAX % n;
	do {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint32_t)rand();
	} while (r >= limit);
	return r % n;
}
