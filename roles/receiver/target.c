/*
 * target.c - where a PUT may write: the inboxes of the site server, which
 * role may write into each, and the file names of sitesys-inbox(5)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "inbox.h"
#include "receiver.h"
#include "util/text.h"

#define KEY_MAX 40 /* group_commit_add_key's key */
#define FIELDS_MAX 3 /* words between the sequence number and ext */

/* An inbox of the site server, as other hosts reach it. */
struct box_rule {
	const char *box;
	const char *exts[3]; /* the extensions its readers take */
	const char *roles[3]; /* the roles whose certificates may put */
	const char *what; /* for the refusal */
};

static const struct box_rule rules[] = {
	{ "statsys.box", { "smx" }, { "mp", "fsp" },
	    "a management point (mp) or a fallback status point (fsp)" },
	{ "bgb.box", { "bos", "bts" }, { "mp" },
	    "a management point (mp), whose host runs sitesys-notifyd" },
};

/* The rule of box, or NULL. */
static const struct box_rule *
rule_of(const char *box)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].box, box) == 0)
			return &rules[i];
	return NULL;
}

/* Whether s is one of the NULL-ended list (at most 3). */
static bool
listed(const char *const list[3], const char *s)
{
	for (int i = 0; i < 3 && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

const char *
receiver_admits(const char *box, const char *role)
{
	static _Thread_local char why[200];
	const struct box_rule *r = rule_of(box);

	if (r == NULL)
		return "no such inbox";
	if (listed(r->roles, role))
		return NULL;
	snprintf(
	    why, sizeof(why), "only %s may put files into %s", r->what, box);
	return why;
}

/* The length of the run of s made of set, at least min and at most max
 * long and ended by a dot (or the end when last); 0 if there is none. */
static size_t
field(const char *s, const char *set, size_t min, size_t max, bool last)
{
	size_t n = strspn(s, set);

	if (n < min || n > max || s[n] != (last ? '\0' : '.'))
		return 0;
	return n;
}

#define DIGITS "0123456789"
#define WORD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

/*
 * Whether name is <µs>.<host>.<pid>.<seq>[.<word>...].<ext> with ext e:
 * at most FIELDS_MAX words between, such as a group commit's key and the
 * FSP's part or rest number (NAME.KEY.p2.smx).
 */
static bool
protocol_name(const char *name, const char *ext)
{
	const char *p = name;
	size_t n;

	if ((n = field(p, DIGITS, 16, 20, false)) == 0)
		return false;
	p += n + 1;
	if ((n = field(p, WORD, 1, 64, false)) == 0)
		return false;
	p += n + 1;
	for (int i = 0; i < 2; i++) {
		if ((n = field(p, DIGITS, 1, 10, false)) == 0)
			return false;
		p += n + 1;
	}
	for (int i = 0; i <= FIELDS_MAX; i++) {
		if (strcmp(p, ext) == 0)
			return true;
		if ((n = field(p, WORD, 1, KEY_MAX, false)) == 0)
			return false;
		p += n + 1;
	}
	return false;
}

/* The value of key= in query (undecoded) into out: 0, -1 when there is
 * none, -2 when it is longer than out. */
static int
query_value(const char *query, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, "&");

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			if (n - klen - 1 >= len)
				return -2;
			memcpy(out, p + klen + 1, n - klen - 1);
			out[n - klen - 1] = '\0';
			return 0;
		}
		p = p[n] == '&' ? p + n + 1 : NULL;
	}
	return -1;
}

int
receiver_name(const char *box, const char *query, char *name, size_t len,
    char *why, size_t whylen)
{
	const struct box_rule *r = rule_of(box);
	char raw[3 * INBOX_NAME_MAX + 1];
	long n;

	if (r == NULL)
		return snprintf(why, whylen, "no such inbox \"%s\"", box), -1;
	n = query_value(query, "name", raw, sizeof(raw));
	if (n == -2)
		return snprintf(why, whylen,
		           "the file name is longer than the limit of %d bytes",
		           INBOX_NAME_MAX),
		       -1;
	if (n == -1)
		return snprintf(why, whylen,
		           "the query must name the file: name=<unix-µs>."
		           "<host>.<pid>.<seq>.<ext> (sitesys-inbox(5))"),
		       -1;
	n = text_url_decode(raw, name, len);
	if (n == -1 || (size_t)n != strlen(name) || n > INBOX_NAME_MAX)
		return snprintf(why, whylen,
		           "the file name is not one of the protocol's: "
		           "at most %d bytes, well escaped",
		           INBOX_NAME_MAX),
		       -1;
	for (int i = 0; i < 3 && r->exts[i] != NULL; i++)
		if (protocol_name(name, r->exts[i]))
			return 0;
	snprintf(why, whylen,
	    "the file name is not one of the protocol's for %s: "
	    "<unix-µs>.<host>.<pid>.<seq>[.<word>...].<ext>, ext %s%s%s",
	    box, r->exts[0], r->exts[1] ? " or " : "",
	    r->exts[1] ? r->exts[1] : "");
	return -1;
}
