/* test_text.c - text from outside: the terminal escaper and the name check */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/text.h"

/* in, escaped, as a string compare of text_escape's output */
static void
escapes_to(const char *in, const char *want)
{
	struct buf b = { 0 };

	buf_adds(&b, "");
	text_escape(&b, in);
	if (strcmp(b.p, want) != 0)
		fail_msg(
		    "escape of \"%s\": \"%s\", want \"%s\"", in, b.p, want);
	buf_free(&b);
}

static void
test_escape_plain(void **state)
{
	(void)state;
	escapes_to("", "");
	escapes_to("pc-001 Büro \xe6\x97\xa5\xe6\x9c\xac", /* 日本 */
	    "pc-001 Büro \xe6\x97\xa5\xe6\x9c\xac");
	escapes_to("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */
	escapes_to("a\\b", "a\\\\b");
	escapes_to("~", "~");
}

static void
test_escape_controls(void **state)
{
	(void)state;
	/* clear the screen, set the window title */
	escapes_to("\x1b[2Jx\x1b]0;owned\x07", "\\x1b[2Jx\\x1b]0;owned\\x07");
	escapes_to("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d");
	escapes_to("\x01\x1f\x7f", "\\x01\\x1f\\x7f");
	/* C1: CSI (U+009B) and the first and last of them */
	escapes_to("\xc2\x9b"
	           "2J",
	    "\\xc2\\x9b2J");
	escapes_to("\xc2\x80\xc2\x9f\xc2\xa0", "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
	/* an escape cannot be forged with a backslash */
	escapes_to("\\x1b", "\\\\x1b");
}

static void
test_escape_bad_utf8(void **state)
{
	(void)state;
	escapes_to("\x9b"
	           "2J",
	    "\\x9b2J"); /* a lone 8-bit CSI */
	escapes_to("\xff\xfe", "\\xff\\xfe"); /* never in UTF-8 */
	escapes_to("\xc0\xaf", "\\xc0\\xaf"); /* overlong "/" */
	escapes_to("\xe0\x80\xaf", "\\xe0\\x80\\xaf"); /* overlong */
	escapes_to("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
	escapes_to("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* >10FFFF */
	escapes_to("\xe6\x97", "\\xe6\\x97"); /* cut at the end */
	escapes_to("\xe6"
	           "a",
	    "\\xe6a"); /* cut before ASCII */
}

/* The escaped text holds no control byte and no byte above 0x7f that
 * does not belong to well-formed UTF-8: every byte value, alone and
 * after a lead byte. */
static void
test_escape_every_byte(void **state)
{
	struct buf b = { 0 };

	(void)state;
	for (int lead = 0; lead < 256; lead++) {
		for (int c = 1; c < 256; c++) {
			char in[3] = { (char)(lead ? lead : c),
				(char)(lead ? c : 0), 0 };

			buf_reset(&b);
			text_escape(&b, in);
			for (size_t i = 0; i < b.len; i++) {
				unsigned char u = (unsigned char)b.p[i];

				assert_false(u < 0x20 || u == 0x7f);
				/* a C1 control never survives */
				if (u == 0xc2 && i + 1 < b.len)
					assert_false(
					    (unsigned char)b.p[i + 1] < 0xa0);
			}
		}
	}
	buf_free(&b);
}

static void
test_name_check(void **state)
{
	(void)state;
	assert_null(text_name_check("Primary one", 256));
	assert_null(text_name_check("Büro 2", 256));
	assert_null(text_name_check(" a ", 256));
	assert_string_equal(text_name_check("", 256), "may not be empty");
	assert_string_equal(
	    text_name_check("   ", 256), "may not be only blanks");
	assert_string_equal(text_name_check("\xc2\xa0 \xe3\x80\x80", 256),
	    "may not be only blanks");
	assert_string_equal(text_name_check("a\x1b[2J", 256),
	    "may not hold control characters");
	assert_string_equal(
	    text_name_check("a\tb", 256), "may not hold control characters");
	assert_string_equal(
	    text_name_check("a\x7f", 256), "may not hold control characters");
	assert_string_equal(text_name_check("a\xc2\x9b", 256),
	    "may not hold control characters");
	assert_string_equal(
	    text_name_check("a\xff", 256), "is not valid UTF-8");
	assert_string_equal(
	    text_name_check("a\xc0\xaf", 256), "is not valid UTF-8");
	assert_string_equal(
	    text_name_check(" \t ", 256), "may not hold control characters");
	assert_null(text_name_check("  x", 256));
	assert_null(text_name_check("x\xc2\xa0", 256));
	assert_null(text_name_check("abcd", 4));
	assert_string_equal(text_name_check("abcde", 4), "is too long");
}

/* Free text may be empty or blank, never hold controls. */
static void
test_check(void **state)
{
	(void)state;
	assert_null(text_check(""));
	assert_null(text_check("   "));
	assert_null(text_check("Büro, 2. Stock"));
	assert_string_equal(
	    text_check("a\x1b[2J"), "may not hold control characters");
	assert_string_equal(
	    text_check("\xc2\x85"), "may not hold control characters");
	assert_string_equal(text_check("\xed\xa0\x80"), "is not valid UTF-8");
}

/* A log line quotes what came from outside on one line, its backslashes
 * as they are: text_escape_line, and the logger that uses it. */
static void
test_log_line(void **state)
{
	char path[] = "/tmp/test_text.XXXXXX", line[512];
	struct buf b = { 0 };
	FILE *fp;
	int fd, lines = 0;

	(void)state;
	buf_adds(&b, "");
	text_escape_line(&b, "C:\\x \n\x1b]0;t\x07 \xc3\xa9");
	assert_string_equal(b.p, "C:\\x \\x0a\\x1b]0;t\\x07 \xc3\xa9");
	buf_free(&b);
	assert_true(text_plain("a plain line, \\ and all"));
	assert_false(text_plain("tab\there"));
	assert_false(text_plain("caf\xc3\xa9"));

	assert_int_not_equal(fd = mkstemp(path), -1);
	close(fd);
	log_init("test_text");
	assert_int_equal(log_to_file(path), 0);
	log_error("refused \"%s\": no", "GUID:x\n2026-01-01 fake: line");
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		lines++;
	fclose(fp);
	unlink(path);
	assert_int_equal(lines, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_bad_utf8),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_log_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
