#!/bin/bash
# intake.sh - state message intake through nginx at 64 keep-alive clients
# (bench/intake_http.c): sitesys-fsp over plain HTTP and sitesys-mp over
# HTTPS with a client certificate, each beside a trivial libfcgi responder
# behind the same nginx server, and the FSP's intake over HTTPS too, which
# shows what knowing the caller costs the MP. The MP finds who a
# certificate is in the site database: a private cluster here, with the
# schema and nothing else.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/lib/site.bash

dir=$(mktemp -d /var/tmp/sitesys-bench.XXXXXX)
cleanup() {
	site_pg_stop "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
site_pg_start "$dir" >/dev/null
site_conf "$dir"
"$BUILD/sitectl" db init >/dev/null
PGHOST=$SITE_PGHOST PGPORT=$SITE_PGPORT PGUSER=postgres PGDATABASE=sitesys \
	"$BUILD/bench/intake_http"
