/* bgb.c - the .bts and .bos files of bgb.box (sitesys-bgb(5)) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgb.h"
#include "statemsg.h"
#include "util/sjson.h"
#include "util/text.h"

static const char *const event_names[] = { "pushed", "received", "result" };
static const char *const status_names[] = { "succeeded", "failed",
	"unsupported" };

const char *
bgb_event_name(enum bgb_event_kind k)
{
	return event_names[k];
}

const char *
bgb_status_name(enum bgb_status s)
{
	return status_names[s];
}

/* The index of s in names[n], or -1. */
static int
name_index(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Member key of obj as an RFC 3339 UTC time; 0 or -1 with why. */
static int
get_time(const json_t *obj, const char *key, int64_t *us, char *why, size_t len)
{
	const char *s;

	if (sjson_str(obj, key, 64, true, &s, why, len) == -1)
		return -1;
	if (statemsg_parse_time(s, us) == -1) {
		snprintf(why, len, "%s: \"%.64s\" is not an RFC 3339 UTC time",
		    key, s);
		return -1;
	}
	return 0;
}

/* Member "client" of obj as a client id; 0 or -1 with why. */
static int
get_client(const json_t *obj, const char **out, char *why, size_t len)
{
	if (sjson_str(obj, "client", STATEMSG_GUID_LEN, true, out, why, len) ==
	    -1)
		return -1;
	if (!statemsg_valid_guid(*out)) {
		snprintf(
		    why, len, "client: \"%s\" is not GUID: and a UUID", *out);
		return -1;
	}
	return 0;
}

/* A result's status, exit status and output. */
static int
get_result(const json_t *ev, struct bgb_event *e, char *why, size_t len)
{
	const json_t *out;
	const char *s;
	long long code;
	int i;

	if (sjson_str(ev, "status", 32, true, &s, why, len) == -1)
		return -1;
	if ((i = name_index(s, status_names, 3)) == -1) {
		snprintf(why, len,
		    "status: \"%s\" is not succeeded, failed or unsupported",
		    s);
		return -1;
	}
	e->status = (enum bgb_status)i;
	/* as the result frame has it: a signal's number negated */
	if (sjson_int(ev, "exit", -255, 255, false, &code, why, len) == -1)
		return -1;
	e->has_exit = json_object_get(ev, "exit") != NULL;
	e->exit_code = e->has_exit ? (int)code : 0;
	/* a command that wrote nothing has an empty output */
	out = json_object_get(ev, "output");
	if (out == NULL)
		return 0;
	if (!json_is_string(out) || json_string_length(out) > BGB_MAX_OUTPUT) {
		snprintf(why, len, "output: not a string of at most %d bytes",
		    BGB_MAX_OUTPUT);
		return -1;
	}
	e->output = json_string_value(out);
	return 0;
}

static int
get_event(const json_t *ev, struct bgb_event *e, char *why, size_t len)
{
	const char *kind;
	int i;

	if (!json_is_object(ev)) {
		snprintf(why, len, "is not an object");
		return -1;
	}
	if (sjson_int(ev, "task", 1, BGB_MAX_TASK, true, &e->task, why, len) ==
	        -1 ||
	    get_client(ev, &e->client, why, len) == -1 ||
	    sjson_str(ev, "event", 16, true, &kind, why, len) == -1)
		return -1;
	if ((i = name_index(kind, event_names, 3)) == -1) {
		snprintf(why, len,
		    "event: \"%s\" is not pushed, received or result", kind);
		return -1;
	}
	e->kind = (enum bgb_event_kind)i;
	if (get_time(ev, "at", &e->at_us, why, len) == -1)
		return -1;
	if (e->kind == BGB_RESULT)
		return get_result(ev, e, why, len);
	return 0;
}

static int
get_presence(const json_t *p, struct bgb_presence *o, char *why, size_t len)
{
	if (!json_is_object(p)) {
		snprintf(why, len, "is not an object");
		return -1;
	}
	if (get_client(p, &o->client, why, len) == -1 ||
	    get_time(p, "since", &o->since_us, why, len) == -1 ||
	    sjson_str(p, "via", 4, true, &o->via, why, len) == -1)
		return -1;
	if (strcmp(o->via, "tcp") != 0 && strcmp(o->via, "http") != 0) {
		snprintf(why, len, "via: \"%s\" is not tcp or http", o->via);
		return -1;
	}
	return 0;
}

/* Prefix why with "key[i]: ". */
static void
where(const char *key, size_t i, char *why, size_t len)
{
	char inner[512];

	snprintf(inner, sizeof(inner), "%s", why);
	snprintf(why, len, "%s[%zu]: %s", key, i, inner);
}

/* The events of a .bts, or the clients of a .bos. */
static int
get_items(const json_t *doc, struct bgb_file *f, char *why, size_t len)
{
	const char *key = f->presence ? "online" : "events";
	size_t max = f->presence ? BGB_MAX_ONLINE : BGB_MAX_EVENTS, i;
	json_t *arr, *v;
	int rc = 0;

	if (sjson_array(doc, key, max, true, &arr, why, len) == -1)
		return -1;
	f->n = json_array_size(arr);
	if (f->presence)
		f->online = calloc(f->n ? f->n : 1, sizeof(*f->online));
	else
		f->events = calloc(f->n ? f->n : 1, sizeof(*f->events));
	if (f->online == NULL && f->events == NULL)
		abort();
	json_array_foreach(arr, i, v)
	{
		rc = f->presence ? get_presence(v, &f->online[i], why, len)
		                 : get_event(v, &f->events[i], why, len);
		if (rc == -1) {
			where(key, i, why, len);
			return -1;
		}
	}
	return 0;
}

int
bgb_parse(const json_t *doc, struct bgb_file *f, char *why, size_t len)
{
	const char *format, *bad;
	long long worker = 0;

	memset(f, 0, sizeof(*f));
	if (sjson_str(doc, "format", 64, true, &format, why, len) == -1)
		return -1;
	if (strcmp(format, BGB_BOS_FORMAT) == 0)
		f->presence = true;
	else if (strcmp(format, BGB_BTS_FORMAT) != 0) {
		snprintf(why, len, "format: \"%.64s\" is not %s or %s", format,
		    BGB_BTS_FORMAT, BGB_BOS_FORMAT);
		return -1;
	}
	if (sjson_str(doc, "server", BGB_MAX_SERVER, true, &f->server, why,
	        len) == -1)
		return -1;
	if ((bad = text_name_check(f->server, BGB_MAX_SERVER)) != NULL) {
		snprintf(why, len, "server %s", bad);
		return -1;
	}
	if (f->presence && get_time(doc, "at", &f->at_us, why, len) == -1)
		return -1;
	if (f->presence &&
	    sjson_int(doc, "worker", 0, BGB_MAX_WORKER, false, &worker, why,
	        len) == -1)
		return -1;
	f->worker = (int)worker;
	if (get_items(doc, f, why, len) == -1) {
		bgb_free(f);
		return -1;
	}
	return 0;
}

void
bgb_free(struct bgb_file *f)
{
	free(f->events);
	free(f->online);
	f->events = NULL;
	f->online = NULL;
	f->n = 0;
}
