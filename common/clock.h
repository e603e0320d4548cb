/* clock.h - the two clocks the suite reads */
#ifndef SITESYS_CLOCK_H
#define SITESYS_CLOCK_H

#include <stdint.h>

/* clock_mono - seconds on the monotonic clock, for intervals and timing */
double clock_mono(void);

/* clock_now_us - microseconds since the epoch, UTC wall clock */
int64_t clock_now_us(void);

#endif
