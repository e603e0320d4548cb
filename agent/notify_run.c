/*
 * notify_run.c - the process of a notification action: a configured
 * command or an approved script, its exit status and the head of its
 * output as the task's result
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "notify_frame.h"
#include "util/clock.h"
#include "util/fsio.h"
#include "util/log.h"

#define JOB_MAX_ARGS 32

extern char **environ;

/* Spawn argv with its output into a pipe; 0, or -1 with why. */
static int
job_spawn(struct notify_job *j, long long task, char *const argv[], char *why,
    size_t len)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int p[2], rc;

	memset(j->out, 0, sizeof(j->out));
	j->len = 0;
	j->task = task;
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(
		    why, len, "could not make a pipe: %s", strerror(errno));
		return -1;
	}
	if ((rc = posix_spawnattr_init(&attr)) == 0) {
		if ((rc = posix_spawn_file_actions_init(&fa)) == 0) {
			/* a group of its own, so that a time limit kills
			 * what it started too */
			if ((rc = posix_spawnattr_setflags(
			         &attr, POSIX_SPAWN_SETPGROUP)) == 0 &&
			    (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
			    (rc = posix_spawn_file_actions_addopen(
			         &fa, 0, "/dev/null", O_RDONLY, 0)) == 0 &&
			    (rc = posix_spawn_file_actions_adddup2(
			         &fa, p[1], 1)) == 0 &&
			    (rc = posix_spawn_file_actions_adddup2(
			         &fa, p[1], 2)) == 0)
				rc = posix_spawn(&j->pid, argv[0], &fa, &attr,
				    argv, environ);
			posix_spawn_file_actions_destroy(&fa);
		}
		posix_spawnattr_destroy(&attr);
	}
	close(p[1]);
	if (rc != 0) {
		snprintf(why, len, "could not run \"%s\": %s", argv[0],
		    strerror(rc));
		close(p[0]);
		j->pid = 0;
		return -1;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("could not make the output pipe of task %lld "
		         "non-blocking: %m",
		    task);
	j->fd = p[0];
	return 0;
}

/* The words of s (split in place at blanks) into argv from index k, up
 * to JOB_MAX_ARGS, NULL after them; how many argv holds. */
static size_t
job_words(char *s, char *argv[], size_t k)
{
	char *save = NULL;

	for (char *w = strtok_r(s, " \t", &save); w != NULL && k < JOB_MAX_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		argv[k++] = w;
	argv[k] = NULL;
	return k;
}

/* The job is over (its process reaped or let go): no pipe, no process,
 * no script file left. */
static void
job_ended(struct notify_job *j)
{
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	j->pid = 0;
	if (j->script[0] != '\0' && unlink(j->script) == -1)
		log_warn("could not remove \"%s\": %m", j->script);
	j->script[0] = '\0';
}

int
notify_job_command(struct notify_job *j, long long task, const char *cmd,
    char *why, size_t len)
{
	char *copy = strdup(cmd), *argv[JOB_MAX_ARGS + 1];
	int rc;

	if (copy == NULL)
		abort();
	if (job_words(copy, argv, 0) == 0 || argv[0][0] != '/') {
		snprintf(why, len,
		    "the configured command \"%s\" does not start with an "
		    "absolute path",
		    cmd);
		free(copy);
		return -1;
	}
	j->script[0] = '\0';
	rc = job_spawn(j, task, argv, why, len);
	free(copy);
	return rc;
}

int
notify_job_agent(struct notify_job *j, long long task, const char *conf,
    const char *args, char *why, size_t len)
{
	char self[PATH_MAX], *copy = strdup(args), *argv[JOB_MAX_ARGS + 1];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t k = 0;
	int rc;

	if (copy == NULL)
		abort();
	if (n <= 0) {
		snprintf(why, len, "could not find this program: %s",
		    strerror(errno));
		free(copy);
		return -1;
	}
	self[n] = '\0';
	argv[k++] = self;
	if (*conf != '\0') {
		argv[k++] = (char *)"-c";
		argv[k++] = (char *)conf;
	}
	job_words(copy, argv, k);
	j->script[0] = '\0';
	rc = job_spawn(j, task, argv, why, len);
	free(copy);
	return rc;
}

int
notify_job_script(struct notify_job *j, long long task, const char *dir,
    const char *body, char *why, size_t len)
{
	char name[64], sh[] = "/bin/sh";
	char *argv[3];
	int fd;

	snprintf(name, sizeof(name), "notify-script-%lld", task);
	if (fsio_join(j->script, sizeof(j->script), dir, name) == -1) {
		snprintf(why, len, "the state directory's path is too long");
		return -1;
	}
	(void)unlink(j->script); /* a crash's leftover */
	fd = open(j->script, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (fd == -1 || fsio_write_all(fd, body, strlen(body)) == -1 ||
	    close(fd) == -1) {
		snprintf(why, len, "could not write \"%s\": %s", j->script,
		    strerror(errno));
		if (fd != -1)
			(void)unlink(j->script);
		j->script[0] = '\0';
		return -1;
	}
	if (strncmp(body, "#!", 2) == 0) {
		argv[0] = j->script;
		argv[1] = NULL;
	} else {
		argv[0] = sh;
		argv[1] = j->script;
		argv[2] = NULL;
	}
	if (job_spawn(j, task, argv, why, len) == -1) {
		(void)unlink(j->script);
		j->script[0] = '\0';
		return -1;
	}
	return 0;
}

/* j ran past its time: killed with its group; its result, failed. */
static json_t *
job_timeout(struct notify_job *j)
{
	static const char note[] = "%s[killed: it ran longer than %lld "
	                           "seconds]";
	char tail[96];
	int n, st;

	if (kill(-j->pid, SIGKILL) == -1 && kill(j->pid, SIGKILL) == -1 &&
	    errno != ESRCH)
		log_warn("could not kill the action of task %lld: %m", j->task);
	if (waitpid(j->pid, &st, 0) == -1)
		log_warn(
		    "could not wait for the action of task %lld: %m", j->task);
	job_ended(j);
	log_warn("notification task %lld: killed after %lld seconds", j->task,
	    j->limit);
	/* on a line of its own */
	n = snprintf(tail, sizeof(tail), note,
	    j->len > 0 && j->out[j->len - 1] != '\n' ? "\n" : "", j->limit);
	/* the reason is kept whole: the output gives way to it */
	if (j->len + (size_t)n > sizeof(j->out))
		j->len = sizeof(j->out) - (size_t)n;
	memcpy(j->out + j->len, tail, (size_t)n);
	j->len += (size_t)n;
	return notify_result(j->task, "failed", true, -SIGKILL, j->out, j->len);
}

int
notify_job_poll(struct notify_job *j, json_t **result)
{
	char buf[4096];
	ssize_t n = 0;
	int st = 0, code;
	pid_t w;

	if (j->until > 0 && clock_mono() >= j->until) {
		*result = job_timeout(j);
		return 1;
	}
	/* bounded: the pipe holds at most 64 KiB; a job that writes more is
	 * read again at the next poll */
	for (int i = 0; j->fd != -1 && i < 64; i++) {
		if ((n = read(j->fd, buf, sizeof(buf))) <= 0)
			break;
		if (j->len < sizeof(j->out)) {
			size_t k = (size_t)n < sizeof(j->out) - j->len
			    ? (size_t)n
			    : sizeof(j->out) - j->len;

			memcpy(j->out + j->len, buf, k);
			j->len += k;
		}
	}
	if (j->fd != -1 &&
	    (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR))))
		return 0;
	if (j->fd != -1) {
		close(j->fd);
		j->fd = -1;
	}
	/* its output ended; it may still run: wait without blocking */
	if ((w = waitpid(j->pid, &st, WNOHANG)) == 0)
		return 0;
	if (w == -1) {
		log_error(
		    "could not wait for the action of task %lld: %m", j->task);
		code = 255;
	} else
		code = WIFEXITED(st)  ? WEXITSTATUS(st)
		    : WIFSIGNALED(st) ? -WTERMSIG(st)
		                      : 255;
	job_ended(j);
	*result = notify_result(j->task, code == 0 ? "succeeded" : "failed",
	    true, code, j->out, j->len);
	return 1;
}

void
notify_job_kill(struct notify_job *j)
{
	if (j->pid <= 0)
		return;
	if (kill(j->pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("could not stop the action of task %lld: %m", j->task);
	job_ended(j);
}
