/*
 * cmd_client_identity.c - sitectl client approve|block|unblock|
 * reset-identity GUID: the site's say over a client's certificate
 */
#include <stdio.h>
#include <string.h>

#include "sitectl.h"
#include "util/db.h"

/* One action: its verb, its statement, and what it did. */
struct identity_action {
	const char *verb, *sql, *done;
};

static const struct identity_action actions[] = {
	{ "approve", "UPDATE client SET approved = true WHERE guid = $1",
	    "approved: its management point answers it" },
	{ "block", "UPDATE client SET blocked = true WHERE guid = $1",
	    "blocked: management points refuse it, whatever its approval" },
	{ "unblock", "UPDATE client SET blocked = false WHERE guid = $1",
	    "unblocked" },
	{ "reset-identity",
	    "UPDATE client SET fingerprint = NULL, certificate = NULL, "
	    "bound_at = NULL WHERE guid = $1",
	    "identity reset: its next registration binds the certificate it "
	    "presents then" },
};

bool
client_identity_verb(const char *verb)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(verb, actions[i].verb) == 0)
			return true;
	return false;
}

int
client_identity(PGconn *db, const char *verb, const char *guid)
{
	const struct identity_action *a = NULL;
	const char *params[1] = { guid };
	PGresult *res;
	long n;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(verb, actions[i].verb) == 0)
			a = &actions[i];
	if (a == NULL)
		return ctl_usage("client");
	if ((res = db_exec(db, a->sql, 1, params)) == NULL) {
		ctl_err("could not %s client %s: %s", verb, guid, db_error());
		return EXIT_FAIL;
	}
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0) {
		ctl_err("no client %s is registered with the site", guid);
		return EXIT_FAIL;
	}
	printf("client %s %s\n", guid, a->done);
	return EXIT_OK;
}
