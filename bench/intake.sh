#!/bin/bash
# intake.sh - state message intake through nginx at 64 and 1,000 keep-alive
# clients, the roles at their shipped defaults (bench/intake_http.c):
# sitesys-fsp over plain HTTP and sitesys-mp over HTTPS with a client
# certificate, each beside a trivial libfcgi responder behind the same
# nginx server, and at 64 clients the FSP's intake over HTTPS too, which
# shows what knowing the caller costs the MP. The MP finds who a
# certificate is in the site database: a private cluster here, with the
# schema and nothing else. THREADS=N runs both roles with N FastCGI
# threads; CLIENTS="64 1000" are the client counts.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/lib/site.bash

site_bench_db
dir=$SITE_BENCH_DIR
# the MP that intake_http starts connects by libpq's environment, as its
# own role (a daemon refuses to work as a superuser)
PGHOST=$SITE_PGHOST PGPORT=$SITE_PGPORT PGDATABASE=sitesys PGUSER=sitesys_mp \
	PGPASSFILE=$dir/pgpass \
	"$BUILD/bench/intake_http"
