/*
 * fallback_dp.c - the content walker (distribution points; also state
 * migration points, cloud distribution points and gateways): a random
 * first source of the current pool, two minutes each, a neighbour's
 * sources appended to the pool when its minute comes, the first again
 * after the last
 */
#include "agent.h"

/* The index after cur in a pool of n: back to the first after the last. */
static long
fb_dp_next(long cur, size_t n)
{
	return cur >= 0 && (size_t)cur + 1 < n ? cur + 1 : 0;
}

void
fb_dp_start(struct fb_dp *w, int64_t now, fb_rnd_fn rnd, void *ctx)
{
	w->started = now;
	w->since = now;
	w->cur = -1;
	w->rnd = rnd != NULL ? rnd : fb_random;
	w->rnd_ctx = ctx;
}

/* Pick the first source at random once the pool holds one; false while
 * it is empty at now. */
static bool
fb_dp_first(struct fb_dp *w, const struct fb_list *l, int64_t now)
{
	int64_t at;
	size_t n;
	uint32_t pick;

	if (w->cur >= 0)
		return true;
	if (l->n == 0 || l->v[0]->minute < 0)
		return false;
	at = w->started + (int64_t)l->v[0]->minute * 60;
	if (now < at)
		return false;
	n = fb_pool_size(l, at - w->started);
	pick = w->rnd(w->rnd_ctx, (uint32_t)n);
	w->cur = pick < n ? (long)pick : (long)n - 1;
	w->since = at;
	return true;
}

/* Move on to the next source for every two minutes gone by until now;
 * the size of the pool at now. */
static size_t
fb_dp_advance(struct fb_dp *w, const struct fb_list *l, int64_t now)
{
	size_t n;

	while (now - w->since >= FB_DP_TRY_SECONDS) {
		w->since += FB_DP_TRY_SECONDS;
		n = fb_pool_size(l, w->since - w->started);
		w->cur = fb_dp_next(w->cur, n);
	}
	/* a shorter list than before (a new answer): start over */
	n = fb_pool_size(l, now - w->started);
	if ((size_t)w->cur >= n)
		w->cur = 0;
	return n;
}

const struct loc_source *
fb_dp_source(struct fb_dp *w, const struct fb_list *l, int64_t now)
{
	if (!fb_dp_first(w, l, now) || fb_dp_advance(w, l, now) == 0)
		return NULL;
	return l->v[w->cur];
}

const struct loc_source *
fb_dp_failed(struct fb_dp *w, const struct fb_list *l, int64_t now)
{
	size_t n;

	if (!fb_dp_first(w, l, now) || (n = fb_dp_advance(w, l, now)) == 0)
		return NULL;
	w->cur = fb_dp_next(w->cur, n);
	w->since = now;
	return l->v[w->cur];
}
