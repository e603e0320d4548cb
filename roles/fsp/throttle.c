/* throttle.c - the arithmetic of a fixed-window rate limit */
#include "throttle.h"

/* A clock that went back restarts the interval at now_ms. */
static void
settle(struct throttle *t, int64_t now_ms)
{
	if (t->start_ms != 0 && now_ms < t->start_ms)
		t->start_ms = now_ms;
}

/* True when no interval runs at now_ms: none began, or it is over. */
static int
expired(const struct throttle *t, int64_t now_ms, int64_t interval_ms)
{
	return t->start_ms == 0 || now_ms >= t->start_ms + interval_ms;
}

long long
throttle_left(
    struct throttle *t, int64_t now_ms, long long limit, int64_t interval_ms)
{
	settle(t, now_ms);
	if (expired(t, now_ms, interval_ms))
		return limit;
	return t->used >= limit ? 0 : limit - t->used;
}

int64_t
throttle_wait_ms(struct throttle *t, int64_t now_ms, long long n,
    long long limit, int64_t interval_ms)
{
	long long left = throttle_left(t, now_ms, limit, interval_ms);

	if (left > 0 && (n <= left || left == limit))
		return 0;
	return t->start_ms + interval_ms - now_ms;
}

void
throttle_take(
    struct throttle *t, int64_t now_ms, long long n, int64_t interval_ms)
{
	settle(t, now_ms);
	if (expired(t, now_ms, interval_ms)) {
		t->start_ms = now_ms;
		t->used = n;
	} else {
		t->used += n;
	}
}
