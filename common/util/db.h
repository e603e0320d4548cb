/* db.h - PostgreSQL access: connect, parameterized queries, COPY, NOTIFY */
#ifndef SITESYS_DB_H
#define SITESYS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct buf;

/* db_connect - one attempt; NULL with "could not connect to ...: why" */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);

/*
 * db_connect_retry - connect, waiting 1, 2, 4 ... up to max_wait seconds
 * between attempts (each failure logged); NULL only once the daemon is
 * stopping
 */
PGconn *db_connect_retry(const char *conninfo, int max_wait);

/*
 * db_check_fn - a look at a new connection before it is used: 0 to keep
 * it, or -1 with why in err to refuse it for good (the check logs it, if
 * it is to be logged)
 */
typedef int (*db_check_fn)(PGconn *db, char *err, size_t errlen);

/*
 * db_connect_retry_check - db_connect_retry, and check each connection
 * made: one that check refuses is closed and NULL returned without
 * another attempt
 */
PGconn *db_connect_retry_check(
    const char *conninfo, int max_wait, db_check_fn check);

/* db_error - the last error of this module's calls, one line */
const char *db_error(void);

/* db_exec - run sql with text parameters; the result, or NULL (db_error) */
PGresult *db_exec(
    PGconn *db, const char *sql, int nparams, const char *const *params);

/* db_cmd - db_exec for a statement whose result is not needed; 0 or -1 */
int db_cmd(PGconn *db, const char *sql, int nparams, const char *const *params);

/* db_script - run several statements without parameters (migrations) */
int db_script(PGconn *db, const char *sql);

/* db_copy_begin - start "COPY ... FROM STDIN"; 0 or -1 */
int db_copy_begin(PGconn *db, const char *sql);

/* db_copy_put - send rows (COPY text format); 0 or -1 */
int db_copy_put(PGconn *db, const char *data, size_t len);

/* db_copy_end - finish the COPY and check its result; 0 or -1 */
int db_copy_end(PGconn *db);

/* db_copy_time - append us (µs since the epoch) as a UTC timestamp for
 * COPY, "2026-11-22T10:00:00.123456Z" */
void db_copy_time(struct buf *b, int64_t us);

/* db_copy_field - append s escaped for the COPY text format */
void db_copy_field(struct buf *b, const char *s);

/* db_text_array - append the names as a PostgreSQL text[] literal */
void db_text_array(struct buf *b, const char *const *names, size_t n);

/* db_listen - LISTEN on channel; 0 or -1 */
int db_listen(PGconn *db, const char *channel);

/*
 * db_wait_notify - wait up to timeout_ms for a notification or a signal;
 * 1 and the channel name copied if one came, 0 if none, -1 on error
 */
int db_wait_notify(PGconn *db, int timeout_ms, char *channel, size_t len);

/* db_connected - false once the server connection is lost */
bool db_connected(PGconn *db);

/*
 * db_alive - whether an idle connection can still be used: reads, without
 * blocking, what the server sent since the last query, so that one it
 * closed (a restart) shows as lost before a query fails on it; false for
 * NULL
 */
bool db_alive(PGconn *db);

#endif
