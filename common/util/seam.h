/*
 * seam.h - a named point armed for the Nth time it is passed: what crash
 * points (crash.h) and injected failures (fsio.h) have in common, so that
 * a test can pick one step of a program and do something there
 */
#ifndef SITESYS_SEAM_H
#define SITESYS_SEAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SEAM_NAME_MAX 63

struct seam {
	char name[SEAM_NAME_MAX + 1];
	atomic_long left; /* passes of name left until the armed one */
	atomic_bool armed;
};

/*
 * seam_arm - arm s for the first len bytes of spec, "NAME" or "NAME:N"
 * (the Nth pass; the first by default); len 0 disarms; 0, or -1 (and s
 * disarmed) when it is not of that form
 */
int seam_arm(struct seam *s, const char *spec, size_t len);

/*
 * seam_pass - count a pass of the point name; true for the one pass s is
 * armed for, and never again. Thread-safe.
 */
bool seam_pass(struct seam *s, const char *name);

#endif
