/* clock.c - the two clocks the suite reads */
#include <stdio.h>
#include <time.h>

#include "clock.h"

double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *
clock_rfc3339(char *out, size_t len, int64_t us, int digits)
{
	time_t sec = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits == 3)
		snprintf(out + n, len - n, ".%03ldZ", frac / 1000);
	else if (digits == 6)
		snprintf(out + n, len - n, ".%06ldZ", frac);
	else
		snprintf(out + n, len - n, "Z");
	return out;
}
