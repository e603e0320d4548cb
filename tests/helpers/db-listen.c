/*
 * db-listen - connect as [database] conninfo says, LISTEN on a channel and
 * print each notification's channel until COUNT have come or SECONDS pass;
 * shows db_connect_retry, db_listen and db_wait_notify against a server.
 *   usage: db-listen CHANNEL COUNT SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"
#include "util/signals.h"

int
main(int argc, char **argv)
{
	struct conf *cf;
	char err[1024], channel[64];
	bool explicit;
	PGconn *db;
	int want, got = 0;
	time_t end;

	log_init("db-listen");
	if (argc != 4) {
		fprintf(stderr, "usage: db-listen CHANNEL COUNT SECONDS\n");
		return 2;
	}
	want = atoi(argv[2]);
	cf = conf_load(conf_resolve_path(NULL, &explicit), err, sizeof(err));
	if (cf == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	signals_init();
	db = db_connect_retry(conf_str(cf, "database", "conninfo"), 1);
	if (db == NULL || db_listen(db, argv[1]) == -1) {
		fprintf(stderr, "db-listen: %s\n", db_error());
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	end = time(NULL) + atoi(argv[3]);
	while (got < want && time(NULL) < end && !signals_stopping()) {
		int rc = db_wait_notify(db, 200, channel, sizeof(channel));

		if (rc == -1) {
			fprintf(stderr, "db-listen: %s\n", db_error());
			return 1;
		}
		if (rc == 1) {
			printf("notified on %s\n", channel);
			fflush(stdout);
			got++;
		}
	}
	PQfinish(db);
	conf_free(cf);
	return got == want ? 0 : 1;
}
