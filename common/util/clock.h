/* clock.h - the two clocks the suite reads */
#ifndef SITESYS_CLOCK_H
#define SITESYS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* room for the longest clock_rfc3339 text and its NUL */
#define CLOCK_RFC3339_LEN 32

/* clock_mono - seconds on the monotonic clock, for intervals and timing */
double clock_mono(void);

/* clock_now_us - microseconds since the epoch, UTC wall clock */
int64_t clock_now_us(void);

/*
 * clock_rfc3339 - us (microseconds since the epoch) as UTC RFC 3339 text,
 * "2026-11-22T10:00:00.123Z", with digits (0, 3 or 6) of the second's
 * fraction; out holds len bytes, at least CLOCK_RFC3339_LEN; returns out
 */
char *clock_rfc3339(char *out, size_t len, int64_t us, int digits);

#endif
