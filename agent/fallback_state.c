/*
 * fallback_state.c - what the walkers must remember across restarts, in
 * the state directory's fallback.json ("sitesys.agent-fallback/1"): the
 * assigned site, when content fallback started, the last known-good
 * software update point and since when it fails, the current management
 * point and its recent errors, and the management points of the last
 * answer for role mp. Members left out are "none".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/fsio.h"
#include "util/sjson.h"

#define FB_STATE_MAX (64 * 1024)
#define FB_TIME_MAX (1LL << 62)

/* Copy optional string member key of obj into out; 0 or -1 with why. */
static int
fb_get_str(const json_t *obj, const char *key, char *out, size_t size,
    char *why, size_t len)
{
	const char *s;

	if (sjson_str(obj, key, size - 1, false, &s, why, len) == -1)
		return -1;
	snprintf(out, size, "%s", s != NULL ? s : "");
	return 0;
}

/* Optional time member key of obj into *out (0 when absent). */
static int
fb_get_time(
    const json_t *obj, const char *key, int64_t *out, char *why, size_t len)
{
	long long v = 0;

	if (sjson_int(obj, key, 0, FB_TIME_MAX, false, &v, why, len) == -1)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* The "sup" object. */
static int
fb_load_sup(const json_t *o, struct fb_sup *w, char *why, size_t len)
{
	long long cur = 0;

	if (o == NULL)
		return 0;
	if (fb_get_str(o, "known_good", w->known_good, sizeof(w->known_good),
	        why, len) == -1 ||
	    fb_get_time(o, "good_at", &w->good_at, why, len) == -1 ||
	    fb_get_time(o, "failing_since", &w->failing_since, why, len) ==
	        -1 ||
	    sjson_int(o, "cur", 0, INT_MAX, false, &cur, why, len) == -1)
		return -1;
	w->failing = json_object_get(o, "failing_since") != NULL;
	w->cur = (size_t)cur;
	return 0;
}

/* The "mp" object. */
static int
fb_load_mp(const json_t *o, struct fb_mp *w, char *why, size_t len)
{
	json_t *errs, *e;
	size_t i;

	if (o == NULL)
		return 0;
	if (fb_get_str(
	        o, "current", w->current, sizeof(w->current), why, len) == -1 ||
	    fb_get_time(o, "refreshed", &w->refreshed, why, len) == -1 ||
	    sjson_array(o, "errors", FB_MP_ERRORS, false, &errs, why, len) ==
	        -1)
		return -1;
	json_array_foreach(errs, i, e)
	{
		if (!json_is_integer(e) || json_integer_value(e) < 0) {
			snprintf(why, len,
			    "member \"errors\" holds something other than "
			    "times");
			return -1;
		}
		w->errors[w->nerrors++] = (int64_t)json_integer_value(e);
	}
	return 0;
}

/* The "list" of the "mp" object: [{"name": FQDN, "locality": 0..3}]. */
static int
fb_load_mps(const json_t *o, struct fb_state *s, char *why, size_t len)
{
	json_t *list, *e;
	size_t i;

	if (o == NULL)
		return 0;
	if (sjson_array(o, "list", FB_MP_LIST_MAX, false, &list, why, len) ==
	        -1 ||
	    fb_get_time(o, "listed", &s->mps_at, why, len) == -1)
		return -1;
	json_array_foreach(list, i, e)
	{
		struct fb_mp_known *k = &s->mps[s->nmps];
		long long loc = 0;

		if (!json_is_object(e)) {
			snprintf(
			    why, len, "member \"list\" holds a non-object");
			return -1;
		}
		if (fb_get_str(e, "name", k->name, sizeof(k->name), why, len) ==
		        -1 ||
		    sjson_int(e, "locality", 0, 3, true, &loc, why, len) == -1)
			return -1;
		if (k->name[0] == '\0') {
			snprintf(why, len, "member \"list\" holds no name");
			return -1;
		}
		k->locality = (int)loc;
		s->nmps++;
	}
	return 0;
}

/* Check doc and fill s from it; 0 or -1 with why. */
static int
fb_state_parse(const json_t *doc, struct fb_state *s, char *why, size_t len)
{
	const json_t *sup = json_object_get(doc, "sup");
	const json_t *mp = json_object_get(doc, "mp");

	if (sjson_format(doc, FB_STATE_FORMAT, why, len) == -1 ||
	    fb_get_str(doc, "site", s->site, sizeof(s->site), why, len) == -1 ||
	    fb_get_time(doc, "dp_started", &s->dp_started, why, len) == -1)
		return -1;
	if ((sup != NULL && !json_is_object(sup)) ||
	    (mp != NULL && !json_is_object(mp))) {
		snprintf(why, len, "member \"sup\" or \"mp\" is not an object");
		return -1;
	}
	return fb_load_sup(sup, &s->sup, why, len) == -1 ||
	        fb_load_mp(mp, &s->mp, why, len) == -1 ||
	        fb_load_mps(mp, s, why, len) == -1
	    ? -1
	    : 0;
}

int
fb_state_load(const char *dir, struct fb_state *s, char *why, size_t len)
{
	char path[PATH_MAX], err[256], *text;
	size_t n;
	json_t *doc;
	int rc;

	memset(s, 0, sizeof(*s));
	if (fsio_join(path, sizeof(path), dir, FB_STATE_FILE) == -1 ||
	    fsio_read_file(path, FB_STATE_MAX, &text, &n) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(
		    why, len, "%s/%s: %s", dir, FB_STATE_FILE, strerror(errno));
		return -1;
	}
	doc = sjson_parse(text, n, err, sizeof(err));
	free(text);
	rc = doc != NULL ? fb_state_parse(doc, s, err, sizeof(err)) : -1;
	json_decref(doc);
	if (rc == -1) {
		snprintf(why, len, "%s: %s", path, err);
		memset(s, 0, sizeof(*s));
	}
	return rc;
}

/* The document of s; members that say "none" are left out. */
static json_t *
fb_state_doc(const struct fb_state *s)
{
	json_t *doc = json_pack("{s:s}", "format", FB_STATE_FORMAT);
	json_t *sup = json_pack("{s:I}", "cur", (json_int_t)s->sup.cur);
	json_t *mp = json_pack(
	    "{s:I,s:[]}", "refreshed", (json_int_t)s->mp.refreshed, "errors");

	if (doc == NULL || sup == NULL || mp == NULL)
		abort();
	if (s->site[0] != '\0')
		sjson_set(doc, "site", json_string(s->site));
	if (s->dp_started > 0)
		sjson_set(doc, "dp_started", json_integer(s->dp_started));
	if (s->sup.known_good[0] != '\0') {
		sjson_set(sup, "known_good", json_string(s->sup.known_good));
		sjson_set(sup, "good_at", json_integer(s->sup.good_at));
	}
	if (s->sup.failing)
		sjson_set(
		    sup, "failing_since", json_integer(s->sup.failing_since));
	if (s->mp.current[0] != '\0')
		sjson_set(mp, "current", json_string(s->mp.current));
	for (size_t i = 0; i < s->mp.nerrors && i < FB_MP_ERRORS; i++)
		sjson_append(json_object_get(mp, "errors"),
		    json_integer(s->mp.errors[i]));
	if (s->mps_at > 0) {
		json_t *list = json_array();

		for (size_t i = 0; i < s->nmps && i < FB_MP_LIST_MAX; i++)
			sjson_append(list,
			    json_pack("{s:s,s:i}", "name", s->mps[i].name,
			        "locality", s->mps[i].locality));
		sjson_set(mp, "list", list);
		sjson_set(mp, "listed", json_integer(s->mps_at));
	}
	sjson_set(doc, "sup", sup);
	sjson_set(doc, "mp", mp);
	return doc;
}

int
fb_state_save(const char *dir, const struct fb_state *s)
{
	char path[PATH_MAX], tmp[PATH_MAX], *text;
	json_t *doc = fb_state_doc(s);
	int rc;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		abort();
	json_decref(doc);
	rc = store_paths(dir, FB_STATE_FILE, path, tmp);
	if (rc == 0)
		rc = fsio_replace(path, tmp, text, strlen(text), 0600);
	free(text);
	return rc;
}

void
fb_state_restart(struct fb_state *s, int64_t now)
{
	fb_mp_refresh(&s->mp, now);
}

int
fb_state_mp_list(
    const struct fb_state *s, struct loc_source *src, struct fb_list *l)
{
	struct loc_answer a = { .src = src, .nsrc = s->nmps };

	memset(src, 0, FB_MP_LIST_MAX * sizeof(*src));
	for (size_t i = 0; i < s->nmps && i < FB_MP_LIST_MAX; i++) {
		src[i].name = s->mps[i].name;
		src[i].locality = s->mps[i].locality;
	}
	return fb_list_by_locality(&a, l);
}

void
fb_state_set_mps(struct fb_state *s, const struct fb_list *l, int64_t now)
{
	s->nmps = 0;
	for (size_t i = 0; i < l->n && s->nmps < FB_MP_LIST_MAX; i++) {
		struct fb_mp_known *k = &s->mps[s->nmps++];

		snprintf(k->name, sizeof(k->name), "%s", l->v[i]->name);
		k->locality = l->v[i]->locality;
	}
	s->mps_at = now;
}
