#!/bin/bash
# pipeline.sh - the whole state message pipeline on one host, as shipped:
# agents post through nginx to sitesys-mp, which makes their batches
# durable in statsys.box, from where sitesys-statesys loads them into a
# private PostgreSQL cluster (bench/pipeline_http.c). Prints messages/s
# from the agents' posts to committed rows at saturation, and the latency
# from a post's send to its rows being visible, median and 99th
# percentile, at 50,000 messages/s offered. CLIENTS, BATCH, RATE,
# CLOSED_SECONDS and OPEN_SECONDS as pipeline_http reads them.
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
# as bench/statesys.sh: this machine keeps little in its page cache
# track_commit_timestamp: when each transaction committed, which is when
# its rows became visible
SITE_PG_SHARED_BUFFERS=${SITE_PG_SHARED_BUFFERS:-2GB} \
	SITE_PG_CONF="track_commit_timestamp = on" site_pg_start "$dir" >/dev/null
site_conf "$dir"
# site_conf's file, less what a test wants and a site does not: the
# shipped [inbox] settle_seconds, and the shipped [site] fastcgi_group,
# www-data, which nginx's workers run as here too
sed -i -e '/^settle_seconds = /d' -e '/^fastcgi_group = /d' \
	-e "s|^\[mp\]\$|[mp]\nfastcgi_socket = $dir/web/mp.sock|" "$SITESYS_CONF"
mkdir -m 0755 "$dir/web"
"$BUILD/sitectl" db init >/dev/null

echo "pipeline: agents -> nginx -> sitesys-mp -> statsys.box -> sitesys-statesys -> PostgreSQL, on one host"
echo "  sitesys.conf, every setting it changes from the shipped one (a private site's places and roles):"
sed -n '/^#/!s/^/    /p' "$SITESYS_CONF"
echo "  PostgreSQL 15, a private cluster (tests/lib/site.bash) and its settings:"
sed -n '/^listen_addresses/,$s/^\t*/    /p' "$dir/pg/data/postgresql.conf"
PG_PID=$(head -1 "$dir/pg/data/postmaster.pid") "$BUILD/bench/pipeline_http" "$dir/web" || {
	# the daemons' last words before the directory goes
	grep -v ': info: ' "$dir/web/processes.log" | tail -20 >&2
	exit 1
}
