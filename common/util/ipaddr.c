/* ipaddr.c - strict parsing and formatting of addresses, prefixes, ranges */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ipaddr.h"

#define V4_MAPPED_LO 0x0000ffff00000000ULL

struct ipaddr
ipaddr_from_v4(uint32_t v4)
{
	return (struct ipaddr){ 0, V4_MAPPED_LO | v4 };
}

bool
ipaddr_is_v4(const struct ipaddr *a)
{
	return a->hi == 0 && (a->lo >> 32) == 0xffffULL;
}

static uint64_t
load64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
store64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

int
ipaddr_parse(const char *s, struct ipaddr *out, char *why, size_t len)
{
	unsigned char b[16];
	struct in_addr v4;

	if (strlen(s) >= IPADDR_STRLEN) {
		snprintf(
		    why, len, "\"%.20s...\" is too long for an address", s);
		return -1;
	}
	if (inet_pton(AF_INET, s, &v4) == 1) {
		*out = ipaddr_from_v4(ntohl(v4.s_addr));
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		out->hi = load64(b);
		out->lo = load64(b + 8);
		return 0;
	}
	if (*s == '\0')
		snprintf(why, len, "an address is missing");
	else
		snprintf(why, len, "\"%s\" is not an IPv4 or IPv6 address", s);
	return -1;
}

size_t
ipaddr_format(const struct ipaddr *a, char *out, size_t len)
{
	char tmp[IPADDR_STRLEN];

	if (ipaddr_is_v4(a)) {
		uint32_t v = (uint32_t)a->lo;

		snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", v >> 24,
		    v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff);
	} else {
		unsigned char b[16];

		store64(b, a->hi);
		store64(b + 8, a->lo);
		if (inet_ntop(AF_INET6, b, tmp, sizeof(tmp)) == NULL)
			tmp[0] = '\0'; /* cannot happen: tmp is long enough */
	}
	return (size_t)snprintf(out, len, "%s", tmp);
}

struct ipaddr
ipaddr_mask(const struct ipaddr *a, unsigned bits128)
{
	struct ipaddr m = *a;

	if (bits128 == 0)
		m.hi = 0, m.lo = 0;
	else if (bits128 < 64)
		m.hi &= ~0ULL << (64 - bits128), m.lo = 0;
	else if (bits128 == 64)
		m.lo = 0;
	else if (bits128 < 128)
		m.lo &= ~0ULL << (128 - bits128);
	return m;
}

unsigned
ipnet_bits128(const struct ipnet *n)
{
	return ipaddr_is_v4(&n->addr) ? 96 + n->plen : n->plen;
}

struct ipaddr
ipnet_id(const struct ipnet *n)
{
	return ipaddr_mask(&n->addr, ipnet_bits128(n));
}

bool
ipnet_contains(const struct ipnet *n, const struct ipaddr *a)
{
	struct ipaddr id = ipnet_id(n), am;

	if (ipaddr_is_v4(&n->addr) != ipaddr_is_v4(a))
		return false;
	am = ipaddr_mask(a, ipnet_bits128(n));
	return ipaddr_eq(&id, &am);
}

/* parse_plen - a decimal prefix length of at most max, digits only */
static int
parse_plen(const char *p, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (*p == '\0' || strlen(p) > 3)
		return -1;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
ipnet_parse(const char *s, enum ipnet_mode mode, struct ipnet *out, char *why,
    size_t len)
{
	char addr[IPADDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : 0;
	unsigned max;

	if (slash == NULL) {
		snprintf(
		    why, len, "\"%s\" needs a prefix length: ADDR/PREFIX", s);
		return -1;
	}
	if (alen >= sizeof(addr)) {
		snprintf(
		    why, len, "\"%.20s...\" is too long for an address", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (ipaddr_parse(addr, &out->addr, why, len) == -1)
		return -1;
	max = ipaddr_is_v4(&out->addr) ? 32 : 128;
	if (parse_plen(slash + 1, max, &out->plen) == -1) {
		snprintf(why, len,
		    "\"%s\": the prefix length must be a number from 0 to %u",
		    s, max);
		return -1;
	}
	if (mode == IPNET_SUBNET_ID) {
		struct ipaddr net = ipnet_id(out);

		if (!ipaddr_eq(&net, &out->addr)) {
			char id[IPADDR_STRLEN];

			ipaddr_format(&net, id, sizeof(id));
			snprintf(why, len,
			    "\"%s\" has host bits set: the subnet ID is "
			    "%s/%u",
			    s, id, out->plen);
			return -1;
		}
	}
	return 0;
}

size_t
ipnet_format(const struct ipnet *n, char *out, size_t len)
{
	char a[IPADDR_STRLEN];

	ipaddr_format(&n->addr, a, sizeof(a));
	return (size_t)snprintf(out, len, "%s/%u", a, n->plen);
}

int
iprange_parse(const char *s, struct iprange *out, char *why, size_t len)
{
	char a[IPADDR_STRLEN];
	const char *dash = strchr(s, '-');
	size_t alen = dash != NULL ? (size_t)(dash - s) : 0;

	if (dash == NULL) {
		snprintf(why, len, "\"%s\" is not a range: START-END", s);
		return -1;
	}
	if (alen >= sizeof(a)) {
		snprintf(
		    why, len, "\"%.20s...\" is too long for an address", s);
		return -1;
	}
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (ipaddr_parse(a, &out->start, why, len) == -1 ||
	    ipaddr_parse(dash + 1, &out->end, why, len) == -1)
		return -1;
	if (!ipaddr_is_v4(&out->start) || !ipaddr_is_v4(&out->end)) {
		snprintf(why, len,
		    "\"%s\": a range is of IPv4 addresses; for IPv6 use a "
		    "prefix",
		    s);
		return -1;
	}
	if (ipaddr_cmp(&out->start, &out->end) > 0) {
		snprintf(why, len, "\"%s\": the start is after the end", s);
		return -1;
	}
	return 0;
}

bool
iprange_contains(const struct iprange *r, const struct ipaddr *a)
{
	return ipaddr_cmp(&r->start, a) <= 0 && ipaddr_cmp(a, &r->end) <= 0;
}

size_t
iprange_format(const struct iprange *r, char *out, size_t len)
{
	char a[IPADDR_STRLEN], b[IPADDR_STRLEN];

	ipaddr_format(&r->start, a, sizeof(a));
	ipaddr_format(&r->end, b, sizeof(b));
	return (size_t)snprintf(out, len, "%s-%s", a, b);
}
