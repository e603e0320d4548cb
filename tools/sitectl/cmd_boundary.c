/* cmd_boundary.c - sitectl boundary add|set|list|show|remove|check */
#include <stdio.h>
#include <string.h>

#include "boundary_value.h"
#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/ipaddr.h"

/* How a boundary's value reads, whatever its type. */
#define VALUE_SQL                                                              \
	"CASE b.type WHEN 'range' THEN host(b.range_start) || '-' || "         \
	"host(b.range_end) WHEN 'subnet' THEN b.prefix::text "                 \
	"WHEN 'ipv6' THEN b.prefix::text ELSE b.match_text END"

/* Every boundary with its value and groups. */
#define LIST_SQL                                                               \
	"SELECT b.name, b.type, " VALUE_SQL " AS value, b.vpn_match, "         \
	"b.vpn_field, coalesce((SELECT json_agg(g.name ORDER BY g.name) "      \
	"FROM boundary_group_member m JOIN boundary_group g "                  \
	"ON g.id = m.group_id WHERE m.boundary_id = b.id), '[]') AS groups "   \
	"FROM boundary b "

static int
parse_prefix(const char *v, bool v4, struct bvalue *b)
{
	struct ipnet n;
	char why[256];

	if (ipnet_parse(v, IPNET_SUBNET_ID, &n, why, sizeof(why)) == -1) {
		ctl_err("%s", why);
		return -1;
	}
	if (ipaddr_is_v4(&n.addr) != v4) {
		ctl_err(v4 ? "\"%s\" is not an IPv4 subnet: use --type ipv6 "
		             "for an IPv6 prefix"
		           : "\"%s\" is not an IPv6 prefix: use --type subnet "
		             "for an IPv4 subnet",
		    v);
		return -1;
	}
	ipnet_format(&n, b->prefix, sizeof(b->prefix));
	return 0;
}

static int
parse_range(const char *v, struct bvalue *b)
{
	struct iprange r;
	char why[256];

	if (iprange_parse(v, &r, why, sizeof(why)) == -1) {
		ctl_err("%s", why);
		return -1;
	}
	if (!ipaddr_is_v4(&r.start) || !ipaddr_is_v4(&r.end)) {
		ctl_err("\"%s\": a range boundary is of IPv4 addresses; "
		        "use --type ipv6 for IPv6",
		    v);
		return -1;
	}
	ipaddr_format(&r.start, b->start, sizeof(b->start));
	ipaddr_format(&r.end, b->end, sizeof(b->end));
	return 0;
}

int
bvalue_parse(const char *type, const char *v, const char *match,
    const char *field, struct bvalue *b)
{
	bool vpn = type != NULL && strcmp(type, "vpn") == 0;

	memset(b, 0, sizeof(*b));
	b->type = type;
	if (type == NULL || v == NULL) {
		ctl_err("a boundary needs --type and --value");
		return -1;
	}
	if (!vpn && (match != NULL || field != NULL)) {
		ctl_err("--vpn-match and --vpn-field are for "
		        "vpn boundaries only");
		return -1;
	}
	if (strcmp(type, "subnet") == 0)
		return parse_prefix(v, true, b);
	if (strcmp(type, "ipv6") == 0)
		return parse_prefix(v, false, b);
	if (strcmp(type, "range") == 0)
		return parse_range(v, b);
	if (strcmp(type, "adsite") == 0) {
		b->text = v;
		return model_name("an AD site name", v);
	}
	if (!vpn) {
		ctl_err("unknown boundary type \"%s\": types are subnet, "
		        "range, ipv6, adsite and vpn",
		    type);
		return -1;
	}
	b->text = v;
	b->vpn_match = match ? match : "exact";
	b->vpn_field = field ? field : "name";
	if (strcmp(b->vpn_match, "exact") != 0 &&
	    strcmp(b->vpn_match, "prefix") != 0) {
		ctl_err("--vpn-match takes exact or prefix, "
		        "not \"%s\"",
		    b->vpn_match);
		return -1;
	}
	if (strcmp(b->vpn_field, "name") != 0 &&
	    strcmp(b->vpn_field, "description") != 0) {
		ctl_err("--vpn-field takes name or description, "
		        "not \"%s\"",
		    b->vpn_field);
		return -1;
	}
	return model_name("a VPN connection name or description", v);
}

