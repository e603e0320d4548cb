/*
 * ipaddr.h - IPv4 and IPv6 addresses, prefixes and IPv4 ranges: parsed
 * strictly, kept as one 128-bit number so that comparing is two integer
 * compares, and written back as text
 *
 * An IPv4 address a.b.c.d is kept as the IPv4-mapped IPv6 address
 * ::ffff:a.b.c.d; an IPv4 prefix of length L covers the mapped addresses
 * with the first 96 + L bits fixed. Prefix lengths in the structures are
 * those of the address's own family (0..32 or 0..128).
 */
#ifndef SITESYS_IPADDR_H
#define SITESYS_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text ipaddr_format and friends write, with the NUL. */
#define IPADDR_STRLEN 46
#define IPNET_STRLEN (IPADDR_STRLEN + 4)
#define IPRANGE_STRLEN (2 * IPADDR_STRLEN)

struct ipaddr {
	uint64_t hi, lo; /* the address, most significant bits first */
};

struct ipnet {
	struct ipaddr addr;
	unsigned plen; /* in the family's own bits: 0..32 or 0..128 */
};

struct iprange {
	struct ipaddr start, end; /* both included; start <= end */
};

/* Modes of ipnet_parse. */
enum ipnet_mode {
	IPNET_SUBNET_ID, /* a subnet ID: host bits set are refused */
	IPNET_HOST, /* an interface's address and its prefix length: kept */
};

/* ipaddr_parse - one IPv4 or IPv6 address; 0, or -1 with the reason */
int ipaddr_parse(const char *s, struct ipaddr *out, char *why, size_t len);

/* ipaddr_is_v4 - whether a is an IPv4 (mapped) address */
bool ipaddr_is_v4(const struct ipaddr *a);

/* ipaddr_from_v4 - the mapped form of a host-order IPv4 address */
struct ipaddr ipaddr_from_v4(uint32_t v4);

/* ipaddr_cmp - <0, 0 or >0 as a sorts before, with or after b */
static inline int
ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* ipaddr_eq - whether a and b are the same address */
static inline bool
ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

/* ipaddr_format - a as text (dotted quad for IPv4); the length written */
size_t ipaddr_format(const struct ipaddr *a, char *out, size_t len);

/* ipaddr_mask - a with all but the first bits128 of 128 bits cleared */
struct ipaddr ipaddr_mask(const struct ipaddr *a, unsigned bits128);

/*
 * ipnet_parse - "ADDR/PREFIX"; in IPNET_SUBNET_ID mode a prefix with host
 * bits set is refused, naming the subnet ID that was probably meant;
 * 0, or -1 with the reason
 */
int ipnet_parse(const char *s, enum ipnet_mode mode, struct ipnet *out,
    char *why, size_t len);

/* ipnet_bits128 - the prefix length counted in the 128-bit form */
unsigned ipnet_bits128(const struct ipnet *n);

/* ipnet_id - the subnet ID: n's address with its host bits cleared */
struct ipaddr ipnet_id(const struct ipnet *n);

/* ipnet_contains - whether a lies in the prefix n */
bool ipnet_contains(const struct ipnet *n, const struct ipaddr *a);

/* ipnet_format - "ADDR/PREFIX"; the length written */
size_t ipnet_format(const struct ipnet *n, char *out, size_t len);

/*
 * iprange_parse - "START-END" of two IPv4 addresses, start not after end;
 * 0, or -1 with the reason
 */
int iprange_parse(const char *s, struct iprange *out, char *why, size_t len);

/* iprange_contains - whether a lies between start and end, both included */
bool iprange_contains(const struct iprange *r, const struct ipaddr *a);

/* iprange_format - "START-END"; the length written */
size_t iprange_format(const struct iprange *r, char *out, size_t len);

#endif
