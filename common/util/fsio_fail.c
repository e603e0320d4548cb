/*
 * fsio_fail.c - the system calls that make data durable, each of which a
 * test can make fail once (SITESYS_FAIL_AT=CALL[:N]:ERRNO), as a full or
 * failing disk would
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsio.h"
#include "log.h"
#include "seam.h"

static const char *const fail_calls[] = { "write", "fsync", "fdatasync",
	"syncfs", "rename", NULL };

static const struct {
	const char *name;
	int err;
} fail_errnos[] = {
	{ "EIO", EIO },
	{ "ENOSPC", ENOSPC },
	{ "EDQUOT", EDQUOT },
	{ "EROFS", EROFS },
	{ "EACCES", EACCES },
	{ "EPERM", EPERM },
	{ "ENOENT", ENOENT },
	{ "EXDEV", EXDEV },
};

#define NERRNOS (sizeof(fail_errnos) / sizeof(fail_errnos[0]))

static pthread_once_t fail_env_once = PTHREAD_ONCE_INIT;
static struct seam fail_seam;
static atomic_size_t fail_with; /* index in fail_errnos */

/* The index in fail_errnos of name, or NERRNOS. */
static size_t
errno_named(const char *name)
{
	size_t i = 0;

	while (i < NERRNOS && strcmp(name, fail_errnos[i].name) != 0)
		i++;
	return i;
}

/* True if the len bytes at name are one of fail_calls. */
static bool
known_call(const char *name, size_t len)
{
	for (size_t i = 0; fail_calls[i] != NULL; i++)
		if (strlen(fail_calls[i]) == len &&
		    strncmp(name, fail_calls[i], len) == 0)
			return true;
	return false;
}

/* Arm for spec; see fsio_fail_arm. */
static int
fail_set(const char *spec)
{
	const char *last = spec != NULL ? strrchr(spec, ':') : NULL;
	size_t with;

	seam_arm(&fail_seam, "", 0);
	if (spec == NULL || *spec == '\0')
		return 0;
	if (last == NULL || (with = errno_named(last + 1)) == NERRNOS ||
	    !known_call(spec, strcspn(spec, ":")))
		return -1;
	atomic_store(&fail_with, with);
	return seam_arm(&fail_seam, spec, (size_t)(last - spec));
}

/* Arm from SITESYS_FAIL_AT, once, at the first call made. */
static void
fail_from_env(void)
{
	const char *spec = getenv("SITESYS_FAIL_AT");

	if (spec != NULL && fail_set(spec) == -1)
		log_warn("ignoring SITESYS_FAIL_AT=\"%s\": not CALL[:N]:ERRNO",
		    spec);
}

int
fsio_fail_arm(const char *spec)
{
	pthread_once(&fail_env_once, fail_from_env);
	return fail_set(spec);
}

/* True, with errno set, when this call of call is the one to fail. */
static bool
failing(const char *call)
{
	size_t with;

	pthread_once(&fail_env_once, fail_from_env);
	if (!seam_pass(&fail_seam, call))
		return false;
	with = atomic_load(&fail_with);
	log_info("failing %s with %s, as a test asked", call,
	    fail_errnos[with].name);
	errno = fail_errnos[with].err;
	return true;
}

ssize_t
fsio_write(int fd, const void *buf, size_t len)
{
	return failing("write") ? -1 : write(fd, buf, len);
}

int
fsio_fsync(int fd)
{
	return failing("fsync") ? -1 : fsync(fd);
}

int
fsio_fdatasync(int fd)
{
	return failing("fdatasync") ? -1 : fdatasync(fd);
}

int
fsio_syncfs(int fd)
{
	return failing("syncfs") ? -1 : syncfs(fd);
}

int
fsio_rename(const char *from, const char *to)
{
	return failing("rename") ? -1 : rename(from, to);
}
