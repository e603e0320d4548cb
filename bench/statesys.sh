#!/bin/bash
# statesys.sh - sitesys-statesys, inbox to committed rows (serial tracking
# and current state included), in the two mixes a site lives through, each
# beside the ceiling of any loader that keeps the same two tables, measured
# in the same run on the same private cluster:
#
#   all new  every message a topic new to its client (a site's first scan):
#            the ceiling is the two plain COPYs in turn, of the history rows
#            and of as many current-state rows
#   steady   clients that have reported before: 80% of messages update a
#            known topic, 10% of batches come late (after a newer message
#            of the same topics), 5% are sent twice (bench/statemsg_gen.c);
#            the ceiling is a plain COPY of the history rows plus the best
#            set-based upsert of the same current-state rows PostgreSQL
#            allows (COPY into a staging table, then one INSERT ... SELECT
#            DISTINCT ON ... ON CONFLICT DO UPDATE), in transactions of as
#            many messages as statesys's batches
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/lib/site.bash
FILES=${FILES:-2000} PER_FILE=${PER_FILE:-100} MSGS=${MSGS:-5}
NEW_CLIENTS=${NEW_CLIENTS:-100000} STEADY_CLIENTS=${STEADY_CLIENTS:-10000}

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
SHARED_BUFFERS=${SITE_PG_SHARED_BUFFERS:-2GB}
SITE_PG_SHARED_BUFFERS=$SHARED_BUFFERS site_pg_start "$dir" >/dev/null
SITE_HTTP_PORT=0
site_conf "$dir"
# [inbox] batch_files as shipped, unless BATCH_FILES says otherwise
[ -z "${BATCH_FILES:-}" ] ||
	sed -i "s/^\[inbox\]$/[inbox]\nbatch_files = $BATCH_FILES/" "$SITESYS_CONF"
printf "[log]\nlevel = ${LOGLEVEL:-warning}\n" >>"$SITESYS_CONF"
"$BUILD/sitectl" db init >/dev/null
BATCH=$("$BUILD/sitectl" config show | awk '/^\[/ { s = $1 } s == "[inbox]" && $1 == "batch_files" { print $3 }')
BATCH=${BATCH:-256}
psql() { command psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d sitesys "$@"; }
now() { date +%s.%N; }
rate() { echo "$1 / ($3 - $2)" | bc -l; }
HIST_COLS="client, serial, msg_time, topic_type, topic_id, topic_id_type, state_id, criticality, details, params"
CS_COLS="client, serial, msg_time, topic_type, topic_id, state_id, criticality"

# tables shaped as statesys's, empty: the history partitioned by day
baseline_tables() {
	psql -c "CREATE TABLE b_hist (LIKE statemsg_history INCLUDING ALL) PARTITION BY RANGE (received)" \
		-c "CREATE TABLE b_hist_today PARTITION OF b_hist FOR VALUES FROM (current_date - 1) TO (current_date + 2)" \
		-c "CREATE TABLE b_hist_default PARTITION OF b_hist DEFAULT" \
		-c "CREATE TABLE b_cs (LIKE client_state INCLUDING ALL) WITH (fillfactor = 80)"
}

# all new: the two plain COPYs in turn; messages/s
baseline_new() {
	local t0 t1
	baseline_tables
	cut -f1-5,7,8 "$dir/rows.tsv" >"$dir/state.tsv"
	psql -c CHECKPOINT
	t0=$(now)
	psql -c "\\copy b_hist ($HIST_COLS) FROM '$dir/rows.tsv'"
	psql -c "\\copy b_cs ($CS_COLS) FROM '$dir/state.tsv'"
	t1=$(now)
	rm "$dir/state.tsv"
	rate "$1" "$t0" "$t1"
}

