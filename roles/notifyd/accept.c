/* accept.c - the set of accepted client certificates, by fingerprint */
#include <stdlib.h>

#include "notifyd.h"
#include "util/db.h"
#include "util/log.h"

/* schema 005's registered identities; a revoked one is blocked or gone */
#define ND_ACCEPT_SQL                                                          \
	"SELECT fingerprint, guid FROM client "                                \
	"WHERE fingerprint IS NOT NULL AND approved AND NOT blocked"

int
nd_accept_load(struct notifyd *nd, PGconn *db)
{
	PGresult *res = db_exec(db, ND_ACCEPT_SQL, 0, NULL);
	struct nd_accept next = { .res = res, .loaded = true };
	int rows;

	if (res == NULL) {
		log_error(
		    "could not load the accepted clients: %s", db_error());
		return -1;
	}
	strmap_init(&next.map, false);
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		strmap_put(&next.map, PQgetvalue(res, i, 0), (uint32_t)i);
	nd_accept_free(&nd->acc);
	nd->acc = next;
	log_debug("accepting %d client certificates", rows);
	return 0;
}

const char *
nd_accept_guid(const struct notifyd *nd, const char *fp)
{
	uint32_t row;

	if (!nd->acc.loaded || !strmap_get(&nd->acc.map, fp, &row))
		return NULL;
	return PQgetvalue(nd->acc.res, (int)row, 1);
}

void
nd_accept_free(struct nd_accept *acc)
{
	if (acc->loaded)
		strmap_free(&acc->map);
	PQclear(acc->res);
	acc->res = NULL;
	acc->loaded = false;
}
