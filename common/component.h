/* component.h - a daemon's status row in the site database */
#ifndef SITESYS_COMPONENT_H
#define SITESYS_COMPONENT_H

#include <libpq-fe.h>

/*
 * component_report - upsert this process's row (program name, host, pid)
 * with state ("running", "stopping", ...) and a one-line detail; 0 or -1
 */
int component_report(PGconn *db, const char *state, const char *detail);

#endif
