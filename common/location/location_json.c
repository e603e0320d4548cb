/*
 * location_json.c - sitesys.location/1 requests and
 * sitesys.location-answer/1 answers, checked as strictly as state messages
 */
#include <stdio.h>
#include <string.h>

#include "location_json.h"
#include "util/sjson.h"

static const char *const kind_names[] = {
	[LOC_K_SERVER] = "server",
	[LOC_K_CLOUD] = "cloud",
	[LOC_K_PEER] = "peer",
};

/* "addresses": ["ADDR/PREFIX", ...], each an interface's address. */
static int
parse_addresses(
    const json_t *doc, struct loc_request *req, char *why, size_t len)
{
	json_t *arr, *a;
	size_t i;
	char perr[256];

	if (sjson_array(
	        doc, "addresses", LOC_MAX_ADDRS, false, &arr, why, len) == -1)
		return -1;
	json_array_foreach(arr, i, a)
	{
		if (!json_is_string(a)) {
			snprintf(why, len, "addresses[%zu] is not a string", i);
			return -1;
		}
		if (ipnet_parse(json_string_value(a), IPNET_HOST,
		        &req->addrs[i], perr, sizeof(perr)) == -1) {
			snprintf(why, len, "addresses[%zu]: %s", i, perr);
			return -1;
		}
		req->naddrs++;
	}
	return 0;
}

/* "vpn": {"name": ..., "description": ...}, both optional. */
static int
parse_vpn(const json_t *doc, struct loc_request *req, char *why, size_t len)
{
	const json_t *vpn = json_object_get(doc, "vpn");

	if (vpn == NULL || json_is_null(vpn))
		return 0;
	if (!json_is_object(vpn)) {
		snprintf(why, len, "member \"vpn\" is not an object");
		return -1;
	}
	if (sjson_str(vpn, "name", LOC_NAME_MAX, false, &req->vpn_name, why,
	        len) == -1 ||
	    sjson_str(vpn, "description", LOC_NAME_MAX, false,
	        &req->vpn_description, why, len) == -1)
		return -1;
	return 0;
}

/* "role", "mode": names from fixed lists. */
static int
parse_role_mode(
    const json_t *doc, struct loc_request *req, char *why, size_t len)
{
	const char *role, *mode;

	if (sjson_str(doc, "role", 16, true, &role, why, len) == -1 ||
	    sjson_str(doc, "mode", 32, false, &mode, why, len) == -1)
		return -1;
	if (loc_role_parse(role, &req->role) == -1) {
		snprintf(why, len,
		    "member \"role\" is \"%s\", not one of dp, clouddp, sup, "
		    "smp, mp, cmg",
		    role);
		return -1;
	}
	if (mode != NULL && loc_mode_parse(mode, &req->mode) == -1) {
		snprintf(why, len,
		    "member \"mode\" is \"%s\", not one of normal, "
		    "client-install, task-sequence",
		    mode);
		return -1;
	}
	return 0;
}

int
loc_request_parse(const json_t *doc, struct loc_request *req,
    const char **client, char *why, size_t len)
{
	memset(req, 0, sizeof(*req));
	if (sjson_format(doc, LOC_REQUEST_FORMAT, why, len) == -1 ||
	    sjson_str(doc, "client", 64, true, client, why, len) == -1 ||
	    parse_addresses(doc, req, why, len) == -1 ||
	    sjson_str(doc, "ad_site", LOC_NAME_MAX, false, &req->ad_site, why,
	        len) == -1 ||
	    parse_vpn(doc, req, why, len) == -1 ||
	    sjson_str(doc, "site", LOC_SITE_MAX, false, &req->site, why, len) ==
	        -1 ||
	    parse_role_mode(doc, req, why, len) == -1 ||
	    sjson_str(doc, "content", LOC_NAME_MAX, false, &req->content, why,
	        len) == -1 ||
	    sjson_bool(doc, "ts_use_remote", false, &req->ts_use_remote, why,
	        len) == -1 ||
	    sjson_bool(doc, "ts_use_default", false, &req->ts_use_default, why,
	        len) == -1 ||
	    sjson_bool(doc, "explain", false, &req->explain, why, len) == -1)
		return -1;
	return 0;
}

/* Set key to s, or to null when s is NULL. */
static void
set_str(json_t *obj, const char *key, const char *s)
{
	json_object_set_new(obj, key, s ? json_string(s) : json_null());
}

static json_t *
source_json(const struct loc_source *s)
{
	json_t *o = json_object();

	set_str(o, "name", s->name);
	set_str(o, "group", s->group);
	set_str(o, "kind", kind_names[s->kind]);
	set_str(o, "relation", loc_relation_name(s->relation));
	json_object_set_new(o, "minute", json_integer(s->minute));
	json_object_set_new(o, "link_minutes", json_integer(s->link_minutes));
	json_object_set_new(o, "locality", json_integer(s->locality));
	json_object_set_new(o, "on_demand", json_boolean(s->on_demand));
	json_object_set_new(o, "same_subnet", json_boolean(s->same_subnet));
	return o;
}

json_t *
loc_answer_json(
    const struct loc_answer *ans, enum loc_role role, const char *assigned_site)
{
	json_t *doc = json_object(), *cur = json_array(), *src = json_array();

	json_object_set_new(doc, "format", json_string(LOC_ANSWER_FORMAT));
	set_str(doc, "role", loc_role_name(role));
	set_str(doc, "site", ans->site);
	set_str(doc, "assigned_site", assigned_site);
	json_object_set_new(doc, "in_boundary", json_boolean(ans->in_boundary));
	for (size_t i = 0; i < ans->ncurrent; i++)
		json_array_append_new(cur, json_string(ans->current[i]));
	json_object_set_new(doc, "current", cur);
	for (size_t i = 0; i < ans->nsrc; i++)
		json_array_append_new(src, source_json(&ans->src[i]));
	json_object_set_new(doc, "sources", src);
	if (ans->nnotes > 0) {
		json_t *notes = json_array();

		for (size_t i = 0; i < ans->nnotes; i++)
			json_array_append_new(
			    notes, json_string(ans->notes[i]));
		json_object_set_new(doc, "notes", notes);
	}
	return doc;
}
