/* crash.c - named crash points armed from the environment */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "log.h"

static pthread_once_t crash_env_once = PTHREAD_ONCE_INIT;
static char crash_name[64]; /* "" when unarmed */
static atomic_long crash_count; /* passes left before the crash */
static atomic_bool crash_armed;

/* Arm for spec; see crash_arm. */
static int
crash_set(const char *spec)
{
	const char *colon;
	char *end;
	long n = 1;
	size_t len;

	atomic_store(&crash_armed, false);
	if (spec == NULL || *spec == '\0')
		return 0;
	colon = strchr(spec, ':');
	len = colon ? (size_t)(colon - spec) : strlen(spec);
	if (colon != NULL) {
		n = strtol(colon + 1, &end, 10);
		if (*end != '\0' || n < 1)
			return -1;
	}
	if (len == 0 || len >= sizeof(crash_name))
		return -1;
	memcpy(crash_name, spec, len);
	crash_name[len] = '\0';
	atomic_store(&crash_count, n);
	atomic_store(&crash_armed, true);
	return 0;
}

/* Arm from SITESYS_CRASH_AT, once, at the first point passed. */
static void
crash_from_env(void)
{
	const char *spec = getenv("SITESYS_CRASH_AT");

	if (spec != NULL && crash_set(spec) == -1)
		log_warn("ignoring SITESYS_CRASH_AT=\"%s\": not NAME or NAME:N",
		    spec);
}

int
crash_arm(const char *spec)
{
	pthread_once(&crash_env_once, crash_from_env);
	return crash_set(spec);
}

void
crash_point(const char *name)
{
	pthread_once(&crash_env_once, crash_from_env);
	if (!atomic_load(&crash_armed) || strcmp(name, crash_name) != 0)
		return;
	if (atomic_fetch_sub(&crash_count, 1) != 1)
		return;
	log_info("crashing at %s", name);
	raise(SIGKILL);
}
