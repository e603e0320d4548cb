/* log.c - the suite's one logging API */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "text.h"

static const char *log_name = "sitesys";
static enum log_level log_max = LOG_LVL_INFO;
static FILE *log_fp;
static int log_syslog;

static const char *const level_names[] = { "error", "warning", "info",
	"debug" };

void
log_init(const char *progname)
{
	log_name = progname;
}

const char *
log_progname(void)
{
	return log_name;
}

void
log_set_level(enum log_level level)
{
	log_max = level;
}

int
log_parse_level(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	if (strcmp(name, "warn") == 0)
		return LOG_LVL_WARN;
	return -1;
}

/* Open path for appending, as log_to_file does; the descriptor or -1. */
static int
log_open(const char *path)
{
	return open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
}

int
log_to_file(const char *path)
{
	int fd = log_open(path), saved;
	FILE *fp;

	if (fd == -1)
		return -1;
	if (log_fp != NULL) {
		/* other threads may be writing to log_fp: keep the stream,
		 * swap the file under it in one step */
		fflush(log_fp);
		if (dup3(fd, fileno(log_fp), O_CLOEXEC) == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		close(fd);
		return 0;
	}
	if ((fp = fdopen(fd, "a")) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	log_fp = fp;
	return 0;
}

int
log_check_file(const char *path)
{
	char *dir, *slash;
	int fd, rc;

	fd =
	    open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd != -1) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	/* not there yet: log_to_file would create it in its directory */
	if ((dir = strdup(path)) == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL)
		rc = access(".", W_OK | X_OK);
	else if (slash == dir)
		rc = access("/", W_OK | X_OK);
	else {
		*slash = '\0';
		rc = access(dir, W_OK | X_OK);
	}
	free(dir);
	return rc;
}

void
log_to_syslog(void)
{
	openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

/*
 * Format and write one line. The caller's errno is kept for "%m" (the
 * first thing formatted) and given back unchanged.
 */
static void
log_emit(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	int saved = errno;
	char msg[2048], when[CLOCK_RFC3339_LEN];
	struct buf esc = { 0 };
	const char *line = msg;

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* what a message quotes from outside never breaks its line */
	if (!text_plain(msg)) {
		text_escape_line(&esc, msg);
		line = esc.p;
	}
	if (log_syslog && log_fp == NULL) {
		syslog(prio[level], "%s: %s", level_names[level], line);
	} else {
		clock_rfc3339(when, sizeof(when), clock_now_us(), 3);
		fprintf(log_fp ? log_fp : stderr, "%s %s[%ld]: %s: %s\n", when,
		    log_name, (long)getpid(), level_names[level], line);
	}
	buf_free(&esc);
	errno = saved;
}

#define LOG_BODY(level)                                                        \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_emit(level, fmt, ap);                                      \
		va_end(ap);                                                    \
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR);
}