/* The parameters $2..$8 of the statements below, from b. */
static void
bvalue_params(const struct bvalue *b, const char *p[7])
{
	p[0] = b->type;
	p[1] = b->prefix[0] ? b->prefix : NULL;
	p[2] = b->start[0] ? b->start : NULL;
	p[3] = b->end[0] ? b->end : NULL;
	p[4] = b->text;
	p[5] = b->vpn_match;
	p[6] = b->vpn_field;
}

/* Refuse a value another boundary has; 0 if free, else an exit status. */
static int
value_free(PGconn *db, const char *name, const struct bvalue *b)
{
	const char *p[8] = { name };
	PGresult *res;

	bvalue_params(b, p + 1);
	res = db_exec(db,
	    "SELECT name FROM boundary WHERE name <> $1 AND ("
	    "prefix = $3::cidr OR (range_start = $4::inet AND "
	    "range_end = $5::inet) OR (type = $2 AND "
	    "lower(match_text) = lower($6) AND coalesce(vpn_match, '') = "
	    "coalesce($7, '') AND coalesce(vpn_field, '') = coalesce($8, '')))",
	    8, p);
	if (res == NULL)
		return model_dberr("look up the boundary's value");
	if (PQntuples(res) > 0) {
		ctl_err("boundary \"%s\" has that value already",
		    PQgetvalue(res, 0, 0));
		PQclear(res);
		return EXIT_FAIL;
	}
	PQclear(res);
	return EXIT_OK;
}

static int
boundary_add(PGconn *db, const char *name, const struct bvalue *b)
{
	const char *p[8] = { name };
	char id[16];
	int rc;

	bvalue_params(b, p + 1);
	rc = model_find(db, "SELECT id FROM boundary WHERE name = $1", name,
	    NULL, id, sizeof(id));
	if (rc == 0) {
		ctl_err("boundary \"%s\" already exists", name);
		return EXIT_FAIL;
	}
	if (rc == -1)
		return EXIT_FAIL;
	if ((rc = value_free(db, name, b)) != EXIT_OK)
		return rc;
	if (db_cmd(db,
	        "INSERT INTO boundary (name, type, prefix, range_start, "
	        "range_end, match_text, vpn_match, vpn_field) VALUES "
	        "($1, $2, $3, $4, $5, $6, $7, $8)",
	        8, p) == -1)
		return model_dberr("add the boundary");
	printf("added boundary %s\n", ctl_text(name));
	return EXIT_OK;
}

