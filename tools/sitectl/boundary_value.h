/*
 * boundary_value.h - the checks of "sitectl boundary" that need no
 * database (cmd_boundary.c), for the command and its fuzz target
 */
#ifndef SITECTL_BOUNDARY_VALUE_H
#define SITECTL_BOUNDARY_VALUE_H

#include "util/ipaddr.h"

/* A boundary's value as the database stores it (NULL: not this type). */
struct bvalue {
	const char *type;
	char prefix[IPNET_STRLEN], start[IPADDR_STRLEN], end[IPADDR_STRLEN];
	const char *text, *vpn_match, *vpn_field;
};

/* Options of boundary add and set, in spec order. */
enum { O_NAME, O_TYPE, O_VALUE, O_MATCH, O_FIELD };

/* bvalue_parse - check a boundary's type, value and VPN options into b;
 * 0, or -1 with why printed */
int bvalue_parse(const char *type, const char *v, const char *match,
    const char *field, struct bvalue *b);

/* boundary_args - the checks of subcommand sub that need no database;
 * an exit status */
int boundary_args(const char *sub, int npos, const char **pos,
    const char **vals, struct bvalue *b);

#endif
