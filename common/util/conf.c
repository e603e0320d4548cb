/* conf.c - parse the INI file against the table of settings */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

struct conf_value {
	char *str;
	long long num;
	int line; /* 0: default */
};

struct conf {
	char *path;
	size_t n;
	struct conf_value *vals;
};

static size_t
conf_count(void)
{
	size_t n = 0;

	while (conf_settings[n].section != NULL)
		n++;
	return n;
}

static int
conf_section_known(const char *section)
{
	for (size_t i = 0; conf_settings[i].section != NULL; i++)
		if (strcmp(conf_settings[i].section, section) == 0)
			return 1;
	return 0;
}

static long
conf_find(const char *section, const char *name)
{
	for (size_t i = 0; conf_settings[i].section != NULL; i++)
		if (strcmp(conf_settings[i].section, section) == 0 &&
		    strcmp(conf_settings[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int
parse_bool(const char *s, long long *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
choice_ok(const char *choices, const char *s)
{
	size_t len = strlen(s);
	const char *p = choices;

	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && strncmp(p, s, n) == 0)
			return 1;
		p += n + (bar != NULL);
	}
	return 0;
}

/* Check value against setting s and store it; 0, or -1 with reason. */
static int
conf_set(struct conf_value *v, const struct conf_setting *s, const char *value,
    char *why, size_t whylen)
{
	long long num = 0;
	char *end, reason[256];

	switch (s->type) {
	case CONF_INT:
		errno = 0;
		num = strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0) {
			snprintf(why, whylen,
			    "%s: \"%s\" is not a whole number", s->name, value);
			return -1;
		}
		if (num < s->min || num > s->max) {
			snprintf(why, whylen,
			    "%s: %lld is out of range (%lld..%lld)", s->name,
			    num, s->min, s->max);
			return -1;
		}
		break;
	case CONF_BOOL:
		if (parse_bool(value, &num) == -1) {
			snprintf(why, whylen, "%s: \"%s\" is not yes or no",
			    s->name, value);
			return -1;
		}
		break;
	case CONF_STR:
		if (s->choices != NULL && !choice_ok(s->choices, value)) {
			snprintf(why, whylen, "%s: \"%s\" is not one of %s",
			    s->name, value, s->choices);
			return -1;
		}
		if (s->check != NULL &&
		    s->check(value, reason, sizeof(reason)) == -1) {
			snprintf(why, whylen, "%s: %s", s->name, reason);
			return -1;
		}
		break;
	}
	char *copy = strdup(value);
	if (copy == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	free(v->str);
	v->str = copy;
	v->num = num;
	return 0;
}

int
conf_check_template(const char *value, char *why, size_t len)
{
	const char *first = strstr(value, "%s");

	if (*value == '\0')
		return 0;
	if (first == NULL || strstr(first + 2, "%s") != NULL) {
		snprintf(
		    why, len, "\"%.200s\" must hold %%s exactly once", value);
		return -1;
	}
	return 0;
}

int
conf_check_https(const char *value, char *why, size_t len)
{
	if (*value == '\0' || strncasecmp(value, "https://", 8) == 0)
		return 0;
	snprintf(why, len, "\"%.200s\" is not an https:// URL", value);
	return -1;
}

int
conf_check_https_template(const char *value, char *why, size_t len)
{
	if (conf_check_https(value, why, len) == -1)
		return -1;
	return conf_check_template(value, why, len);
}

int
conf_check_absolute(const char *value, char *why, size_t len)
{
	if (*value == '\0' || *value == '/')
		return 0;
	snprintf(why, len, "\"%.200s\" is not an absolute path", value);
	return -1;
}

static struct conf *
conf_defaults(void)
{
	struct conf *cf = calloc(1, sizeof(*cf));
	char why[256];

	if (cf == NULL)
		return NULL;
	cf->n = conf_count();
	cf->vals = calloc(cf->n, sizeof(*cf->vals));
	if (cf->vals == NULL) {
		free(cf);
		return NULL;
	}
	for (size_t i = 0; i < cf->n; i++)
		if (conf_set(&cf->vals[i], &conf_settings[i],
		        conf_settings[i].def, why, sizeof(why)) == -1)
			abort(); /* a default outside its own bounds */
	return cf;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s &&
	    (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Apply one non-blank line; 0, or -1 with the reason in why. */
static int
conf_line(struct conf *cf, char *line, int lineno, char *section, size_t seclen,
    char *why, size_t whylen)
{
	char *eq, *key, *value;
	long idx;

	if (*line == '[') {
		char *close = strchr(line, ']');

		if (close == NULL || *trim(close + 1) != '\0') {
			snprintf(why, whylen, "malformed section header");
			return -1;
		}
		*close = '\0';
		if (!conf_section_known(trim(line + 1))) {
			snprintf(why, whylen, "unknown section [%s]",
			    trim(line + 1));
			return -1;
		}
		snprintf(section, seclen, "%s", trim(line + 1));
		return 0;
	}
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(why, whylen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*section == '\0') {
		snprintf(why, whylen, "key \"%s\" outside of any section", key);
		return -1;
	}
	if ((idx = conf_find(section, key)) == -1) {
		snprintf(why, whylen, "unknown key \"%s\" in section [%s]", key,
		    section);
		return -1;
	}
	if (cf->vals[idx].line != 0) {
		snprintf(why, whylen,
		    "duplicate key \"%s\" (first set on line %d)", key,
		    cf->vals[idx].line);
		return -1;
	}
	size_t vlen = strlen(value);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value[vlen - 1] = '\0';
		value++;
	}
	if (conf_set(&cf->vals[idx], &conf_settings[idx], value, why, whylen))
		return -1;
	cf->vals[idx].line = lineno;
	return 0;
}

/*
 * Whether the line fgets read into buf (size bytes, filled with 0x01
 * before the read) holds a NUL byte of its own: fgets ends what it read
 * with a NUL, so one before that end came from the file.
 */
static bool
conf_has_nul(const char *buf, size_t size)
{
	const char *end = buf + size;

	/* the NUL fgets wrote is the last NUL before the untouched 0x01s */
	while (end > buf && end[-1] == '\x01')
		end--;
	return end > buf && memchr(buf, '\0', (size_t)(end - buf) - 1) != NULL;
}

static int
conf_parse(struct conf *cf, FILE *fp, char *err, size_t errlen)
{
	char line[4096], section[64] = "", why[512];
	int lineno = 0;

	for (;;) {
		char *s;

		memset(line, '\x01', sizeof(line));
		if (fgets(line, sizeof(line), fp) == NULL)
			break;
		lineno++;
		if (conf_has_nul(line, sizeof(line))) {
			snprintf(err, errlen, "%s:%d: NUL byte in the line",
			    cf->path, lineno);
			return -1;
		}
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%d: line too long", cf->path,
			    lineno);
			return -1;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (conf_line(cf, s, lineno, section, sizeof(section), why,
		        sizeof(why)) == -1) {
			snprintf(
			    err, errlen, "%s:%d: %s", cf->path, lineno, why);
			return -1;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s:%d: could not read: %s", cf->path,
		    lineno, strerror(errno));
		return -1;
	}
	return 0;
}

/* Each set setting whose "needs" is empty; 0, or -1 with file:line. */
static int
conf_check_needs(const struct conf *cf, char *err, size_t errlen)
{
	for (size_t i = 0; i < cf->n; i++) {
		const struct conf_setting *s = &conf_settings[i];
		long j;

		if (s->needs == NULL || *cf->vals[i].str == '\0')
			continue;
		j = conf_find(s->section, s->needs);
		if (j == -1)
			abort(); /* a table that names no setting */
		if (*cf->vals[j].str != '\0')
			continue;
		snprintf(err, errlen, "%s:%d: %s: needs [%s] %s too: %s",
		    cf->path ? cf->path : "(defaults)", cf->vals[i].line,
		    s->name, s->section, s->needs, conf_settings[j].doc);
		return -1;
	}
	return 0;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf *cf = conf_defaults();
	FILE *fp;
	int rc;

	if (cf == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL)
		return cf;
	if ((cf->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		conf_free(cf);
		return NULL;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s:0: could not open config file: %s",
		    path, strerror(errno));
		conf_free(cf);
		return NULL;
	}
	rc = conf_parse(cf, fp, err, errlen);
	fclose(fp);
	if (rc == 0)
		rc = conf_check_needs(cf, err, errlen);
	if (rc == -1) {
		conf_free(cf);
		return NULL;
	}
	return cf;
}

const char *
conf_path(const struct conf *cf)
{
	return cf->path;
}

static const struct conf_value *
conf_get(const struct conf *cf, const char *section, const char *name,
    enum conf_type type)
{
	long idx = conf_find(section, name);

	if (idx == -1 || conf_settings[idx].type != type) {
		fprintf(stderr, "conf: no %s setting [%s] %s\n",
		    type == CONF_STR ? "string" : "number", section, name);
		abort();
	}
	return &cf->vals[idx];
}

const char *
conf_str(const struct conf *cf, const char *section, const char *name)
{
	return conf_get(cf, section, name, CONF_STR)->str;
}

long long
conf_int(const struct conf *cf, const char *section, const char *name)
{
	return conf_get(cf, section, name, CONF_INT)->num;
}

bool
conf_bool(const struct conf *cf, const char *section, const char *name)
{
	return conf_get(cf, section, name, CONF_BOOL)->num != 0;
}

void
conf_free(struct conf *cf)
{
	if (cf == NULL)
		return;
	for (size_t i = 0; i < cf->n && cf->vals != NULL; i++)
		free(cf->vals[i].str);
	free(cf->vals);
	free(cf->path);
	free(cf);
}

const char *
conf_resolve_path(const char *opt, bool *explicit)
{
	const char *env = getenv("SITESYS_CONF");

	*explicit = true;
	if (opt != NULL)
		return opt;
	if (env != NULL && *env != '\0')
		return env;
	*explicit = false;
	return CONF_DEFAULT_PATH;
}
