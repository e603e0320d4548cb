/*
 * crash_fixture.h - a step run in a child process that a crash point of
 * util/crash.h kills: included after cmocka.h by the crash tests
 */
#ifndef CRASH_FIXTURE_H
#define CRASH_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/crash.h"

/*
 * crash_child - run work(arg) in a child that dies at the nth pass of the
 * crash point named point; the test fails unless the child died there
 */
static void
crash_child(const char *point, int nth, void (*work)(void *), void *arg)
{
	char spec[80];
	int status;
	pid_t pid;

	snprintf(spec, sizeof(spec), "%s:%d", point, nth);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (crash_arm(spec) == -1)
			_exit(2);
		work(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the child did not die at %s", spec);
}

#endif