static int
boundary_set(PGconn *db, const char *name, const char **vals)
{
	const char *p[9] = { name }, *key = name;
	const char *type, *value, *match, *field;
	struct bvalue b;
	PGresult *res = db_exec(db,
	    "SELECT b.type, " VALUE_SQL ", b.vpn_match, b.vpn_field "
	    "FROM boundary b WHERE b.name = $1",
	    1, &key);
	int rc;

	if (res == NULL)
		return model_dberr("read the boundary");
	if (PQntuples(res) == 0) {
		ctl_err("no boundary \"%s\"", name);
		PQclear(res);
		return EXIT_FAIL;
	}
	type = vals[O_TYPE] ? vals[O_TYPE] : PQgetvalue(res, 0, 0);
	if (vals[O_TYPE] && !vals[O_VALUE] &&
	    strcmp(vals[O_TYPE], PQgetvalue(res, 0, 0)) != 0) {
		ctl_err("a new --type needs a new --value");
		PQclear(res);
		return EXIT_USAGE;
	}
	value = vals[O_VALUE] ? vals[O_VALUE] : PQgetvalue(res, 0, 1);
	match = vals[O_MATCH] ? vals[O_MATCH]
	    : PQgetisnull(res, 0, 2) || strcmp(type, "vpn") != 0
	    ? NULL
	    : PQgetvalue(res, 0, 2);
	field = vals[O_FIELD] ? vals[O_FIELD]
	    : PQgetisnull(res, 0, 3) || strcmp(type, "vpn") != 0
	    ? NULL
	    : PQgetvalue(res, 0, 3);
	rc = bvalue_parse(type, value, match, field, &b) == -1 ? EXIT_USAGE
	    : vals[O_NAME] && model_name("a boundary name", vals[O_NAME]) == -1
	    ? EXIT_USAGE
	    : value_free(db, name, &b);
	bvalue_params(&b, p + 1);
	p[8] = vals[O_NAME] ? vals[O_NAME] : name;
	if (rc == EXIT_OK &&
	    db_cmd(db,
	        "UPDATE boundary SET name = $9, type = $2, prefix = $3, "
	        "range_start = $4, range_end = $5, match_text = $6, "
	        "vpn_match = $7, vpn_field = $8 WHERE name = $1",
	        9, p) == -1)
		rc = model_dberr("change the boundary");
	if (rc == EXIT_OK)
		printf("changed boundary %s\n", ctl_text(p[8]));
	PQclear(res);
	return rc;
}

static int
boundary_remove(PGconn *db, const char *name)
{
	PGresult *res = db_exec(
	    db, "DELETE FROM boundary WHERE name = $1 RETURNING id", 1, &name);
	int n;

	if (res == NULL)
		return model_dberr("remove the boundary");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err("no boundary \"%s\"", name);
		return EXIT_FAIL;
	}
	printf("removed boundary %s\n", ctl_text(name));
	return EXIT_OK;
}

int
boundary_args(const char *sub, int npos, const char **pos, const char **vals,
    struct bvalue *b)
{
	int want =
	    strcmp(sub, "list") == 0 || strcmp(sub, "check") == 0 ? 0 : 1;

	if (npos != want)
		return ctl_usage("boundary");
	if (strcmp(sub, "add") == 0) {
		if (model_name("a boundary name", pos[0]) == -1 ||
		    bvalue_parse(vals[O_TYPE], vals[O_VALUE], vals[O_MATCH],
		        vals[O_FIELD], b) == -1 ||
		    vals[O_NAME] != NULL)
			return EXIT_USAGE;
	} else if (strcmp(sub, "set") != 0) {
		for (int i = O_NAME; i <= O_FIELD; i++)
			if (vals[i] != NULL)
				return ctl_usage("boundary");
	}
	return EXIT_OK;
}

int
cmd_boundary(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = {
		"name=", "type=", "value=", "vpn-match=", "vpn-field=", NULL
	};
	static const char *const subs[] = { "add", "set", "list", "show",
		"remove", "check", NULL };
	const char *vals[5], *pos[2], *sub = argc > 1 ? argv[1] : "";
	struct bvalue b;
	PGconn *db;
	int npos, rc, s = 0;

	while (subs[s] != NULL && strcmp(subs[s], sub) != 0)
		s++;
	if (subs[s] == NULL ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 2, &npos) == -1)
		return ctl_usage("boundary");
	if ((rc = boundary_args(sub, npos, pos, vals, &b)) != EXIT_OK)
		return rc;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(sub, "add") == 0)
		rc = boundary_add(db, pos[0], &b);
	else if (strcmp(sub, "set") == 0)
		rc = boundary_set(db, pos[0], vals);
	else if (strcmp(sub, "list") == 0)
		rc = model_list(ctl, db, LIST_SQL "ORDER BY b.name", 0, NULL,
		    "list boundaries");
	else if (strcmp(sub, "show") == 0)
		rc = model_show(
		    ctl, db, LIST_SQL "WHERE b.name = $1", pos[0], "boundary");
	else if (strcmp(sub, "remove") == 0)
		rc = boundary_remove(db, pos[0]);
	else
		rc = boundary_check(ctl, db);
	PQfinish(db);
	return rc;
}
