/*
 * cmd_script.c - sitectl script: the scripts the run-script action may
 * run, known by the SHA-256 of their body, run only once approved
 */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "sitectl.h"
#include "util/db.h"
#include "util/fsio.h"
#include "util/x509.h"

#define SCRIPT_MAX (48 * 1024) /* bytes of a script's body */

#define LIST_SQL                                                               \
	"SELECT sha256, name, length(body) AS bytes, approved, "               \
	"" CTL_UTC("added") " AS added FROM script ORDER BY name, sha256"

/* Which script: a SHA-256 or a unique name. */
#define FIND_SQL                                                               \
	"SELECT sha256 FROM script WHERE sha256 = lower($1) OR name = $1"

/* Why a body cannot be sent in a task frame (JSON text), or NULL. */
static const char *
script_text(const char *body, size_t len)
{
	json_t *s;

	if (strlen(body) != len)
		return "holds a NUL byte";
	if ((s = json_stringn(body, len)) == NULL)
		return "is not valid UTF-8";
	json_decref(s);
	return NULL;
}

static int
script_add(PGconn *db, const char *path, const char *name)
{
	char sha[X509_FINGERPRINT_LEN], *body = NULL, *copy;
	const char *p[3], *bad;
	size_t len;
	PGresult *res;
	int n;

	if (fsio_read_file(path, SCRIPT_MAX, &body, &len) == -1) {
		if (errno == EFBIG)
			ctl_err("script \"%s\" is larger than 48 KiB", path);
		else
			ctl_err("could not read \"%s\": %m", path);
		return EXIT_FAIL;
	}
	if ((bad = script_text(body, len)) != NULL) {
		ctl_err("script \"%s\" %s", path, bad);
		free(body);
		return EXIT_FAIL;
	}
	if ((copy = strdup(path)) == NULL)
		abort();
	x509_sha256_hex(body, len, sha);
	p[0] = sha;
	p[1] = name ? name : basename(copy);
	p[2] = body;
	res = db_exec(db,
	    "INSERT INTO script (sha256, name, body) VALUES ($1, $2, $3) "
	    "ON CONFLICT DO NOTHING RETURNING 1",
	    3, p);
	free(body);
	if (res == NULL) {
		free(copy);
		return model_dberr("add the script");
	}
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		printf("script %s is already known\n", sha);
	else
		printf(
		    "added script %s %s (not approved)\n", sha, ctl_text(p[1]));
	free(copy);
	return EXIT_OK;
}

static int
script_approve(PGconn *db, const char *which, bool approve)
{
	char sha[X509_FINGERPRINT_LEN];
	const char *p[1] = { sha };

	if (model_find(db, FIND_SQL, which, "script", sha, sizeof(sha)) != 0)
		return EXIT_FAIL;
	if (db_cmd(db,
	        approve ? "UPDATE script SET approved = true, approved_at = "
	                  "now() WHERE sha256 = $1"
	                : "UPDATE script SET approved = false, approved_at = "
	                  "NULL WHERE sha256 = $1",
	        1, p) == -1)
		return model_dberr("change the script");
	printf("%s script %s\n", approve ? "approved" : "revoked approval of",
	    sha);
	return EXIT_OK;
}

int
cmd_script(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "name=", NULL };
	static const char *const subs[] = { "add", "approve", "unapprove",
		"list", NULL };
	const char *vals[1], *pos[1], *sub = argc > 1 ? argv[1] : "";
	PGconn *db;
	int npos, rc, i = 0;

	while (subs[i] != NULL && strcmp(subs[i], sub) != 0)
		i++;
	if (subs[i] == NULL ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, vals, pos, 1, &npos) == -1)
		return ctl_usage("script");
	if (npos != (i == 3 ? 0 : 1) || (vals[0] && i != 0))
		return ctl_usage("script");
	if (vals[0] && model_name("a script name", vals[0]) == -1)
		return EXIT_USAGE;
	if ((db = ctl_db(ctl)) == NULL)
		return EXIT_FAIL;
	if (i == 0)
		rc = script_add(db, pos[0], vals[0]);
	else if (i == 3)
		rc = model_list(ctl, db, LIST_SQL, 0, NULL, "list scripts");
	else
		rc = script_approve(db, pos[0], i == 1);
	PQfinish(db);
	return rc;
}
