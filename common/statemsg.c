/* statemsg.c - parse and check a state message batch, sitesys-statemsg(5) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statemsg.h"
#include "util/sjson.h"

int
statemsg_valid_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strncmp(s, "GUID:", 5) != 0 || strlen(s) != STATEMSG_GUID_LEN)
		return 0;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		unsigned char c = (unsigned char)s[5 + i];

		if (shape[i] == '-' ? c != '-' : !isxdigit(c))
			return 0;
	}
	return 1;
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
statemsg_parse_time(const char *s, int64_t *us)
{
	struct tm tm, check;
	const char *p = s + 19;
	int64_t frac = 0, scale = 1000000;
	time_t t;

	/* exactly YYYY-MM-DDTHH:MM:SS[.f...]Z: what PostgreSQL reads alike */
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_year > 1100 || tm.tm_mon < 0 ||
	    tm.tm_mday < 1 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	check = tm;
	t = timegm(&check);
	/* timegm normalizes February 30 into March: refuse what moved */
	if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon ||
	    check.tm_hour != tm.tm_hour || check.tm_min != tm.tm_min ||
	    check.tm_sec != tm.tm_sec)
		return -1;
	*us = (int64_t)t * 1000000 + frac;
	return 0;
}

void
statemsg_guid_lower(const char *guid, char out[STATEMSG_GUID_LEN + 1])
{
	for (size_t i = 0; i <= STATEMSG_GUID_LEN; i++)
		out[i] =
		    i < 5 ? guid[i] : (char)tolower((unsigned char)guid[i]);
}

/* One client, one spelling: hex digits in lower case, in the document. */
static int
lower_guid(json_t *doc, const char **client)
{
	char low[STATEMSG_GUID_LEN + 1];

	statemsg_guid_lower(*client, low);
	if (strcmp(low, *client) == 0)
		return 0;
	if (json_object_set_new(doc, "client", json_string(low)) == -1)
		return -1;
	*client = json_string_value(json_object_get(doc, "client"));
	return 0;
}

static int
parse_params(json_t *m, struct statemsg *sm, char *why, size_t whylen)
{
	json_t *params, *p;
	size_t i;

	if (sjson_array(m, "params", STATEMSG_MAX_PARAMS, false, &params, why,
	        whylen) == -1)
		return -1;
	json_array_foreach(params, i, p)
	{
		size_t len = json_string_length(p);

		if (!json_is_string(p) || len > STATEMSG_MAX_PARAM) {
			snprintf(why, whylen,
			    "params[%zu] must be a string of at most %d bytes",
			    i, STATEMSG_MAX_PARAM);
			return -1;
		}
	}
	sm->params = params;
	return 0;
}

static int
parse_message(json_t *m, struct statemsg *sm, char *why, size_t whylen)
{
	json_t *topic, *state;
	long long v;

	if (!json_is_object(m))
		return snprintf(why, whylen, "not an object"), -1;
	if (sjson_int(m, "serial", 1, STATEMSG_MAX_SERIAL, true, &v, why,
	        whylen) == -1)
		return -1;
	sm->serial = v;
	if (sjson_str(m, "time", 40, true, &sm->time, why, whylen) == -1)
		return -1;
	if (statemsg_parse_time(sm->time, &sm->time_us) == -1) {
		snprintf(why, whylen,
		    "member \"time\" is not an RFC 3339 UTC time "
		    "(YYYY-MM-DDTHH:MM:SS[.fff]Z): \"%s\"",
		    sm->time);
		return -1;
	}
	topic = json_object_get(m, "topic");
	state = json_object_get(m, "state");
	if (!json_is_object(topic) || !json_is_object(state)) {
		snprintf(why, whylen,
		    "members \"topic\" and \"state\" must be "
		    "objects");
		return -1;
	}
	if (sjson_int(topic, "type", 0, 65535, true, &v, why, whylen) == -1)
		return -1;
	sm->topic_type = (int)v;
	if (sjson_str(topic, "id", STATEMSG_MAX_TOPIC_ID, true, &sm->topic_id,
	        why, whylen) == -1)
		return -1;
	v = 0;
	if (sjson_int(topic, "id_type", 0, 65535, false, &v, why, whylen) == -1)
		return -1;
	sm->topic_id_type = (int)v;
	if (sjson_int(state, "id", 0, 65535, true, &v, why, whylen) == -1)
		return -1;
	sm->state_id = (int)v;
	v = 0;
	if (sjson_int(state, "criticality", 0, 255, false, &v, why, whylen) ==
	    -1)
		return -1;
	sm->criticality = (int)v;
	if (sjson_str(m, "details", STATEMSG_MAX_DETAILS, false, &sm->details,
	        why, whylen) == -1)
		return -1;
	return parse_params(m, sm, why, whylen);
}

