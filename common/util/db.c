/* db.c - PostgreSQL access: connect, parameterized queries, COPY, NOTIFY */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "signals.h"

static char db_err[1024];

static void
db_set_error(const char *what, const char *msg)
{
	size_t len = 0;

	/* one line: libpq's detail lines are joined with "; " */
	len = (size_t)snprintf(db_err, sizeof(db_err), "%s", what);
	for (const char *r = msg ? msg : ""; *r != '\0'; r++) {
		if (len + 3 >= sizeof(db_err))
			break;
		if (*r != '\n') {
			db_err[len++] = *r;
			continue;
		}
		while (r[1] == '\t' || r[1] == ' ' || r[1] == '\n')
			r++;
		if (r[1] != '\0') {
			db_err[len++] = ';';
			db_err[len++] = ' ';
		}
	}
	while (len > 0 && db_err[len - 1] == ' ')
		len--;
	db_err[len] = '\0';
}

const char *
db_error(void)
{
	return db_err;
}

/* Notices ("relation already exists, skipping") are not errors. */
static void
notice_ignore(void *arg, const char *message)
{
	(void)arg;
	log_debug("database notice: %s", message);
}

PGconn *
db_connect(const char *conninfo, char *err, size_t errlen)
{
	PGconn *db = PQconnectdb(conninfo);

	if (db != NULL && PQstatus(db) == CONNECTION_OK) {
		PQsetNoticeProcessor(db, notice_ignore, NULL);
		return db;
	}
	if (db == NULL) {
		snprintf(err, errlen,
		    "could not connect to database: out of memory");
		return NULL;
	}
	db_set_error("", PQerrorMessage(db));
	snprintf(err, errlen,
	    "could not connect to database \"%s\" as user \"%s\" at %s port "
	    "%s: %s",
	    PQdb(db) ? PQdb(db) : "?", PQuser(db) ? PQuser(db) : "?",
	    PQhost(db) ? PQhost(db) : "?", PQport(db) ? PQport(db) : "?",
	    db_err);
	PQfinish(db);
	return NULL;
}

PGconn *
db_connect_retry(const char *conninfo, int max_wait)
{
	return db_connect_retry_check(conninfo, max_wait, NULL);
}

PGconn *
db_connect_retry_check(const char *conninfo, int max_wait, db_check_fn check)
{
	char err[1536];
	int wait = 1;
	PGconn *db;

	while (!signals_stopping()) {
		if ((db = db_connect(conninfo, err, sizeof(err))) != NULL) {
			if (check != NULL &&
			    check(db, err, sizeof(err)) == -1) {
				PQfinish(db);
				return NULL;
			}
			log_info("connected to database \"%s\"", PQdb(db));
			return db;
		}
		log_error("%s; retrying in %d s", err, wait);
		signals_sleep(wait * 1000);
		wait = wait * 2 > max_wait ? max_wait : wait * 2;
	}
	return NULL;
}

PGresult *
db_exec(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res =
	    PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	db_set_error("", res ? PQresultErrorMessage(res) : PQerrorMessage(db));
	PQclear(res);
	return NULL;
}

int
db_cmd(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_exec(db, sql, nparams, params);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_script(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	db_set_error("", res ? PQresultErrorMessage(res) : PQerrorMessage(db));
	PQclear(res);
	return -1;
}

int
db_copy_begin(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	int ok = PQresultStatus(res) == PGRES_COPY_IN;

	if (!ok)
		db_set_error(
		    "", res ? PQresultErrorMessage(res) : PQerrorMessage(db));
	PQclear(res);
	return ok ? 0 : -1;
}

int
db_copy_put(PGconn *db, const char *data, size_t len)
{
	if (PQputCopyData(db, data, (int)len) != 1) {
		db_set_error("COPY: ", PQerrorMessage(db));
		return -1;
	}
	return 0;
}

int
db_copy_end(PGconn *db)
{
	PGresult *res;
	int rc = 0;

	if (PQputCopyEnd(db, NULL) != 1) {
		db_set_error("COPY: ", PQerrorMessage(db));
		rc = -1;
	}
	while ((res = PQgetResult(db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			db_set_error("COPY: ", PQresultErrorMessage(res));
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

void
db_copy_time(struct buf *b, int64_t us)
{
	char text[CLOCK_RFC3339_LEN];

	buf_adds(b, clock_rfc3339(text, sizeof(text), us, 6));
}

void
db_copy_field(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_adds(b, "\\N");
		return;
	}
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		default:
			buf_addc(b, *s);
		}
	}
}

void
db_text_array(struct buf *b, const char *const *names, size_t n)
{
	buf_addc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_addc(b, '"');
		for (const char *s = names[i]; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				buf_addc(b, '\\');
			buf_addc(b, *s);
		}
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

int
db_listen(PGconn *db, const char *channel)
{
	char *id = PQescapeIdentifier(db, channel, strlen(channel));
	struct buf sql = { 0 };
	int rc;

	if (id == NULL) {
		db_set_error("LISTEN: ", PQerrorMessage(db));
		return -1;
	}
	buf_addf(&sql, "LISTEN %s", id);
	PQfreemem(id);
	rc = db_cmd(db, sql.p, 0, NULL);
	buf_free(&sql);
	return rc;
}

static int
db_take_notify(PGconn *db, char *channel, size_t len)
{
	PGnotify *n = PQnotifies(db);

	if (n == NULL)
		return 0;
	snprintf(channel, len, "%s", n->relname);
	PQfreemem(n);
	return 1;
}

int
db_wait_notify(PGconn *db, int timeout_ms, char *channel, size_t len)
{
	struct pollfd pfd = { .fd = PQsocket(db), .events = POLLIN };

	if (db_take_notify(db, channel, len))
		return 1;
	if (pfd.fd < 0) {
		db_set_error("", "no connection to the database");
		return -1;
	}
	if (signals_poll(&pfd, 1, timeout_ms) == -1) {
		db_set_error("poll: ", strerror(errno));
		return -1;
	}
	if (PQconsumeInput(db) != 1) {
		db_set_error("", PQerrorMessage(db));
		return -1;
	}
	return db_take_notify(db, channel, len);
}

bool
db_connected(PGconn *db)
{
	return db != NULL && PQstatus(db) == CONNECTION_OK;
}

bool
db_alive(PGconn *db)
{
	struct pollfd pfd;

	if (!db_connected(db) || (pfd.fd = PQsocket(db)) < 0)
		return false;
	pfd.events = POLLIN;
	/* a connection the server closed reads as its last message (the
	 * FATAL of a shutdown), then as end of file: a few reads at most */
	for (int i = 0; i < 8; i++) {
		if (poll(&pfd, 1, 0) != 1)
			break;
		if (PQconsumeInput(db) != 1)
			return false;
	}
	return PQstatus(db) == CONNECTION_OK;
}
