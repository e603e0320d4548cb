/*
 * location.c - the client side of POST mp_url/location: the request from
 * the computer's addresses and [agent] settings, and a strict reading of
 * the "sitesys.location-answer/1" answer into the engine's struct
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/sjson.h"

#define LOCATION_MAX_FILE (4 * 1024 * 1024)

static const char *const kind_names[] = { "server", "cloud", "peer" };

const char *
location_kind_name(enum loc_kind k)
{
	return (unsigned)k <= LOC_K_PEER ? kind_names[k] : "?";
}

void
location_ask_conf(struct location_ask *q, const struct conf *cf)
{
	q->site = conf_str(cf, "agent", "site");
	q->ad_site = conf_str(cf, "agent", "ad_site");
	q->vpn_name = conf_str(cf, "agent", "vpn_name");
	q->vpn_description = conf_str(cf, "agent", "vpn_description");
}

/* Set key to s in obj unless s is NULL or empty. */
static void
location_set(json_t *obj, const char *key, const char *s)
{
	if (s != NULL && *s != '\0')
		sjson_set(obj, key, json_string(s));
}

json_t *
location_request_doc(
    const char *guid, json_t *addresses, const struct location_ask *q)
{
	json_t *doc = json_pack("{s:s,s:s,s:s,s:[]}", "format", LOCATION_FORMAT,
	    "client", guid, "role", loc_role_name(q->role), "addresses");
	json_t *vpn = json_object();
	json_t *v;
	size_t i;

	if (doc == NULL || vpn == NULL)
		abort();
	json_array_foreach(addresses, i, v)
	{
		if (i < LOC_MAX_ADDRS)
			sjson_append(
			    json_object_get(doc, "addresses"), json_incref(v));
	}
	json_decref(addresses);
	location_set(doc, "ad_site", q->ad_site);
	location_set(vpn, "name", q->vpn_name);
	location_set(vpn, "description", q->vpn_description);
	if (json_object_size(vpn) > 0)
		sjson_set(doc, "vpn", vpn);
	else
		json_decref(vpn);
	location_set(doc, "site", q->site);
	location_set(doc, "content", q->content);
	return doc;
}

/* Member key of o: absent or null (NULL), or a string of 1..max bytes. */
static int
location_str_or_null(const json_t *o, const char *key, size_t max,
    const char **out, char *why, size_t whylen)
{
	*out = NULL;
	if (json_is_null(json_object_get(o, key)))
		return 0;
	return sjson_str(o, key, max, false, out, why, whylen);
}

/* Member key of o, a string that must be one of names[0..n); its index. */
static int
location_enum(const json_t *o, const char *key, const char *const *names, int n,
    int *out, char *why, size_t whylen)
{
	const char *s;

	if (sjson_str(o, key, 32, true, &s, why, whylen) == -1)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return *out = i, 0;
	snprintf(why, whylen, "member \"%s\" is \"%s\", not one of", key, s);
	for (int i = 0; i < n; i++)
		snprintf(why + strlen(why), whylen - strlen(why), "%s%s",
		    i ? "|" : " ", names[i]);
	return -1;
}

/* Source o into s; 0 or -1 with why. */
static int
location_source(const json_t *o, struct loc_source *s, char *why, size_t whylen)
{
	static const char *const rel_names[] = { "current", "neighbour",
		"site-default", "site-list" };
	long long minute = 0, link = 0, locality = 0;
	int kind = 0, rel = 0;

	if (!json_is_object(o))
		return snprintf(why, whylen, "it is not an object"), -1;
	if (sjson_str(o, "name", LOC_NAME_MAX, true, &s->name, why, whylen) ==
	        -1 ||
	    location_str_or_null(
	        o, "group", LOC_NAME_MAX, &s->group, why, whylen) == -1 ||
	    location_enum(o, "kind", kind_names, 3, &kind, why, whylen) == -1 ||
	    location_enum(o, "relation", rel_names, 4, &rel, why, whylen) ==
	        -1 ||
	    sjson_int(o, "minute", 0, LOCATION_MAX_MINUTES, true, &minute, why,
	        whylen) == -1 ||
	    sjson_int(o, "link_minutes", 0, LOCATION_MAX_MINUTES, false, &link,
	        why, whylen) == -1 ||
	    sjson_int(o, "locality", 0, 3, false, &locality, why, whylen) ==
	        -1 ||
	    sjson_bool(o, "on_demand", false, &s->on_demand, why, whylen) ==
	        -1 ||
	    sjson_bool(o, "same_subnet", false, &s->same_subnet, why, whylen) ==
	        -1)
		return -1;
	s->kind = (enum loc_kind)kind;
	s->relation = (enum loc_relation)rel;
	s->minute = (int)minute;
	s->link_minutes = (int)link;
	s->locality = (int)locality;
	return 0;
}

