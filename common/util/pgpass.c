/* pgpass.c - libpq's password file: find a user's password, add a line */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "pgpass.h"

/*
 * Unescape the field that starts at s and ends at the first ':' not
 * escaped, or at the end of the line; into out when it fits in len bytes
 * (else *fits is false). Returns where the field ends.
 */
static const char *
field(const char *s, char *out, size_t len, bool *fits)
{
	size_t n = 0;

	*fits = true;
	for (; *s != '\0' && *s != '\n' && *s != ':'; s++) {
		if (*s == '\\' && s[1] != '\0' && s[1] != '\n')
			s++;
		if (n + 1 < len)
			out[n++] = *s;
		else
			*fits = false;
	}
	if (len > 0)
		out[n] = '\0';
	return s;
}

/* The user name field of the line at s, and where its password starts. */
static const char *
line_user(const char *s, char *user, size_t len, bool *fits)
{
	char skip[1];
	bool ignored;

	for (int i = 0; i < 3; i++) {
		s = field(s, skip, sizeof(skip), &ignored);
		if (*s != ':')
			return NULL;
		s++;
	}
	s = field(s, user, len, fits);
	return *s == ':' ? s + 1 : NULL;
}

int
pgpass_find(const char *text, const char *user, char *out, size_t len)
{
	char name[256];
	const char *p, *pw, *nl, *next;
	bool fits;

	for (p = text; *p != '\0'; p = next) {
		nl = strchr(p, '\n');
		next = nl != NULL ? nl + 1 : p + strlen(p);
		if (*p == '#')
			continue;
		pw = line_user(p, name, sizeof(name), &fits);
		if (pw == NULL || !fits || strcmp(name, user) != 0)
			continue;
		field(pw, out, len, &fits);
		/* libpq keeps no carriage return of a CRLF line */
		if (fits && len > 0 && out[0] != '\0' &&
		    out[strlen(out) - 1] == '\r')
			out[strlen(out) - 1] = '\0';
		if (!fits && len > 0)
			out[0] = '\0';
		return fits ? 1 : -1;
	}
	return 0;
}

/* Append s with ':' and '\' escaped. */
static void
add_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *s);
	}
}

void
pgpass_add(struct buf *b, const char *user, const char *password)
{
	buf_adds(b, "*:*:*:");
	add_escaped(b, user);
	buf_addc(b, ':');
	add_escaped(b, password);
	buf_addc(b, '\n');
}
