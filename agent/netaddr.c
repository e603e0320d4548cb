/* netaddr.c - the computer's own addresses, for registration */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"
#include "util/log.h"
#include "util/sjson.h"

/* the management point takes at most this many */
#define NETADDR_MAX 64

/* The number of leading one bits of a netmask of len bytes. */
static int
netaddr_prefix(const unsigned char *mask, size_t len)
{
	int bits = 0;

	for (size_t i = 0; i < len; i++)
		for (int b = 7; b >= 0 && (mask[i] >> b & 1); b--)
			bits++;
	return bits;
}

/* "addr/prefix" of one interface address, or "" if it is not wanted. */
static void
netaddr_format(const struct ifaddrs *ifa, char *out, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	const void *addr, *mask;
	size_t masklen;
	int family = ifa->ifa_addr->sa_family;

	out[0] = '\0';
	if (family == AF_INET) {
		addr =
		    &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)
		         ->sin_addr;
		mask = &(
		    (const struct sockaddr_in *)(const void *)ifa->ifa_netmask)
		            ->sin_addr;
		masklen = 4;
	} else {
		addr =
		    &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)
		         ->sin6_addr;
		mask = &(
		    (const struct sockaddr_in6 *)(const void *)ifa->ifa_netmask)
		            ->sin6_addr;
		masklen = 16;
	}
	if (inet_ntop(family, addr, text, sizeof(text)) != NULL)
		snprintf(out, len, "%s/%u", text,
		    (unsigned)netaddr_prefix(mask, masklen) % 129);
}

json_t *
netaddr_list(void)
{
	struct ifaddrs *ifs;
	json_t *list = json_array();
	char one[INET6_ADDRSTRLEN + 16];

	if (list == NULL)
		abort();
	if (getifaddrs(&ifs) == -1) {
		log_error("could not list the network addresses: %m");
		return list;
	}
	for (const struct ifaddrs *ifa = ifs; ifa != NULL;
	     ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_netmask == NULL ||
		    (ifa->ifa_flags & IFF_LOOPBACK) ||
		    (ifa->ifa_addr->sa_family != AF_INET &&
		        ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		netaddr_format(ifa, one, sizeof(one));
		if (one[0] != '\0' && json_array_size(list) < NETADDR_MAX)
			sjson_append(list, json_string(one));
	}
	freeifaddrs(ifs);
	return list;
}
