/* cmd_peer.c - sitectl peer: peer cache sources and their content */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/ipaddr.h"

#define FIND_PEER "SELECT id FROM peer_cache_source WHERE client = $1"

/* Every peer cache source with its address, subnet and content. */
#define LIST_SQL                                                               \
	"SELECT p.client, host(p.address) || '/' || masklen(p.address) "       \
	"AS address, p.subnet::text AS subnet, "                               \
	"coalesce((SELECT json_agg(c.content_id ORDER BY c.content_id) "       \
	"FROM peer_content c WHERE c.peer_id = p.id), '[]') AS content "       \
	"FROM peer_cache_source p "

static int
peer_save(PGconn *db, bool add, const char *client, const char *address)
{
	const char *p[2] = { client, address };
	char id[16];
	int rc = model_find(
	    db, FIND_PEER, client, add ? NULL : "peer cache source", id, 16);

	if (add && rc == 0)
		ctl_err("peer cache source %s already exists", client);
	if (rc == -1 || rc == (add ? 0 : 1))
		return EXIT_FAIL;
	if (db_cmd(db,
	        add ? "INSERT INTO peer_cache_source (client, address) "
	              "VALUES ($1, $2)"
	            : "UPDATE peer_cache_source SET address = $2 "
	              "WHERE client = $1",
	        2, p) == -1)
		return model_dberr("save the peer cache source");
	printf("%s peer cache source %s at %s\n", add ? "added" : "changed",
	    ctl_text(client), address);
	return EXIT_OK;
}

static int
peer_remove(PGconn *db, const char *client)
{
	PGresult *res = db_exec(db,
	    "DELETE FROM peer_cache_source WHERE client = $1 RETURNING id", 1,
	    &client);
	int n;

	if (res == NULL)
		return model_dberr("remove the peer cache source");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err("no peer cache source \"%s\"", client);
		return EXIT_FAIL;
	}
	printf("removed peer cache source %s\n", ctl_text(client));
	return EXIT_OK;
}

static int
peer_content(PGconn *db, bool add, const char *client, const char *content)
{
	static const char *const put_sql[2] = {
		"INSERT INTO peer_content (peer_id, content_id) VALUES ($1, "
		"$2) "
		"ON CONFLICT DO NOTHING RETURNING 1",
		"DELETE FROM peer_content WHERE peer_id = $1 AND content_id = "
		"$2 "
		"RETURNING 1"
	};
	char id[16];

	if (model_find(db, FIND_PEER, client, "peer cache source", id,
	        sizeof(id)) != 0)
		return EXIT_FAIL;
	return model_content_put(db, add, put_sql, id,
	    (const char *[2]){ "peer cache source", client }, content);
}

/*
 * Check what needs no database; an exit status. A peer cache source is
 * added or set by its client's GUID, kept in lower case; the others also
 * take a name that an earlier sitectl kept.
 */
static int
peer_args(const char *sub, int npos, const char **pos, const char *address,
    char net[IPNET_STRLEN], char guid[STATEMSG_GUID_LEN + 1])
{
	bool save = strcmp(sub, "add") == 0 || strcmp(sub, "set") == 0;
	int want = strstr(sub, "-content") ? 2 : strcmp(sub, "list") ? 1 : 0;
	struct ipnet n;

	if (npos != want || (save != (address != NULL)))
		return ctl_usage("peer");
	if (npos > 0 && (save || statemsg_valid_guid(pos[0]))) {
		if (model_client(pos[0], guid) == -1)
			return EXIT_USAGE;
		pos[0] = guid;
	} else if (npos > 0 && model_name("a client", pos[0]) == -1) {
		return EXIT_USAGE;
	}
	if (npos > 1 && model_content_id(pos[1]) == -1)
		return EXIT_USAGE;
	if (save) {
		char why[256];

		if (ipnet_parse(address, IPNET_HOST, &n, why, sizeof(why)) ==
		    -1) {
			ctl_err("--address: %s", why);
			return EXIT_USAGE;
		}
		ipnet_format(&n, net, IPNET_STRLEN);
	}
	return EXIT_OK;
}

int
cmd_peer(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "address=", NULL };
	static const char *const subs[] = { "add", "set", "list", "remove",
		"add-content", "remove-content", NULL };
	const char *vals[1], *pos[2], *sub = argc > 1 ? argv[1] : "";
	char net[IPNET_STRLEN], guid[STATEMSG_GUID_LEN + 1];
	PGconn *db;
	int npos, rc, i = 0;

	while (subs[i] != NULL && strcmp(subs[i], sub) != 0)
		i++;
	if (subs[i] == NULL ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 2, &npos) == -1)
		return ctl_usage("peer");
	if ((rc = peer_args(sub, npos, pos, vals[0], net, guid)) != EXIT_OK)
		return rc;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (strcmp(sub, "list") == 0)
		rc = model_list(ctl, db, LIST_SQL "ORDER BY p.client", 0, NULL,
		    "list peer cache sources");
	else if (strcmp(sub, "remove") == 0)
		rc = peer_remove(db, pos[0]);
	else if (strstr(sub, "-content"))
		rc = peer_content(db, sub[0] == 'a', pos[0], pos[1]);
	else
		rc = peer_save(db, strcmp(sub, "add") == 0, pos[0], net);
	PQfinish(db);
	return rc;
}
