/* ledger_pg.h - the inbox ledger in the site database (table inbox_ledger) */
#ifndef SITESYS_LEDGER_PG_H
#define SITESYS_LEDGER_PG_H

#include <libpq-fe.h>

#include "inbox.h"

/* The ledger operations; their context is a PGconn *. */
extern const struct inbox_ledger ledger_pg;

/* ledger_pg_prune - forget names older than days; the count, or -1 */
long ledger_pg_prune(PGconn *db, const char *box, int days);

#endif
