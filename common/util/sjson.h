/* sjson.h - strict, typed access to JSON documents (over jansson) */
#ifndef SITESYS_SJSON_H
#define SITESYS_SJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "buf.h"

/* sjson_parse - parse buf whole; NULL with "line L, column C: why" */
json_t *sjson_parse(const char *buf, size_t len, char *err, size_t errlen);

/*
 * sjson_format - check that doc is an object whose "format" is want
 * (e.g. "sitesys.statemsg/1"); 0, or -1 with the reason
 */
int sjson_format(const json_t *doc, const char *want, char *err, size_t errlen);

/*
 * sjson_str - member key as a string of 1..maxlen bytes; absent: *out = NULL
 * and an error only if required
 */
int sjson_str(const json_t *obj, const char *key, size_t maxlen, bool required,
    const char **out, char *err, size_t errlen);

/* sjson_int - member key as an integer within min..max */
int sjson_int(const json_t *obj, const char *key, long long min, long long max,
    bool required, long long *out, char *err, size_t errlen);

/* sjson_bool - member key as true or false */
int sjson_bool(const json_t *obj, const char *key, bool required, bool *out,
    char *err, size_t errlen);

/* sjson_array - member key as an array of at most max elements */
int sjson_array(const json_t *obj, const char *key, size_t max, bool required,
    json_t **out, char *err, size_t errlen);

/* sjson_print - write doc, indented, and a newline to fp; 0 or -1 */
int sjson_print(FILE *fp, const json_t *doc);

/* sjson_set - add value to obj under key, stealing it; aborts on ENOMEM */
void sjson_set(json_t *obj, const char *key, json_t *value);

/* sjson_append - append value to array, stealing it; aborts on ENOMEM */
void sjson_append(json_t *array, json_t *value);

/*
 * sjson_quote - append s to b as a JSON string, quoted: '"', '\\' and the
 * C0 controls escaped, everything else copied; s must be UTF-8 (checked
 * by the caller), for what is written is then JSON; for writers that
 * make many small documents, where building jansson objects costs more
 * than the text
 */
void sjson_quote(struct buf *b, const char *s);

#endif
