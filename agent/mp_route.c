/*
 * mp_route.c - which management point the agent's requests go to. With
 * [agent] mp_url_template set: the template with the name of the current
 * management point of the walker (fallback_mp.c), over the list of the
 * last location answer for role mp, asked again at every refresh; each
 * failed request (no answer, HTTP 5xx) is an error of that management
 * point. Without it: [agent] mp_url, as always.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/log.h"

/* The wall clock in seconds, the walkers' clock. */
static int64_t
mp_route_now(void)
{
	return clock_now_us() / 1000000;
}

int
mp_route_url(const char *tmpl, const char *name, char *out, size_t len)
{
	const char *at = strstr(tmpl, "%s");
	int n;

	for (const char *p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-_:", *p) == NULL)
			return -1;
	if (at == NULL || *name == '\0')
		return -1;
	n = snprintf(
	    out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The request of r->inner, counting a failure to r->url as an error. */
static int
mp_route_request(void *ctx, const char *method, const char *url,
    const char *body, size_t len, struct http_reply *reply)
{
	struct mp_route *r = ctx;
	int rc =
	    r->inner->request(r->inner->ctx, method, url, body, len, reply);

	if (strncmp(url, r->url, strlen(r->url)) == 0 &&
	    (rc == -1 || reply->status >= 500))
		r->failures++;
	return rc;
}

/* Point r at base url for the MP name ("" : the fixed mp_url). */
static void
mp_route_set(
    struct mp_route *r, struct agent *ag, const char *name, const char *url)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->url, sizeof(r->url), "%s", url);
	r->inner = &ag->http;
	r->http.request = mp_route_request;
	r->http.ctx = r;
}

/*
 * The walker's current management point at now from the state (saved,
 * since the walker may have refreshed); into name, "" when the list is
 * empty. Whether the list is due to be asked again.
 */
static bool
mp_route_current(struct agent *ag, char *name, size_t len, int64_t now)
{
	struct loc_source src[FB_MP_LIST_MAX];
	const struct loc_source *s = NULL;
	struct fb_state fs;
	struct fb_list l = { 0 };
	char why[1024];
	bool due;

	*name = '\0';
	if (store_lock(&ag->st) == -1)
		return false;
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s; starting over", why);
	if (fb_state_mp_list(&fs, src, &l) == 0 &&
	    (s = fb_mp_source(&fs.mp, &l, now)) != NULL)
		snprintf(name, len, "%s", s->name);
	if (fb_state_save(ag->st.dir, &fs) == -1)
		log_error("could not write the fallback state: %m");
	due = fs.mps_at == 0 || now - fs.mps_at >= FB_MP_REFRESH_SECONDS;
	store_unlock(&ag->st);
	fb_list_free(&l);
	return due;
}

/* r for the management point name, else the bootstrap mp_url. */
static void
mp_route_to(struct agent *ag, struct mp_route *r, const char *name)
{
	const char *tmpl = conf_str(ag->cf, "agent", "mp_url_template");
	char url[MP_ROUTE_URL_MAX];

	if (*name != '\0' && mp_route_url(tmpl, name, url, sizeof(url)) == 0) {
		mp_route_set(r, ag, name, url);
		return;
	}
	if (*name != '\0')
		log_warn("management point \"%s\" makes no URL of [agent] "
		         "mp_url_template; using [agent] mp_url",
		    name);
	mp_route_set(r, ag, "", conf_str(ag->cf, "agent", "mp_url"));
}

void
mp_route_begin(struct agent *ag, struct mp_route *r)
{
	char name[LOC_NAME_MAX + 1];

	if (*conf_str(ag->cf, "agent", "mp_url_template") == '\0') {
		mp_route_set(r, ag, "", conf_str(ag->cf, "agent", "mp_url"));
		return;
	}
	if (mp_route_current(ag, name, sizeof(name), mp_route_now()) &&
	    mp_route_refresh(ag) == 0)
		mp_route_current(ag, name, sizeof(name), mp_route_now());
	mp_route_to(ag, r, name);
}

/* One error of r's management point, if it is still the current one. */
static void
mp_route_error(struct fb_state *fs, const struct fb_list *l,
    const struct mp_route *r, int64_t now)
{
	char was[LOC_NAME_MAX + 1];

	if (strcmp(fs->mp.current, r->name) != 0)
		return;
	snprintf(was, sizeof(was), "%s", fs->mp.current);
	if (fb_mp_error(&fs->mp, l, now))
		log_warn("management point %s unreachable %d times in %d "
		         "minutes; using %s",
		    was, FB_MP_ERRORS, FB_MP_WINDOW_SECONDS / 60,
		    fs->mp.current);
}

void
mp_route_end(struct agent *ag, struct mp_route *r)
{
	struct loc_source src[FB_MP_LIST_MAX];
	struct fb_state fs;
	struct fb_list l = { 0 };
	char why[1024];
	int64_t now = mp_route_now();

	if (r->name[0] == '\0' || r->failures == 0 || store_lock(&ag->st) == -1)
		return;
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s; starting over", why);
	if (fb_state_mp_list(&fs, src, &l) == 0) {
		for (int i = 0; i < r->failures; i++)
			mp_route_error(&fs, &l, r, now);
		if (fb_state_save(ag->st.dir, &fs) == -1)
			log_error("could not write the fallback state: %m");
	}
	fb_list_free(&l);
	store_unlock(&ag->st);
	r->failures = 0;
}

/* Ask r for role mp; 0 with the answer in la, or -1 logged. */
static int
mp_route_ask(struct agent *ag, struct mp_route *r, const char *site,
    struct location_answer *la)
{
	struct location_ask q = { .role = LOC_MP };
	char why[1024];
	json_t *req;
	int rc;

	location_ask_conf(&q, ag->cf);
	if (q.site[0] == '\0')
		q.site = site;
	req = location_request_doc(ag->st.guid, netaddr_list(), &q);
	rc = location_fetch(&r->http, r->url, req, la, why, sizeof(why));
	json_decref(req);
	mp_route_end(ag, r);
	if (rc == -1)
		log_error("could not ask %s for the management points: %s",
		    r->name[0] ? r->name : "[agent] mp_url", why);
	return rc;
}

/* Keep la's management points as the list of now; 0 or -1 logged. */
static int
mp_route_keep(struct agent *ag, const struct location_answer *la)
{
	struct fb_state fs;
	struct fb_list l;
	char why[1024];

	if (fb_list_by_locality(&la->a, &l) == -1 ||
	    store_lock(&ag->st) == -1) {
		fb_list_free(&l);
		return -1;
	}
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s; starting over", why);
	fb_state_set_mps(&fs, &l, mp_route_now());
	if (fs.site[0] == '\0' && la->assigned_site != NULL)
		snprintf(fs.site, sizeof(fs.site), "%s", la->assigned_site);
	if (fb_state_save(ag->st.dir, &fs) == -1)
		log_error("could not write the fallback state: %m");
	store_unlock(&ag->st);
	for (size_t i = 0; i < l.n; i++)
		log_info("management point %zu of %zu: %s, locality %d", i + 1,
		    l.n, l.v[i]->name, l.v[i]->locality);
	fb_list_free(&l);
	return 0;
}

int
mp_route_refresh(struct agent *ag)
{
	struct location_answer la;
	struct mp_route r;
	struct fb_state fs;
	char name[LOC_NAME_MAX + 1], why[1024];
	int rc = -1;

	if (*conf_str(ag->cf, "agent", "mp_url_template") == '\0')
		return 0;
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		fs.site[0] = '\0';
	mp_route_current(ag, name, sizeof(name), mp_route_now());
	if (*name != '\0') {
		mp_route_to(ag, &r, name);
		rc = mp_route_ask(ag, &r, fs.site, &la);
	}
	if (rc == -1 && *conf_str(ag->cf, "agent", "mp_url") != '\0') {
		mp_route_to(ag, &r, "");
		rc = mp_route_ask(ag, &r, fs.site, &la);
	}
	if (rc == -1)
		return -1;
	rc = mp_route_keep(ag, &la);
	location_answer_free(&la);
	return rc;
}

bool
mp_route_show(struct agent *ag, struct fb_mp *mp, size_t *errors)
{
	struct loc_source src[FB_MP_LIST_MAX];
	struct fb_state fs;
	struct fb_list l = { 0 };
	char why[1024];
	int64_t now = mp_route_now();

	memset(mp, 0, sizeof(*mp));
	*errors = 0;
	if (*conf_str(ag->cf, "agent", "mp_url_template") == '\0')
		return false;
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == -1)
		log_warn("%s", why);
	if (fb_state_mp_list(&fs, src, &l) == 0)
		fb_mp_source(&fs.mp, &l, now);
	fb_list_free(&l);
	*mp = fs.mp;
	for (size_t i = 0; i < fs.mp.nerrors; i++)
		if (now - fs.mp.errors[i] <= FB_MP_WINDOW_SECONDS)
			(*errors)++;
	return true;
}

int
mp_route_send(struct agent *ag)
{
	struct mp_route r;
	int rc;

	mp_route_begin(ag, &r);
	rc = send_outbox(&ag->st, &r.http, r.url, &ag->http_fsp,
	    conf_str(ag->cf, "agent", "fsp_url"));
	mp_route_end(ag, &r);
	return rc;
}

int
mp_route_register(struct agent *ag)
{
	struct mp_route r;
	int rc;

	mp_route_begin(ag, &r);
	rc = policy_register(&ag->st, &r.http, r.url, ag->name);
	mp_route_end(ag, &r);
	return rc;
}

int
mp_route_poll(struct agent *ag, struct policy *p)
{
	struct mp_route r;
	int rc;

	mp_route_begin(ag, &r);
	rc = policy_poll(&ag->st, &r.http, r.url, ag->name, p);
	mp_route_end(ag, &r);
	return rc;
}
