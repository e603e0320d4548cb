/*
 * test_seam.c - arming crash points and injected failures: the specs
 * each accepts and refuses, and a failure that strikes the Nth call only
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"

/* A name longer than SEAM_NAME_MAX (63 bytes). */
#define LONG_NAME                                                              \
	"a-name-longer-than-sixty-three-bytes-is-not-a-crash-point-name-at-"   \
	"all"

static void
test_crash_specs(void **state)
{
	static const char *const refused[] = { ":1",
		"batch.committed:", "batch.committed:0", "batch.committed:2x",
		LONG_NAME };

	(void)state;
	assert_int_equal(crash_arm("batch.committed"), 0);
	assert_int_equal(crash_arm("batch.committed:3"), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (crash_arm(refused[i]) != -1)
			fail_msg("crash_arm took \"%s\"", refused[i]);
	/* disarmed: passing the point does nothing */
	assert_int_equal(crash_arm("test.point"), 0);
	assert_int_equal(crash_arm(NULL), 0);
	CRASH_POINT("test.point");
	assert_int_equal(crash_arm(""), 0);
	CRASH_POINT("test.point");
}

static void
test_fail_specs(void **state)
{
	static const char *const taken[] = { "fsync:EIO", "rename:2:ENOSPC",
		"syncfs:1:EROFS", "write:3:EDQUOT", "fdatasync:EIO" };
	static const char *const refused[] = { "fsync", "fsync:1",
		"fsync:EBOGUS", "close:1:EIO", "fsyncs:1:EIO", "fsync:0:EIO",
		":1:EIO" };

	(void)state;
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		if (fsio_fail_arm(taken[i]) != 0)
			fail_msg("fsio_fail_arm refused \"%s\"", taken[i]);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (fsio_fail_arm(refused[i]) != -1)
			fail_msg("fsio_fail_arm took \"%s\"", refused[i]);
	assert_int_equal(fsio_fail_arm(NULL), 0);
}

/* fsync:2:EIO: the 2nd fsync fails, the 1st and the 3rd do not. */
static void
test_fail_strikes_the_nth_call_once(void **state)
{
	char path[] = "/tmp/sitesys-seam-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd != -1);
	assert_int_equal(fsio_fail_arm("fsync:2:EIO"), 0);
	assert_int_equal(fsio_fsync(fd), 0);
	assert_int_equal(fsio_fdatasync(fd), 0); /* another call */
	errno = 0;
	assert_int_equal(fsio_fsync(fd), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(fsio_fsync(fd), 0);
	/* a failed write is one fsio_write_all cannot retry */
	assert_int_equal(fsio_fail_arm("write:1:ENOSPC"), 0);
	errno = 0;
	assert_int_equal(fsio_write_all(fd, "x", 1), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(fsio_write_all(fd, "x", 1), 0);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_specs),
		cmocka_unit_test(test_fail_specs),
		cmocka_unit_test(test_fail_strikes_the_nth_call_once),
	};

	log_set_level(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
