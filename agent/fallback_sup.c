/*
 * fallback_sup.c - the software update point walker: the last known-good
 * server alone for 120 minutes after its first failure, then the pool of
 * the groups whose time has come since that failure, one after the other
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"

void
fb_sup_reached(struct fb_sup *w, const char *name, int64_t now)
{
	snprintf(w->known_good, sizeof(w->known_good), "%s", name);
	w->good_at = now;
	w->failing = false;
	w->failing_since = 0;
	w->cur = 0;
}

/* Seconds since the first failure (0 when not failing). */
static int64_t
fb_sup_elapsed(const struct fb_sup *w, int64_t now)
{
	return w->failing && now > w->failing_since ? now - w->failing_since
	                                            : 0;
}

/* Whether the last known-good server is still the only one tried. */
static bool
fb_sup_holding(const struct fb_sup *w, int64_t now)
{
	return w->known_good[0] != '\0' &&
	    (!w->failing || fb_sup_elapsed(w, now) < FB_SUP_HOLD_SECONDS);
}

/* The pool at now (its size) and where the turn starts: just after the
 * last known-good server when it is in the pool, so that it is not tried
 * first again after its 120 minutes. */
static size_t
fb_sup_pool_at(
    const struct fb_sup *w, const struct fb_list *l, int64_t now, size_t *base)
{
	size_t n = fb_pool_size(l, fb_sup_elapsed(w, now));

	*base = 0;
	for (size_t i = 0; i < n && w->known_good[0] != '\0'; i++)
		if (strcmp(l->v[i]->name, w->known_good) == 0)
			*base = i + 1;
	return n;
}

size_t
fb_sup_pool(const struct fb_sup *w, const struct fb_list *l, int64_t now,
    const char **out, size_t max)
{
	size_t base, n = fb_sup_pool_at(w, l, now, &base);

	for (size_t k = 0; k < n && k < max; k++)
		out[k] = l->v[k]->name;
	return n;
}

void
fb_sup_failed(struct fb_sup *w, int64_t now)
{
	if (!w->failing) {
		w->failing = true;
		w->failing_since = now;
		w->cur = 0;
		if (w->known_good[0] != '\0')
			return; /* the hold starts */
	}
	if (!fb_sup_holding(w, now))
		w->cur++;
}

const char *
fb_sup_source(const struct fb_sup *w, const struct fb_list *l, int64_t now)
{
	size_t base, n;

	if (fb_sup_holding(w, now))
		return w->known_good;
	if ((n = fb_sup_pool_at(w, l, now, &base)) == 0)
		return NULL;
	return l->v[(base + w->cur) % n]->name;
}

const char *
fb_sup_next(struct fb_sup *w, const struct fb_list *l, int64_t now)
{
	const char *cur = fb_sup_source(w, l, now);
	long at = cur != NULL ? fb_find(l, cur) : -1;
	size_t i;

	if (l->n == 0)
		return NULL;
	/* the one after the current, or the first when it is not listed */
	i = at >= 0 ? ((size_t)at + 1) % l->n : 0;
	if (at >= 0 && (size_t)at == i)
		return NULL; /* it is the only one */
	fb_sup_reached(w, l->v[i]->name, now);
	return w->known_good;
}
