/*
 * collection.h - the members of a collection (sitectl(8), "collection"):
 * the clients that match any of its rules, by name, name pattern and site
 * in SQL, and by boundary group through the boundary model, which knows
 * which boundaries a client's addresses fall in
 */
#ifndef SITESYS_COLLECTION_H
#define SITESYS_COLLECTION_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "location.h"

/*
 * collection_stage_reset - make the temporary table member_stage (guid
 * text) if need be and empty it, for members staged by other means (named
 * clients); 0, or -1 (the database's error in db_error)
 */
int collection_stage_reset(PGconn *db);

/*
 * collection_stage - make the temporary table member_stage (guid text,
 * lower case; repeats possible) if need be, empty it, and put into it the
 * members of collection by its rules in collection_rule; m, the boundary
 * model (loc_db_load, which must run outside a transaction), answers the
 * boundary-group rules. 0, or -1 with the reason in why
 */
int collection_stage(PGconn *db, const struct loc_model *m,
    const char *collection, char *why, size_t len);

/*
 * collection_in_group - whether a client at addresses, a text[] column as
 * PostgreSQL prints it ("{10.1.2.3/24,...}"), is in boundary group group
 * (by name, without regard to case) of m
 */
bool collection_in_group(
    const struct loc_model *m, const char *addresses, const char *group);

#endif
