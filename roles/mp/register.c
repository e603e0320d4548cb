/* register.c - POST /mp/v1/register: a client says who and where it is */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "statemsg.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/fcgi_server.h"
#include "util/log.h"
#include "util/sjson.h"

#define REGISTER_FORMAT "sitesys.register/1"
#define MAX_BODY 65536
#define MAX_ADDRESSES 64

/* "192.0.2.5/24" or "2001:db8::5/64": 0, or -1 with the reason. */
static int
check_address(const char *s, char *why, size_t len)
{
	char ip[64];
	unsigned char raw[16];
	const char *slash = strchr(s, '/');
	char *end;
	long prefix;
	int v6;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		goto bad;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	v6 = strchr(ip, ':') != NULL;
	prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, raw) != 1 ||
	    slash[1] == '\0' || *end != '\0' || prefix < 0 ||
	    prefix > (v6 ? 128 : 32))
		goto bad;
	return 0;
bad:
	snprintf(why, len,
	    "\"%s\" is not an address with its prefix length, "
	    "e.g. 192.0.2.5/24",
	    s);
	return -1;
}

/* The addresses as a text[] literal; 0, or -1 with the reason. */
static int
addresses_array(json_t *doc, struct buf *out, char *why, size_t len)
{
	const char *vals[MAX_ADDRESSES];
	json_t *arr, *a;
	size_t i;

	if (sjson_array(
	        doc, "addresses", MAX_ADDRESSES, false, &arr, why, len) == -1)
		return -1;
	json_array_foreach(arr, i, a)
	{
		if (!json_is_string(a)) {
			snprintf(why, len, "addresses[%zu] is not a string", i);
			return -1;
		}
		if (check_address(json_string_value(a), why, len) == -1)
			return -1;
		vals[i] = json_string_value(a);
	}
	db_text_array(out, vals, arr ? json_array_size(arr) : 0);
	return 0;
}

static int
register_store(struct fcgi_req *req, struct mp *mp, const char *client,
    const char *name, const char *addrs)
{
	const char *params[3] = { client, name, addrs };
	PGconn *db = mp_db(mp);

	if (db == NULL)
		return fcgi_error(req, 503, "the site database is unreachable");
	if (db_cmd(db,
	        "INSERT INTO client (guid, name, addresses) "
	        "VALUES ($1, $2, $3::text[]) ON CONFLICT (guid) DO UPDATE SET "
	        "name = EXCLUDED.name, addresses = EXCLUDED.addresses, "
	        "last_seen = now()",
	        3, params) == -1) {
		log_error("could not register %s: %s", client, db_error());
		mp_db_failed();
		return fcgi_error(
		    req, 503, "could not record the registration");
	}
	log_info("registered %s (%s)", client, name);
	json_t *ans = json_pack(
	    "{s:s, s:s}", "format", "sitesys.registered/1", "client", client);
	int rc = fcgi_reply_json(req, 200, ans);
	json_decref(ans);
	return rc;
}

int
mp_register(struct fcgi_req *req, void *arg)
{
	struct mp *mp = arg;
	char *body, why[512];
	const char *client, *name;
	struct buf addrs = { 0 };
	json_t *doc;
	size_t len;
	int rc;

	if (fcgi_read_body(req, MAX_BODY, &body, &len) == -1)
		return 0;
	doc = sjson_parse(body, len, why, sizeof(why));
	free(body);
	if (doc == NULL ||
	    sjson_format(doc, REGISTER_FORMAT, why, sizeof(why)) == -1 ||
	    sjson_str(doc, "client", STATEMSG_GUID_LEN, true, &client, why,
	        sizeof(why)) == -1 ||
	    sjson_str(doc, "name", 255, true, &name, why, sizeof(why)) == -1 ||
	    addresses_array(doc, &addrs, why, sizeof(why)) == -1) {
		json_decref(doc);
		buf_free(&addrs);
		return fcgi_error(req, 400, "%s", why);
	}
	if (!statemsg_valid_guid(client))
		rc = fcgi_error(req, 400,
		    "member \"client\" is not \"GUID:\" and a UUID: \"%s\"",
		    client);
	else {
		char low[STATEMSG_GUID_LEN + 1];

		statemsg_guid_lower(client, low);
		rc = register_store(req, mp, low, name, addrs.p);
	}
	json_decref(doc);
	buf_free(&addrs);
	return rc;
}
