/*
 * register_doc.c - the body of POST /mp/v1/register, sitesys.register/1,
 * checked member by member apart from FastCGI, so that a fuzz target
 * (tests/fuzz/fuzz_register.c) reaches it
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "statemsg.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/sjson.h"
#include "util/text.h"

#define REGISTER_FORMAT "sitesys.register/1"
#define MAX_ADDRESSES 64
#define MAX_NAME 255 /* bytes of a registration name */

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

int
mp_register_parse(const char *body, size_t len, struct mp_register_doc *r,
    char *why, size_t whylen)
{
	const char *bad;

	memset(r, 0, sizeof(*r));
	r->doc = sjson_parse(body, len, why, whylen);
	if (r->doc == NULL ||
	    sjson_format(r->doc, REGISTER_FORMAT, why, whylen) == -1 ||
	    sjson_str(r->doc, "client", STATEMSG_GUID_LEN, true, &r->client,
	        why, whylen) == -1 ||
	    sjson_str(r->doc, "name", MAX_NAME, true, &r->name, why, whylen) ==
	        -1 ||
	    addresses_array(r->doc, &r->addrs, why, whylen) == -1)
		goto fail;
	if (!statemsg_valid_guid(r->client)) {
		snprintf(why, whylen,
		    "member \"client\" is not \"GUID:\" and a UUID: \"%s\"",
		    r->client);
		goto fail;
	}
	if ((bad = text_name_check(r->name, MAX_NAME)) != NULL) {
		/* the name is kept and shown to the administrator */
		snprintf(why, whylen, "member \"name\" %s", bad);
		goto fail;
	}
	return 0;
fail:
	mp_register_doc_free(r);
	return -1;
}

void
mp_register_doc_free(struct mp_register_doc *r)
{
	json_decref(r->doc);
	buf_free(&r->addrs);
	memset(r, 0, sizeof(*r));
}
