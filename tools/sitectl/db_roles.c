/*
 * db_roles.c - sitectl db init|upgrade, after the migrations: each program's
 * database role and its grants (schema/roles.sql), and its password, kept
 * in [database] passfile
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "migrations.h"
#include "sitectl.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/fsio.h"
#include "util/pgpass.h"

#define PASSFILE_MAX (1024 * 1024)
#define PASSWORD_BYTES 16 /* 128 random bits, written in hex */
#define PASSWORD_MAX 1024

/* A new password: PASSWORD_BYTES from getrandom(2) in hex; 0 or -1. */
static int
new_password(char *out, size_t len)
{
	unsigned char raw[PASSWORD_BYTES];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ctl_err("could not make a password: getrandom: %m");
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/*
 * Set role's password on the server from the clear text, sending only its
 * SCRAM verifier (so the clear password is in no server log); 0 or -1.
 */
static int
set_password(PGconn *db, const char *role, const char *password)
{
	char *verifier, *id = NULL, *lit = NULL;
	struct buf sql = { 0 };
	int rc = -1;

	verifier = PQencryptPasswordConn(db, password, role, "scram-sha-256");
	if (verifier == NULL) {
		ctl_err("could not encrypt the password of role \"%s\": %s",
		    role, PQerrorMessage(db));
		return -1;
	}
	if ((id = PQescapeIdentifier(db, role, strlen(role))) == NULL ||
	    (lit = PQescapeLiteral(db, verifier, strlen(verifier))) == NULL) {
		ctl_err("could not quote role \"%s\": %s", role,
		    PQerrorMessage(db));
		goto out;
	}
	buf_addf(&sql, "ALTER ROLE %s PASSWORD %s", id, lit);
	if (db_cmd(db, sql.p, 0, NULL) == -1)
		ctl_err("could not set the password of role \"%s\": %s", role,
		    db_error());
	else
		rc = 0;
out:
	PQfreemem(id);
	PQfreemem(lit);
	PQfreemem(verifier);
	buf_free(&sql);
	return rc;
}

/* The password file's text into b (nothing if it does not exist). */
static int
read_passfile(const char *path, struct buf *b)
{
	char *text;
	size_t len;

	if (fsio_read_file(path, PASSFILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		ctl_err("could not read password file \"%s\": %m", path);
		return -1;
	}
	buf_add(b, text, len);
	if (len > 0 && text[len - 1] != '\n')
		buf_addc(b, '\n');
	free(text);
	return 0;
}

/*
 * Write text to the password file, mode 0600 and, when sitectl runs as
 * root, owned by [site] user, who runs the daemons that read it; 0 or -1.
 */
static int
write_passfile(struct ctl *ctl, const char *path, const struct buf *text)
{
	const char *user = conf_str(ctl->cf, "site", "user");
	struct passwd *pw = NULL;
	struct buf tmp = { 0 };
	int rc = -1;

	if (geteuid() == 0 && (pw = getpwnam(user)) == NULL) {
		ctl_err("could not give password file \"%s\" to [site] user "
		        "\"%s\": no such user",
		    path, user);
		return -1;
	}
	buf_addf(&tmp, "%s.tmp", path);
	if (fsio_replace(
	        path, tmp.p, text->p ? text->p : "", text->len, 0600) == -1)
		ctl_err("could not write password file \"%s\": %m", path);
	else if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) == -1)
		ctl_err("could not give password file \"%s\" to \"%s\": %m",
		    path, user);
	else
		rc = 0;
	buf_free(&tmp);
	return rc;
}

/*
 * Each role's password: the one the file gives it, else a new one added to
 * text; set on the server either way, so the two agree. How many are new,
 * or -1.
 */
static int
give_passwords(PGconn *db, PGresult *roles, const char *path, struct buf *text)
{
	char pw[PASSWORD_MAX];
	int added = 0;

	for (int i = 0; i < PQntuples(roles); i++) {
		const char *role = PQgetvalue(roles, i, 0);
		int found =
		    pgpass_find(text->p ? text->p : "", role, pw, sizeof(pw));

		if (found == -1) {
			ctl_err("the password of role \"%s\" in \"%s\" is "
			        "too long",
			    role, path);
			return -1;
		}
		if (found == 0) {
			if (new_password(pw, sizeof(pw)) == -1)
				return -1;
			pgpass_add(text, role, pw);
			added++;
		}
		int rc = set_password(db, role, pw);
		explicit_bzero(pw, sizeof(pw));
		if (rc == -1)
			return -1;
	}
	return added;
}

int
db_roles_apply(struct ctl *ctl, PGconn *db)
{
	const char *path = conf_str(ctl->cf, "database", "passfile");
	struct buf text = { 0 }, names = { 0 };
	PGresult *roles;
	int added = 0, rc = -1;

	if (db_script(db, roles_sql) == -1 ||
	    (roles = db_exec(db, "SELECT name FROM sitesys_role ORDER BY name",
	         0, NULL)) == NULL) {
		ctl_err("could not set up the programs' roles: %s", db_error());
		return -1;
	}
	for (int i = 0; i < PQntuples(roles); i++)
		buf_addf(
		    &names, "%s%s", i > 0 ? ", " : "", PQgetvalue(roles, i, 0));
	if (*path != '\0' &&
	    (read_passfile(path, &text) == -1 ||
	        (added = give_passwords(db, roles, path, &text)) == -1 ||
	        write_passfile(ctl, path, &text) == -1))
		goto out;
	if (*path == '\0')
		printf("roles %s: no passwords set ([database] passfile is "
		       "empty)\n",
		    names.p);
	else
		printf("roles %s: passwords in %s (%d new)\n", names.p, path,
		    added);
	rc = 0;
out:
	if (text.p != NULL)
		explicit_bzero(text.p, text.len);
	buf_free(&text);
	buf_free(&names);
	PQclear(roles);
	return rc;
}
