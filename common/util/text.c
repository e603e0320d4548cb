/*
 * text.c - text from outside: made safe to show on a terminal, and checked
 * before it is kept as a name
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "text.h"

/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4) and its code
 * point in *cp, or 0 when the bytes at s are not one (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Whether code point c is a control character: C0, DEL or C1. */
static bool
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Whether code point c is a blank: a space of Unicode's White_Space. */
static bool
is_blank(uint32_t c)
{
	return c == ' ' || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x202f || c == 0x205f ||
	    c == 0x3000;
}

/* Escape s into b; a backslash doubled only when keep_backslash is not. */
static void
escape(struct buf *b, const char *s, bool keep_backslash)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		uint32_t c;
		size_t n = utf8_seq(p, &c);

		if (n == 0 || is_control(c)) {
			/* one byte: a C1 control's second comes next */
			char e[4] = { '\\', 'x', hex[*p >> 4], hex[*p & 15] };

			buf_add(b, e, sizeof(e));
			p++;
			continue;
		}
		if (c == '\\' && !keep_backslash)
			buf_adds(b, "\\\\");
		else
			buf_add(b, p, n);
		p += n;
	}
}

void
text_escape(struct buf *b, const char *s)
{
	escape(b, s, false);
}

bool
text_plain(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

void
text_escape_line(struct buf *b, const char *s)
{
	escape(b, s, true);
}

const char *
text_check(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		uint32_t c;
		size_t n = utf8_seq(p, &c);

		if (n == 0)
			return "is not valid UTF-8";
		if (is_control(c))
			return "may not hold control characters";
		p += n;
	}
	return NULL;
}

const char *
text_name_check(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *why;
	uint32_t c = 0;

	if (*s == '\0')
		return "may not be empty";
	if ((why = text_check(s)) != NULL)
		return why;
	while (*p != '\0' && (p += utf8_seq(p, &c), is_blank(c)))
		;
	if (*p == '\0' && is_blank(c))
		return "may not be only blanks";
	if (strlen(s) > max)
		return "is too long";
	return NULL;
}

/* The value of a hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

long
text_url_decode(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			s += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}
