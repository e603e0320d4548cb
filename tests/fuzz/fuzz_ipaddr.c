/*
 * fuzz_ipaddr.c - IP addresses, prefixes and IPv4 ranges as boundaries,
 * location requests and sitectl take them (common/util/ipaddr.c):
 * ipaddr_parse, ipnet_parse in both modes and iprange_parse; what each
 * accepts is written back (ipaddr_format and friends) and must parse
 * again to the same value
 */
#include "fuzz.h"
#include "util/ipaddr.h"

static void
addr(const char *s)
{
	char why[256] = "", text[IPADDR_STRLEN];
	struct ipaddr a, b;

	if (ipaddr_parse(s, &a, why, sizeof(why)) == -1) {
		FUZZ_ASSERT(fuzz_why_ok(why));
		return;
	}
	FUZZ_ASSERT(ipaddr_format(&a, text, sizeof(text)) < sizeof(text));
	FUZZ_ASSERT(ipaddr_parse(text, &b, why, sizeof(why)) == 0);
	FUZZ_ASSERT(ipaddr_eq(&a, &b));
}

static void
net(const char *s, enum ipnet_mode mode)
{
	char why[256] = "", text[IPNET_STRLEN];
	struct ipnet n, m;
	struct ipaddr id;

	if (ipnet_parse(s, mode, &n, why, sizeof(why)) == -1) {
		FUZZ_ASSERT(fuzz_why_ok(why));
		return;
	}
	FUZZ_ASSERT(n.plen <= (ipaddr_is_v4(&n.addr) ? 32u : 128u));
	FUZZ_ASSERT(ipnet_bits128(&n) <= 128);
	id = ipnet_id(&n);
	FUZZ_ASSERT(ipnet_contains(&n, &id));
	FUZZ_ASSERT(ipnet_contains(&n, &n.addr));
	FUZZ_ASSERT(ipnet_format(&n, text, sizeof(text)) < sizeof(text));
	FUZZ_ASSERT(ipnet_parse(text, mode, &m, why, sizeof(why)) == 0);
	FUZZ_ASSERT(ipaddr_eq(&n.addr, &m.addr) && n.plen == m.plen);
}

static void
range(const char *s)
{
	char why[256] = "", text[IPRANGE_STRLEN];
	struct iprange r, q;

	if (iprange_parse(s, &r, why, sizeof(why)) == -1) {
		FUZZ_ASSERT(fuzz_why_ok(why));
		return;
	}
	FUZZ_ASSERT(ipaddr_cmp(&r.start, &r.end) <= 0);
	FUZZ_ASSERT(iprange_contains(&r, &r.start));
	FUZZ_ASSERT(iprange_contains(&r, &r.end));
	FUZZ_ASSERT(iprange_format(&r, text, sizeof(text)) < sizeof(text));
	FUZZ_ASSERT(iprange_parse(text, &q, why, sizeof(why)) == 0);
	FUZZ_ASSERT(ipaddr_eq(&r.start, &q.start) && ipaddr_eq(&r.end, &q.end));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);

	addr(s);
	net(s, IPNET_SUBNET_ID);
	net(s, IPNET_HOST);
	range(s);
	free(s);
	return 0;
}
