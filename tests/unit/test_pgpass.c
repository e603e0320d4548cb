/* test_pgpass.c - libpq's password file: finding a user's line, escapes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/pgpass.h"

static void
test_find_first_line_of_user(void **state)
{
	const char *text = "# sitesys\n"
	                   "*:*:*:*:wildcard\n"
	                   "db1:5432:sitesys:sitesys_mp:first\n"
	                   "*:*:*:sitesys_mp:second\n"
	                   "*:*:*:sitesys_statesys:ss\r\n"
	                   "*:*:*:sitesys_console:last";
	char pw[64];

	(void)state;
	assert_int_equal(pgpass_find(text, "sitesys_mp", pw, sizeof(pw)), 1);
	assert_string_equal(pw, "first");
	assert_int_equal(
	    pgpass_find(text, "sitesys_statesys", pw, sizeof(pw)), 1);
	assert_string_equal(pw, "ss");
	assert_int_equal(
	    pgpass_find(text, "sitesys_console", pw, sizeof(pw)), 1);
	assert_string_equal(pw, "last");
	/* "*" is every user's line, not a user named "*" or anyone's own */
	assert_int_equal(pgpass_find(text, "postgres", pw, sizeof(pw)), 0);
	assert_int_equal(pgpass_find(text, "sitesys", pw, sizeof(pw)), 0);
	assert_int_equal(pgpass_find("", "sitesys_mp", pw, sizeof(pw)), 0);
	assert_int_equal(pgpass_find("# *:*:*:sitesys_mp:x\nbroken line\n",
	                     "sitesys_mp", pw, sizeof(pw)),
	    0);
}

static void
test_escapes_round_trip(void **state)
{
	struct buf b = { 0 };
	char pw[64];

	(void)state;
	pgpass_add(&b, "we:ird\\", "pa:ss\\word");
	assert_string_equal(b.p, "*:*:*:we\\:ird\\\\:pa\\:ss\\\\word\n");
	assert_int_equal(pgpass_find(b.p, "we:ird\\", pw, sizeof(pw)), 1);
	assert_string_equal(pw, "pa:ss\\word");
	buf_free(&b);
}

static void
test_too_long(void **state)
{
	char pw[4];

	(void)state;
	assert_int_equal(
	    pgpass_find("*:*:*:u:longer\n", "u", pw, sizeof(pw)), -1);
	assert_string_equal(pw, "");
	assert_int_equal(pgpass_find("*:*:*:u:abc\n", "u", pw, sizeof(pw)), 1);
	assert_string_equal(pw, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_first_line_of_user),
		cmocka_unit_test(test_escapes_round_trip),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests_name("pgpass", tests, NULL, NULL);
}
