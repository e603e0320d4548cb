/*
 * location_db.h - the location engine's model from the site database
 * (schema/003_boundary.sql), and the distribution requests it answers with
 */
#ifndef SITESYS_LOCATION_DB_H
#define SITESYS_LOCATION_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "location.h"

/*
 * loc_db_load - the whole boundary model as one consistent snapshot (a
 * read-only repeatable-read transaction), frozen; NULL with the reason
 */
struct loc_model *loc_db_load(PGconn *db, char *why, size_t len);

/*
 * loc_db_record_distributions - record the answer's on-demand
 * distribution requests (a repeated one counts again); 0, or -1 with the
 * reason
 */
int loc_db_record_distributions(PGconn *db, const struct loc_answer *ans,
    const char *client, char *why, size_t len);

#endif
