/*
 * fallback_mp.c - the management point walker: locality order (3, 2, 1,
 * 0); five errors within ten minutes move the client on to the next one;
 * the refresh cycle (a day, or an agent restart) brings it back to the
 * most local one
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"

void
fb_mp_refresh(struct fb_mp *w, int64_t now)
{
	w->current[0] = '\0';
	w->nerrors = 0;
	w->refreshed = now;
}

/* The current one's index in l: the most local one when none is current
 * or the current one is no longer offered; -1 when l is empty. */
static long
fb_mp_index(struct fb_mp *w, const struct fb_list *l)
{
	long i = w->current[0] != '\0' ? fb_find(l, w->current) : -1;

	if (i >= 0)
		return i;
	w->nerrors = 0;
	if (l->n == 0) {
		w->current[0] = '\0';
		return -1;
	}
	snprintf(w->current, sizeof(w->current), "%s", l->v[0]->name);
	return 0;
}

const struct loc_source *
fb_mp_source(struct fb_mp *w, const struct fb_list *l, int64_t now)
{
	long i;

	if (w->refreshed == 0 || now - w->refreshed >= FB_MP_REFRESH_SECONDS)
		fb_mp_refresh(w, now);
	i = fb_mp_index(w, l);
	return i < 0 ? NULL : l->v[i];
}

/* Keep only the errors of the last ten minutes, then add one at now. */
static void
fb_mp_count(struct fb_mp *w, int64_t now)
{
	size_t kept = 0;

	for (size_t i = 0; i < w->nerrors; i++)
		if (now - w->errors[i] <= FB_MP_WINDOW_SECONDS)
			w->errors[kept++] = w->errors[i];
	if (kept == FB_MP_ERRORS) {
		memmove(w->errors, w->errors + 1,
		    (FB_MP_ERRORS - 1) * sizeof(w->errors[0]));
		kept--;
	}
	w->errors[kept++] = now;
	w->nerrors = kept;
}

bool
fb_mp_error(struct fb_mp *w, const struct fb_list *l, int64_t now)
{
	long i;

	if (fb_mp_source(w, l, now) == NULL)
		return false;
	fb_mp_count(w, now);
	if (w->nerrors < FB_MP_ERRORS)
		return false;
	w->nerrors = 0;
	i = fb_find(l, w->current);
	if (l->n < 2)
		return false;
	snprintf(w->current, sizeof(w->current), "%s",
	    l->v[((size_t)i + 1) % l->n]->name);
	return true;
}