# steady: per transaction of BATCH files' messages, the history COPYed,
# the current state COPYed into staging and upserted, newest serial of a
# topic first, never over a newer one; messages/s
baseline_steady() {
	local t0 t1 f
	baseline_tables
	split -l $((BATCH * PER_FILE * MSGS)) "$dir/rows.tsv" "$dir/chunk."
	{
		echo "CREATE TEMP TABLE b_stage (LIKE client_state) ON COMMIT DELETE ROWS;"
		for f in "$dir"/chunk.*; do
			cut -f1-5,7,8 "$f" >"$f.cs"
			echo "BEGIN;"
			echo "\\copy b_hist ($HIST_COLS) FROM '$f'"
			echo "\\copy b_stage ($CS_COLS) FROM '$f.cs'"
			echo "INSERT INTO b_cs AS cs SELECT DISTINCT ON (client, topic_type, topic_id) * FROM b_stage
				ORDER BY client, topic_type, topic_id, serial DESC
				ON CONFLICT (client, topic_type, topic_id) DO UPDATE SET
				state_id = EXCLUDED.state_id, criticality = EXCLUDED.criticality,
				msg_time = EXCLUDED.msg_time, serial = EXCLUDED.serial
				WHERE cs.serial < EXCLUDED.serial;"
			echo "COMMIT;"
		done
	} >"$dir/steady.sql"
	psql -c CHECKPOINT
	t0=$(now)
	psql -f "$dir/steady.sql"
	t1=$(now)
	rm -f "$dir"/chunk.*
	rate "$1" "$t0" "$t1"
}

# statesys from a full inbox to its last file loaded; messages/s
run_statesys() {
	local total=$1 t0 t1 rows
	psql -c CHECKPOINT
	t0=$(now)
	"$BUILD/sitesys-statesys" -f 2>>"$dir/statesys.log" &
	pid=$!
	for i in $(seq 1 6000); do
		[ -z "$(ls "$dir/inbox/statsys.box/incoming")" ] && break
		sleep 0.05
	done
	t1=$(now)
	kill -TERM "$pid"; wait "$pid" || true; pid=
	rows=$(psql -c "SELECT count(*) FROM statemsg_history")
	[ "$rows" = "$total" ] || { echo "statesys loaded $rows of $total messages" >&2; tail "$dir/statesys.log" >&2; exit 1; }
	rate "$total" "$t0" "$t1"
}

# mix MIX CLIENTS LABEL: generate, baseline, statesys, print
mix() {
	local total base rate
	psql -c "TRUNCATE statemsg_history, client_state, client_message_stats, client_missing_range, inbox_ledger"
	"$BUILD/bench/statemsg_gen" "$dir/inbox" "$FILES" "$PER_FILE" "$MSGS" "$2" "$dir/rows.tsv" "$1"
	chown -R sitesys: "$dir/inbox" 2>/dev/null || true
	total=$(wc -l <"$dir/rows.tsv")
	if [ "$1" = new ]; then base=$(baseline_new "$total"); else base=$(baseline_steady "$total"); fi
	psql -c "DROP TABLE b_hist, b_cs"
	rate=$(run_statesys "$total")
	printf '  %-9s %8d clients %9.0f messages/s   ceiling %9.0f messages/s   %.2fx (at least 0.80 wanted)\n' \
		"$1" "$2" "$rate" "$base" "$(echo "$rate / $base" | bc -l)"
	[ "$1" != new ] ||
		printf '  %-9s at one batch of %d messages per client per 15 minutes: %.0f clients\n' \
			"" "$MSGS" "$(echo "$rate * 900 / $MSGS" | bc -l)"
	rm "$dir/rows.tsv"
}

echo "statesys: each mix $FILES files of $PER_FILE batches of $MSGS messages (the steady one's 5% repeats not counted in its rate)," \
	"[inbox] batch_files = $BATCH;"\
	"the private cluster's PostgreSQL: shared_buffers = $SHARED_BUFFERS, max_wal_size = 4GB, checkpoint_timeout = 30min, wal_buffers = 16MB"
for m in ${MIXES:-new steady}; do
	if [ "$m" = new ]; then mix new "$NEW_CLIENTS"; else mix steady "$STEADY_CLIENTS"; fi
done
