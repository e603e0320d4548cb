/* crash.c - named crash points armed from the environment */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "log.h"
#include "seam.h"

static pthread_once_t crash_env_once = PTHREAD_ONCE_INIT;
static struct seam crash_seam;

/* Arm from SITESYS_CRASH_AT, once, at the first point passed. */
static void
crash_from_env(void)
{
	const char *spec = getenv("SITESYS_CRASH_AT");

	if (spec != NULL && seam_arm(&crash_seam, spec, strlen(spec)) == -1)
		log_warn("ignoring SITESYS_CRASH_AT=\"%s\": not NAME or NAME:N",
		    spec);
}

int
crash_arm(const char *spec)
{
	pthread_once(&crash_env_once, crash_from_env);
	return seam_arm(&crash_seam, spec ? spec : "", spec ? strlen(spec) : 0);
}

void
crash_point(const char *name)
{
	pthread_once(&crash_env_once, crash_from_env);
	if (!seam_pass(&crash_seam, name))
		return;
	log_info("crashing at %s", name);
	raise(SIGKILL);
}
