/* msg.c - one state message: its arguments checked, its time, identity */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "agent.h"
#include "util/clock.h"
#include "util/sjson.h"

/* Parse a whole decimal number within lo..hi; 0 or -1 with why. */
static int
msg_number(const char *what, const char *s, long lo, long hi, int *out,
    char *why, size_t whylen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || s[0] == ' ') {
		snprintf(
		    why, whylen, "%s: \"%s\" is not a whole number", what, s);
		return -1;
	}
	if (v < lo || v > hi) {
		snprintf(why, whylen, "%s: %ld is out of range (%ld..%ld)",
		    what, v, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* A JSON string of lo..hi bytes of valid UTF-8; NULL with why. */
static json_t *
msg_string(const char *what, const char *s, size_t lo, size_t hi, char *why,
    size_t whylen)
{
	size_t len = strlen(s);
	json_t *v;

	if (len < lo || len > hi) {
		snprintf(why, whylen,
		    "%s must be %zu to %zu bytes long, not %zu", what, lo, hi,
		    len);
		return NULL;
	}
	if ((v = json_string(s)) == NULL)
		snprintf(why, whylen, "%s is not valid UTF-8", what);
	return v;
}

/* The "topic" and "state" members; 0 or -1 with why. */
static int
msg_topic_state(json_t *m, const struct msg_args *a, char *why, size_t whylen)
{
	int type, id_type = 0, state, crit = 0;
	json_t *id, *topic, *st;

	if (msg_number("--topic-type", a->topic_type, 0, 65535, &type, why,
	        whylen) == -1 ||
	    (a->id_type != NULL &&
	        msg_number("--id-type", a->id_type, 0, 65535, &id_type, why,
	            whylen) == -1) ||
	    msg_number("--state", a->state, 0, 65535, &state, why, whylen) ==
	        -1 ||
	    (a->criticality != NULL &&
	        msg_number("--criticality", a->criticality, 0, 255, &crit, why,
	            whylen) == -1))
		return -1;
	if ((id = msg_string("--topic-id", a->topic_id, 1,
	         STATEMSG_MAX_TOPIC_ID, why, whylen)) == NULL)
		return -1;
	topic = json_pack(
	    "{s:i,s:o,s:i}", "type", type, "id", id, "id_type", id_type);
	st = json_pack("{s:i,s:i}", "id", state, "criticality", crit);
	if (topic == NULL || st == NULL)
		abort();
	sjson_set(m, "topic", topic);
	sjson_set(m, "state", st);
	return 0;
}

/* The optional "details" and "params" members; 0 or -1 with why. */
static int
msg_extras(json_t *m, const struct msg_args *a, char *why, size_t whylen)
{
	char what[32];
	json_t *params, *v;

	if (a->details != NULL) {
		if ((v = msg_string("--details", a->details, 1,
		         STATEMSG_MAX_DETAILS, why, whylen)) == NULL)
			return -1;
		sjson_set(m, "details", v);
	}
	if (a->too_many_params) {
		snprintf(why, whylen, "at most %d --param options are allowed",
		    STATEMSG_MAX_PARAMS);
		return -1;
	}
	if (a->nparams == 0)
		return 0;
	if ((params = json_array()) == NULL)
		abort();
	sjson_set(m, "params", params);
	for (size_t i = 0; i < a->nparams; i++) {
		snprintf(what, sizeof(what), "--param %zu", i + 1);
		if ((v = msg_string(what, a->params[i], 0, STATEMSG_MAX_PARAM,
		         why, whylen)) == NULL)
			return -1;
		sjson_append(params, v);
	}
	return 0;
}

json_t *
msg_build(const struct msg_args *a, char *why, size_t whylen)
{
	json_t *m;

	if (a->topic_type == NULL || a->topic_id == NULL || a->state == NULL) {
		snprintf(why, whylen,
		    "--topic-type, --topic-id and --state are required");
		return NULL;
	}
	if ((m = json_object()) == NULL)
		abort();
	if (msg_topic_state(m, a, why, whylen) == -1 ||
	    msg_extras(m, a, why, whylen) == -1) {
		json_decref(m);
		return NULL;
	}
	return m;
}

void
msg_now(char out[AGENT_TIME_LEN])
{
	clock_rfc3339(out, AGENT_TIME_LEN, clock_now_us(), 3);
}

int
msg_new_guid(char out[STATEMSG_GUID_LEN + 1])
{
	unsigned char u[16];
	size_t got = 0;

	while (got < sizeof(u)) {
		ssize_t n = getrandom(u + got, sizeof(u) - got, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		got += (size_t)n;
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, STATEMSG_GUID_LEN + 1,
	    "GUID:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
	    u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

size_t
msg_json_size(const json_t *msg)
{
	return json_dumpb(msg, NULL, 0, JSON_COMPACT);
}
