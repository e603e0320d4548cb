/* sjson.c - strict, typed access to JSON documents (over jansson) */
#include <stdlib.h>
#include <string.h>

#include "sjson.h"

json_t *
sjson_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);

	if (doc == NULL)
		snprintf(err, errlen, "invalid JSON at line %d, column %d: %s",
		    je.line, je.column, je.text);
	return doc;
}

int
sjson_format(const json_t *doc, const char *want, char *err, size_t errlen)
{
	const char *have;

	if (!json_is_object(doc)) {
		snprintf(err, errlen, "document is not a JSON object");
		return -1;
	}
	if (sjson_str(doc, "format", 64, true, &have, err, errlen) == -1)
		return -1;
	if (strcmp(have, want) != 0) {
		snprintf(err, errlen, "format is \"%s\", expected \"%s\"", have,
		    want);
		return -1;
	}
	return 0;
}

static json_t *
member(const json_t *obj, const char *key, bool required, char *err,
    size_t errlen, int *rc)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	*rc = 0;
	if (v == NULL && required) {
		snprintf(err, errlen, "missing member \"%s\"", key);
		*rc = -1;
	}
	return v;
}

int
sjson_str(const json_t *obj, const char *key, size_t maxlen, bool required,
    const char **out, char *err, size_t errlen)
{
	int rc;
	json_t *v = member(obj, key, required, err, errlen, &rc);
	size_t len;

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "member \"%s\" is not a string", key);
		return -1;
	}
	len = json_string_length(v);
	if (len == 0 || len > maxlen) {
		snprintf(err, errlen,
		    "member \"%s\" must be 1 to %zu bytes long, not %zu", key,
		    maxlen, len);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
sjson_int(const json_t *obj, const char *key, long long min, long long max,
    bool required, long long *out, char *err, size_t errlen)
{
	int rc;
	json_t *v = member(obj, key, required, err, errlen, &rc);
	long long n;

	if (v == NULL)
		return rc;
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "member \"%s\" is not an integer", key);
		return -1;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		snprintf(err, errlen,
		    "member \"%s\" is %lld, outside %lld..%lld", key, n, min,
		    max);
		return -1;
	}
	*out = n;
	return 0;
}

int
sjson_bool(const json_t *obj, const char *key, bool required, bool *out,
    char *err, size_t errlen)
{
	int rc;
	json_t *v = member(obj, key, required, err, errlen, &rc);

	if (v == NULL)
		return rc;
	if (!json_is_boolean(v)) {
		snprintf(
		    err, errlen, "member \"%s\" is not true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
sjson_array(const json_t *obj, const char *key, size_t max, bool required,
    json_t **out, char *err, size_t errlen)
{
	int rc;
	json_t *v = member(obj, key, required, err, errlen, &rc);

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "member \"%s\" is not an array", key);
		return -1;
	}
	if (json_array_size(v) > max) {
		snprintf(err, errlen,
		    "member \"%s\" has %zu elements, more than the limit of "
		    "%zu",
		    key, json_array_size(v), max);
		return -1;
	}
	*out = v;
	return 0;
}

int
sjson_print(FILE *fp, const json_t *doc)
{
	if (json_dumpf(doc, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1)
		return -1;
	return fputc('\n', fp) == EOF ? -1 : 0;
}

void
sjson_set(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) == -1)
		abort();
}

void
sjson_append(json_t *array, json_t *value)
{
	if (value == NULL || json_array_append_new(array, value) == -1)
		abort();
}

void
sjson_quote(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c == '\n')
			buf_adds(b, "\\n");
		else {
			char u[7] = { '\\', 'u', '0', '0', hex[c >> 4],
				hex[c & 15], '\0' };

			buf_adds(b, u);
		}
	}
	buf_add(b, run, (size_t)(s - run));
	buf_addc(b, '"');
}