int
statemsg_parse(json_t *doc, struct statemsg_batch *b, char *why, size_t whylen)
{
	char inner[400];
	json_t *msgs, *m;
	size_t i;

	memset(b, 0, sizeof(*b));
	if (sjson_format(doc, STATEMSG_FORMAT, why, whylen) == -1)
		return -1;
	if (sjson_str(doc, "client", STATEMSG_GUID_LEN, true, &b->client, why,
	        whylen) == -1)
		return -1;
	if (!statemsg_valid_guid(b->client)) {
		snprintf(why, whylen,
		    "member \"client\" is not \"GUID:\" and a UUID: \"%s\"",
		    b->client);
		return -1;
	}
	if (lower_guid(doc, &b->client) == -1)
		return snprintf(why, whylen, "out of memory"), -1;
	if (sjson_str(doc, "signature", STATEMSG_MAX_SIGNATURE, false,
	        &b->signature, why, whylen) == -1)
		return -1;
	if (sjson_array(doc, "messages", STATEMSG_MAX_MESSAGES, true, &msgs,
	        why, whylen) == -1)
		return -1;
	if (json_array_size(msgs) == 0) {
		snprintf(why, whylen, "member \"messages\" is empty");
		return -1;
	}
	b->n = json_array_size(msgs);
	if ((b->msgs = calloc(b->n, sizeof(*b->msgs))) == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	json_array_foreach(msgs, i, m)
	{
		if (parse_message(m, &b->msgs[i], inner, sizeof(inner)) == -1) {
			snprintf(why, whylen, "messages[%zu]: %s", i, inner);
			free(b->msgs);
			b->msgs = NULL;
			return -1;
		}
	}
	b->doc = json_incref(doc);
	return 0;
}

void
statemsg_free(struct statemsg_batch *b)
{
	free(b->msgs);
	json_decref(b->doc);
	memset(b, 0, sizeof(*b));
}

static int
parse_set(json_t *doc, struct statemsg_batch **out, size_t *n, char *why,
    size_t whylen)
{
	char inner[512];
	const char *via;
	json_t *arr, *b;
	size_t i;

	if (sjson_array(doc, "batches", STATEMSG_SET_MAX, true, &arr, why,
	        whylen) == -1)
		return -1;
	if (json_array_size(arr) == 0) {
		snprintf(why, whylen, "member \"batches\" is empty");
		return -1;
	}
	if ((*out = calloc(json_array_size(arr), sizeof(**out))) == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	json_array_foreach(arr, i, b)
	{
		if (statemsg_parse(b, &(*out)[i], inner, sizeof(inner)) == -1) {
			snprintf(why, whylen, "batches[%zu]: %s", i, inner);
			statemsg_free_all(*out, i);
			*out = NULL;
			return -1;
		}
	}
	*n = json_array_size(arr);
	via = json_string_value(json_object_get(doc, "via"));
	for (i = 0; i < *n; i++)
		(*out)[i].via_fsp =
		    via != NULL && strcmp(via, STATEMSG_VIA_FSP) == 0;
	return 0;
}

int
statemsg_parse_file(json_t *doc, struct statemsg_batch **out, size_t *n,
    char *why, size_t whylen)
{
	const char *format = json_string_value(json_object_get(doc, "format"));

	*out = NULL;
	*n = 0;
	if (format != NULL && strcmp(format, STATEMSG_SET_FORMAT) == 0)
		return parse_set(doc, out, n, why, whylen);
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	if (statemsg_parse(doc, *out, why, whylen) == -1) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*n = 1;
	return 0;
}

char *
statemsg_signed_text(const json_t *doc)
{
	json_t *copy = json_copy((json_t *)doc);
	const char *client;
	char low[STATEMSG_GUID_LEN + 1], *text = NULL;

	if (copy == NULL)
		return NULL;
	json_object_del(copy, "signature");
	client = json_string_value(json_object_get(copy, "client"));
	if (client != NULL && statemsg_valid_guid(client)) {
		statemsg_guid_lower(client, low);
		if (json_object_set_new(copy, "client", json_string(low)) == -1)
			goto out;
	}
	text =
	    json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
out:
	json_decref(copy);
	return text;
}

void
statemsg_free_all(struct statemsg_batch *batches, size_t n)
{
	for (size_t i = 0; i < n; i++)
		statemsg_free(&batches[i]);
	free(batches);
}
