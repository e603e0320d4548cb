/* log.h - one line per event: UTC time, program, pid, level, message */
#ifndef SITESYS_LOG_H
#define SITESYS_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/*
 * log_init - name the program (as given: "sitesys-notifyd/1" names a
 * worker); logging goes to stderr until redirected
 */
void log_init(const char *progname);

/* log_set_level - drop messages less important than level */
void log_set_level(enum log_level level);

/* log_parse_level - map "error".."debug" to a level; -1 if unknown */
int log_parse_level(const char *name);

/*
 * log_to_file - append to path from now on; -1 with errno on failure, the
 * old destination kept. Called again (SIGHUP), it reopens: the lines other
 * threads are writing go whole to the old file or the new one.
 */
int log_to_file(const char *path);

/*
 * log_check_file - whether log_to_file(path) would succeed for this
 * process, without creating the file: 0, or -1 with errno
 */
int log_check_file(const char *path);

/* log_to_syslog - send lines to syslog(3) (for a detached daemon) */
void log_to_syslog(void);

/* log_progname - the name given to log_init */
const char *log_progname(void);

/*
 * log_debug, log_info, log_warn, log_error - one line at that level; as in
 * PostgreSQL, "%m" in fmt stands for strerror(errno), and errno is kept
 */
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_error(const char *fmt, ...);

#endif
