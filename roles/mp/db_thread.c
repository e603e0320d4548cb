/* db_thread.c - one database connection per request thread */
#include <stdio.h>

#include "daemon.h"
#include "mp.h"
#include "util/db.h"
#include "util/log.h"

/* libpq connections are not shared between threads: one per thread. */
static _Thread_local PGconn *thread_db;

PGconn *
mp_db(const struct mp *mp)
{
	char err[1536];

	/* a connection the server closed while it was idle (a restart)
	 * still says CONNECTION_OK until used: look before a query fails */
	if (thread_db != NULL && db_alive(thread_db))
		return thread_db;
	if (thread_db != NULL) {
		log_info("connection to the site database lost; reconnecting");
		PQfinish(thread_db);
	}
	thread_db =
	    daemon_db_connect(daemon_db_conninfo(mp->cf), err, sizeof(err));
	if (thread_db == NULL && !daemon_db_refused())
		log_error("%s", err);
	return thread_db;
}

void
mp_db_failed(void)
{
	if (thread_db != NULL && PQstatus(thread_db) != CONNECTION_OK) {
		PQfinish(thread_db);
		thread_db = NULL;
	}
}
