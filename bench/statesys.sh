#!/bin/bash
# statesys.sh - sitesys-statesys, inbox to committed rows (serial tracking
# and current-state upserts included), beside a plain COPY of the same rows
# into a table of the same shape and indexes, on the same private cluster.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/lib/site.bash
# every client sends twice: its first batch is a new client's, its second a
# known one's (current state upserted, serials checked against the last)
FILES=${FILES:-2000} PER_FILE=${PER_FILE:-100} MSGS=${MSGS:-5} CLIENTS=${CLIENTS:-100000}
TOTAL=$((FILES * PER_FILE * MSGS))

dir=$(mktemp -d /var/tmp/sitesys-bench.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	site_pg_stop "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
[ -z "${KEEPLOG:-}" ] || trap "cp $dir/statesys.log $KEEPLOG; cleanup" EXIT
# this machine keeps little in its page cache: give PostgreSQL its own
SITE_PG_SHARED_BUFFERS=${SITE_PG_SHARED_BUFFERS:-2GB} site_pg_start "$dir" >/dev/null
SITE_HTTP_PORT=0
site_conf "$dir"
# [inbox] batch_files as shipped (256), unless BATCH_FILES says otherwise
[ -z "${BATCH_FILES:-}" ] ||
	sed -i "s/^\[inbox\]$/[inbox]\nbatch_files = $BATCH_FILES/" "$SITESYS_CONF"
printf "[log]\nlevel = ${LOGLEVEL:-warning}\n" >>"$SITESYS_CONF"
"$BUILD/sitectl" db init >/dev/null
psql() { command psql -X -q -A -t -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d sitesys "$@"; }
now() { date +%s.%N; }

echo "statesys: $TOTAL messages from $CLIENTS clients in $FILES files of $PER_FILE batches of $MSGS"
"$BUILD/bench/statemsg_gen" "$dir/inbox" "$FILES" "$PER_FILE" "$MSGS" "$CLIENTS" "$dir/rows.tsv"
chown -R sitesys: "$dir/inbox" 2>/dev/null || true

# baseline: the same rows, plain COPY, a table of the same shape and indexes
psql -c "CREATE TABLE baseline (LIKE statemsg_history INCLUDING ALL)"
t0=$(now)
psql -c "\\copy baseline (client, serial, msg_time, topic_type, topic_id, topic_id_type, state_id, criticality, details, params) FROM '$dir/rows.tsv'"
t1=$(now)
base=$(echo "$TOTAL / ($t1 - $t0)" | bc -l)
psql -c "DROP TABLE baseline"
# a second baseline, the ceiling of any design that keeps a current-state
# row per client and topic: here every message is a topic new to its client,
# so a plain COPY of those rows alone into a table shaped like client_state
cut -f1-5,7,8 "$dir/rows.tsv" >"$dir/state.tsv"
psql -c "CREATE TABLE cs_baseline (LIKE client_state INCLUDING ALL)"
t0=$(now)
psql -c "\\copy cs_baseline (client, serial, msg_time, topic_type, topic_id, state_id, criticality) FROM '$dir/state.tsv'"
t1=$(now)
csbase=$(echo "$TOTAL / ($t1 - $t0)" | bc -l)
psql -c "DROP TABLE cs_baseline"
rm "$dir/state.tsv"
psql -c "CHECKPOINT"

t0=$(now)
"$BUILD/sitesys-statesys" -f 2>>"$dir/statesys.log" &
pid=$!
for i in $(seq 1 6000); do
	n=$(ls "$dir/inbox/statsys.box/incoming" | wc -l)
	[ "$n" = 0 ] && break
	sleep 0.05
done
t1=$(now)
kill -TERM "$pid"; wait "$pid" || true; pid=
rows=$(psql -c "SELECT count(*) FROM statemsg_history")
[ "$rows" = "$TOTAL" ] || { echo "statesys loaded $rows of $TOTAL messages" >&2; tail "$dir/statesys.log" >&2; exit 1; }
rate=$(echo "$TOTAL / ($t1 - $t0)" | bc -l)
printf '%-44s %9.0f messages/s   baseline (plain COPY, same rows) %9.0f rows/s   %.2fx\n' \
	"statesys, inbox to committed rows" "$rate" "$base" "$(echo "$rate / $base" | bc -l)"
printf '%-44s %9.0f rows/s, the ceiling of a current-state row per topic (%.2fx of it)\n' \
	"plain COPY of the current-state rows alone" "$csbase" "$(echo "$rate / $csbase" | bc -l)"
both=$(echo "1 / (1 / $base + 1 / $csbase)" | bc -l)
printf '%-44s %9.0f messages/s, the two plain COPYs in turn (%.2fx of it)\n' \
	"history and current-state rows, plain COPY" "$both" "$(echo "$rate / $both" | bc -l)"
printf 'at one batch of %d messages per client per 15 minutes: %.0f clients (the original: a state system known for backlogs)\n' \
	"$MSGS" "$(echo "$rate * 900 / $MSGS" | bc -l)"
