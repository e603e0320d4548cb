/*
 * throttle.h - "at most limit units per interval": the arithmetic of a
 * fixed-window rate limit whose state a caller can store and reload
 */
#ifndef SITESYS_THROTTLE_H
#define SITESYS_THROTTLE_H

#include <stdint.h>

/*
 * An interval begins with the first unit taken after the previous interval
 * ended, and lasts interval_ms; at most limit units are taken inside it.
 * All times are milliseconds of the wall clock (they outlive the process).
 */
struct throttle {
	int64_t start_ms; /* when the current interval began; 0: none yet */
	long long used; /* units taken in it */
};

/*
 * Each call first settles a clock that went back (now_ms before the start
 * of the interval): the interval then restarts at now_ms and keeps what it
 * used, so a clock set back neither frees units nor stalls for long.
 */

/* throttle_left - how many units may be taken at now_ms */
long long throttle_left(
    struct throttle *t, int64_t now_ms, long long limit, int64_t interval_ms);

/*
 * throttle_wait_ms - 0 if n units may be taken at now_ms, else how long
 * until they may: until they fit in what is left of the interval, or, if
 * more than limit, until an interval of their own can begin
 */
int64_t throttle_wait_ms(struct throttle *t, int64_t now_ms, long long n,
    long long limit, int64_t interval_ms);

/*
 * throttle_take - account n units taken at now_ms, beginning a new interval
 * if the current one is over
 */
void throttle_take(
    struct throttle *t, int64_t now_ms, long long n, int64_t interval_ms);

#endif
