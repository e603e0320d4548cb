/*
 * fail_fixture.h - a failure for fsio_fail_arm (util/fsio.h) and the errno
 * the code under test must then report: included by the failure tests
 */
#ifndef FAIL_FIXTURE_H
#define FAIL_FIXTURE_H

struct fail_case {
	const char *spec; /* "CALL:N:ERRNO" */
	int err;
};

#endif