/* Array member key of doc: strings each into out[i] (calloc'd). */
static int
location_strings(const json_t *doc, const char *key, bool required,
    const char ***out, size_t *n, char *why, size_t whylen)
{
	json_t *arr, *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (sjson_array(doc, key, LOCATION_MAX_SOURCES, required, &arr, why,
	        whylen) == -1)
		return -1;
	if (json_array_size(arr) == 0)
		return 0;
	if ((*out = calloc(json_array_size(arr), sizeof(**out))) == NULL)
		abort();
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0) {
			snprintf(why, whylen,
			    "%s[%zu] is not a non-empty string", key, i);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		(*out)[(*n)++] = json_string_value(v);
	}
	return 0;
}

/* The "sources" member into la->a.src. */
static int
location_sources(struct location_answer *la, char *why, size_t whylen)
{
	json_t *arr, *v;
	size_t i;
	char err[512];

	if (sjson_array(la->doc, "sources", LOCATION_MAX_SOURCES, true, &arr,
	        why, whylen) == -1)
		return -1;
	if (json_array_size(arr) == 0)
		return 0;
	if ((la->a.src = calloc(json_array_size(arr), sizeof(*la->a.src))) ==
	    NULL)
		abort();
	json_array_foreach(arr, i, v)
	{
		if (location_source(v, &la->a.src[i], err, sizeof(err)) == -1) {
			snprintf(why, whylen, "sources[%zu]: %.400s", i, err);
			return -1;
		}
		la->a.nsrc++;
	}
	return 0;
}

/* Everything but the sources. */
static int
location_head(struct location_answer *la, char *why, size_t whylen)
{
	const char **notes;
	size_t nnotes;

	if (sjson_format(la->doc, LOCATION_ANSWER_FORMAT, why, whylen) == -1 ||
	    location_str_or_null(la->doc, "site", LOC_SITE_MAX, &la->a.site,
	        why, whylen) == -1 ||
	    location_str_or_null(la->doc, "assigned_site", LOC_SITE_MAX,
	        &la->assigned_site, why, whylen) == -1 ||
	    location_str_or_null(la->doc, "role", 16, &la->role, why, whylen) ==
	        -1 ||
	    sjson_bool(la->doc, "in_boundary", true, &la->a.in_boundary, why,
	        whylen) == -1 ||
	    location_strings(la->doc, "current", true, &la->a.current,
	        &la->a.ncurrent, why, whylen) == -1 ||
	    location_strings(
	        la->doc, "notes", false, &notes, &nnotes, why, whylen) == -1)
		return -1;
	/* the engine's notes are its own strings; these are copies */
	if (nnotes > 0 &&
	    (la->a.notes = calloc(nnotes, sizeof(char *))) == NULL)
		abort();
	for (size_t i = 0; i < nnotes; i++)
		if ((la->a.notes[la->a.nnotes++] = strdup(notes[i])) == NULL)
			abort();
	free(notes);
	return 0;
}

int
location_parse(const char *body, size_t len, struct location_answer *la,
    char *why, size_t whylen)
{
	char err[512];

	memset(la, 0, sizeof(*la));
	if ((la->doc = sjson_parse(body, len, err, sizeof(err))) == NULL ||
	    location_head(la, err, sizeof(err)) == -1 ||
	    location_sources(la, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "bad location answer: %s", err);
		location_answer_free(la);
		return -1;
	}
	return 0;
}

int
location_read(
    const char *path, struct location_answer *la, char *why, size_t whylen)
{
	char *text, err[600];
	size_t n;
	int rc;

	memset(la, 0, sizeof(*la));
	if (fsio_read_file(path, LOCATION_MAX_FILE, &text, &n) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = location_parse(text, n, la, err, sizeof(err));
	free(text);
	if (rc == -1)
		snprintf(why, whylen, "%s: %s", path, err);
	return rc;
}

int
location_fetch(const struct http_ops *http, const char *mp_url,
    const json_t *req, struct location_answer *la, char *why, size_t whylen)
{
	struct http_reply r = { 0 };
	size_t n = strlen(mp_url);
	char url[2048], *body;
	int rc = -1;

	memset(la, 0, sizeof(*la));
	if (n == 0)
		return snprintf(why, whylen, "[agent] mp_url is not set"), -1;
	snprintf(url, sizeof(url), "%.*s/location",
	    (int)(n - (mp_url[n - 1] == '/')), mp_url);
	if ((body = json_dumps(req, JSON_COMPACT)) == NULL)
		abort();
	if (http->request(http->ctx, "POST", url, body, strlen(body), &r) == -1)
		snprintf(why, whylen, "%.600s: %.400s", url, r.error);
	else if (r.status != 200)
		http_reply_why(url, &r, why, whylen);
	else
		rc = location_parse(r.body, r.len, la, why, whylen);
	free(body);
	http_reply_free(&r);
	return rc;
}

void
location_answer_free(struct location_answer *la)
{
	for (size_t i = 0; i < la->a.nnotes; i++)
		free(la->a.notes[i]);
	free(la->a.notes);
	free(la->a.current);
	free(la->a.src);
	json_decref(la->doc);
	memset(la, 0, sizeof(*la));
}
