/*
 * crash.h - named crash points, for tests that kill a program at each step
 *
 * A program calls CRASH_POINT("batch.committed") at each step a crash may
 * interrupt. Armed by SITESYS_CRASH_AT=NAME (or NAME:N, the Nth time the
 * point is passed), the process logs "crashing at NAME" and kills itself
 * with SIGKILL there, as a power cut or kill -9 would. Unarmed, a point
 * costs one load and one compare. A build with -DSITESYS_NO_CRASH_POINTS
 * has none.
 */
#ifndef SITESYS_CRASH_H
#define SITESYS_CRASH_H

#ifdef SITESYS_NO_CRASH_POINTS
#define CRASH_POINT(name) ((void)0)
#else
#define CRASH_POINT(name) crash_point(name)
#endif

/* crash_point - die here if armed for this point; see above */
void crash_point(const char *name);

/*
 * crash_arm - arm for spec ("NAME" or "NAME:N"), replacing what
 * SITESYS_CRASH_AT said; NULL or "" disarms; -1 if spec is malformed
 */
int crash_arm(const char *spec);

#endif
