/* serial.c - per-client serial number tracking: gaps, late arrivals, repeats */
#include <stdlib.h>
#include <string.h>

#include "statesys.h"

static void
range_insert(struct serial_track *t, size_t at, struct serial_range r)
{
	if (t->nranges == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4;
		t->ranges = realloc(t->ranges, t->cap * sizeof(*t->ranges));
		if (t->ranges == NULL)
			abort();
	}
	memmove(&t->ranges[at + 1], &t->ranges[at],
	    (t->nranges - at) * sizeof(*t->ranges));
	t->ranges[at] = r;
	t->nranges++;
	t->ranges_changed = true;
}

static void
range_remove(struct serial_track *t, size_t at)
{
	memmove(&t->ranges[at], &t->ranges[at + 1],
	    (t->nranges - at - 1) * sizeof(*t->ranges));
	t->nranges--;
	t->ranges_changed = true;
}

void
serial_add_range(
    struct serial_track *t, int64_t first, int64_t last, int64_t detected_us)
{
	struct serial_range r = { first, last, detected_us };

	range_insert(t, t->nranges, r);
	t->ranges_changed = false;
}

/* The index of the range holding s, or -1 (ranges are few: a scan). */
static long
range_find(const struct serial_track *t, int64_t s)
{
	for (size_t i = 0; i < t->nranges; i++) {
		if (s < t->ranges[i].first)
			return -1;
		if (s <= t->ranges[i].last)
			return (long)i;
	}
	return -1;
}

/* s arrived late: take it out of its range, splitting it if need be. */
static void
range_fill(struct serial_track *t, size_t i, int64_t s)
{
	struct serial_range *r = &t->ranges[i];

	t->ranges_changed = true;
	if (r->first == s && r->last == s) {
		range_remove(t, i);
	} else if (r->first == s) {
		r->first++;
	} else if (r->last == s) {
		r->last--;
	} else {
		struct serial_range upper = { s + 1, r->last, r->detected_us };

		r->last = s - 1;
		range_insert(t, i + 1, upper);
	}
}

int64_t
serial_expected(const struct serial_track *t)
{
	return t->known ? t->next : 1; /* a new client's serials start at 1 */
}

enum serial_verdict
serial_apply(struct serial_track *t, int64_t s, int64_t window, int64_t now_us)
{
	long i;

	if (s - serial_expected(t) > window)
		return SERIAL_REFUSED; /* no gap: believed, it would never close */
	if (!t->known) {
		/* earlier serials than the first seen may be late */
		t->known = true;
		t->next = 1;
		t->highest = 0;
	}
	if (s >= t->next) {
		if (s > t->next)
			range_insert(t, t->nranges,
			    (struct serial_range){ t->next, s - 1, now_us });
		t->next = s + 1;
		if (s > t->highest)
			t->highest = s;
		return SERIAL_FRESH;
	}
	if ((i = range_find(t, s)) == -1)
		return SERIAL_DUPLICATE;
	range_fill(t, (size_t)i, s);
	return SERIAL_FRESH;
}

void
serial_close_before(struct serial_track *t, int64_t s)
{
	while (t->nranges > 0 && t->ranges[0].first < s) {
		if (t->ranges[0].last < s) {
			range_remove(t, 0);
		} else {
			t->ranges[0].first = s + 1 > t->ranges[0].first
			    ? s + 1
			    : t->ranges[0].first;
			t->ranges_changed = true;
			if (t->ranges[0].first > t->ranges[0].last)
				range_remove(t, 0);
			break;
		}
	}
}
