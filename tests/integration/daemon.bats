#!/usr/bin/env bats
# The daemon skeleton and the inbox reader with the real ledger, through
# inbox-drain (tests/helpers/inbox-drain.c): options, config errors,
# privilege drop, signals, corrupt files, a database that goes away, and
# kill -9 at every step of a batch.

load helpers

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	# what inbox-drain loads, granted to the role it connects as
	psql_site -c "CREATE TABLE test_processed (
		name text NOT NULL,
		body text NOT NULL CHECK (body <> 'refuse'),
		at timestamptz NOT NULL DEFAULT now());
		GRANT SELECT, INSERT ON test_processed TO sitesys_statesys"
	BOX=$SITE_DIR/inbox/test.box
	mkdir -p "$BOX/tmp" "$BOX/incoming" "$BOX/corrupt"
	[ "$(id -u)" != 0 ] || chown -R sitesys: "$BOX"
	# small batches so a run has many of them
	sed -i 's/^\[inbox\]$/[inbox]\nbatch_files = 3\nrescan_seconds = 1/' "$SITESYS_CONF"
	export BOX
}
teardown_file() { site_teardown_file; }
teardown() {
	[ -z "${DRAIN_PID:-}" ] || { kill -TERM "$DRAIN_PID" 2>/dev/null; wait "$DRAIN_PID" 2>/dev/null; } || true
	site_teardown
}

put_docs() { # put_docs PREFIX N
	local i
	for i in $(seq 1 "$2"); do
		test_doc "$1-$i" >"$SITE_DIR/doc.json"
		"$SITECTL" inbox put test.box "$SITE_DIR/doc.json" >/dev/null
	done
}

processed() { psql_site -c "SELECT count(*) FROM test_processed WHERE body LIKE '$1-%'"; }
distinct() { psql_site -c "SELECT count(DISTINCT name) FROM test_processed WHERE body LIKE '$1-%'"; }
backlog_zero() { [ "$(backlog_of test.box)" = 0 ]; }

start_drain() {
	: >"$SITE_DIR/drain.log"
	"$DRAIN" -f "$@" 2>>"$SITE_DIR/drain.log" &
	DRAIN_PID=$!
}

stop_drain() {
	kill -TERM "$DRAIN_PID"
	wait "$DRAIN_PID"
	local rc=$?
	DRAIN_PID=
	return $rc
}

@test "-n checks the config and exits 0; a bad config exits 2 with file:line: reason" {
	run "$DRAIN" -n
	[ "$status" -eq 0 ]
	[ "$output" = "$SITESYS_CONF: configuration ok" ]
	printf '[log]\nlevel = loud\n' >"$SITE_DIR/bad.conf"
	run "$DRAIN" -n -c "$SITE_DIR/bad.conf"
	[ "$status" -eq 2 ]
	[ "$output" = "$SITE_DIR/bad.conf:2: level: \"loud\" is not one of error|warning|info|debug" ]
	run "$DRAIN" -f -c "$SITE_DIR/bad.conf"
	[ "$status" -eq 2 ]
	run "$DRAIN" -x
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: inbox-drain [-fhn] [-c file]"* ]]
}

@test "a daemon started as root runs as [site] user, drains the inbox, stops on SIGTERM" {
	local want
	# as root the daemon must become sitesys; as anyone else it stays put
	want=$(id -u)
	[ "$want" != 0 ] || want=$(id -u sitesys)
	put_docs a 7
	start_drain
	wait_for 20 backlog_zero
	[ "$(awk '/^Uid:/ {print $2}' /proc/$DRAIN_PID/status)" = "$want" ]
	[ "$(processed a)" = 7 ]
	stop_drain
	grep -q 'inbox-drain\[[0-9]*\]: info: stopped$' "$SITE_DIR/drain.log"
}

@test "SIGHUP rereads the config and keeps the old one when the new one is bad" {
	local conf=$SITE_DIR/hup.conf
	cp "$SITESYS_CONF" "$conf"
	start_drain -c "$conf"
	wait_for 10 grep -q "connected to database" "$SITE_DIR/drain.log"
	echo 'bogus line' >>"$conf"
	kill -HUP $DRAIN_PID
	wait_for 10 grep -q "reload refused, keeping the running config: $conf:[0-9]*: expected \"key = value\"" "$SITE_DIR/drain.log"
	cp "$SITESYS_CONF" "$conf"
	kill -HUP $DRAIN_PID
	wait_for 10 grep -q "configuration reloaded from $conf" "$SITE_DIR/drain.log"
	put_docs h 2
	wait_for 10 backlog_zero
	[ "$(processed h)" = 2 ]
	stop_drain
}

@test "corrupt files go to corrupt/ with a .why and the rest of the batch is loaded" {
	put_docs c 2
	printf '{"format":"sitesys.test/1"' >"$BOX/incoming/truncated.json"
	touch -d '-1 minute' "$BOX/incoming/truncated.json"
	test_doc refuse >"$SITE_DIR/doc.json"
	"$SITECTL" inbox put test.box "$SITE_DIR/doc.json"
	printf '{"format":"sitesys.test/1","body":5}' >"$BOX/incoming/typed.json"
	put_docs c2 2
	start_drain
	wait_for 20 backlog_zero
	stop_drain
	[ "$(processed c)" = 2 ]
	[ "$(processed c2)" = 2 ]
	grep -q '^reason: invalid JSON' "$BOX/corrupt/truncated.json.why"
	grep -q '^reason: member "body" is missing or not a string' "$BOX/corrupt/typed.json.why"
	grep -q '^reason: the database refused it: .*test_processed_body_check' "$BOX/corrupt/"*.json.why
	[ "$(ls "$BOX/corrupt" | grep -vc '\.why$')" = 3 ]
}

@test "a database that is down leaves every file in place until it returns" {
	site_pg_stop "$SITE_DIR"
	put_docs d 5
	start_drain
	wait_for 10 grep -q "could not connect to database .*retrying in" "$SITE_DIR/drain.log"
	[ "$(backlog_of test.box)" = 5 ]
	site_as_pg "$SITE_PGBIN/pg_ctl" -D "$SITE_DIR/pg/data" -l "$SITE_DIR/pg/server.log" -w start >/dev/null
	wait_for 60 backlog_zero
	stop_drain
	[ "$(processed d)" = 5 ]
}

@test "after PostgreSQL restarts, an idle reader reconnects before its next batch fails" {
	start_drain
	put_docs idle 1
	wait_for 30 backlog_zero
	site_pg_stop "$SITE_DIR"
	site_as_pg "$SITE_PGBIN/pg_ctl" -D "$SITE_DIR/pg/data" -l "$SITE_DIR/pg/server.log" -w start >/dev/null
	put_docs back 3
	wait_for 30 backlog_zero
	stop_drain
	[ "$(processed back)" = 3 ]
	! grep -E "lost the database|error" "$SITE_DIR/drain.log" || false
	grep -q "connection to the site database lost; reconnecting" "$SITE_DIR/drain.log"
}

# the steps of reading a batch (sitesys-inbox(5))
BATCH_POINTS="batch.listed batch.parsed batch.begun batch.processed batch.recorded batch.committed batch.unlinked_one batch.unlinked"

# crash_drain POINT: run the drain until it kills itself at POINT (crash
# points of util/crash.h), within 30 s
crash_drain() {
	SITESYS_CRASH_AT=$1 run timeout 30 "$DRAIN" -f
	[ "$status" -eq 137 ] || { echo "no crash at $1 ($status)"; return 1; }
}

# loaded_once PREFIX N: the N files PREFIX-* were each loaded once
loaded_once() {
	[ "$(processed "$1")" = "$2" ] || { echo "$1: $(processed "$1") rows"; return 1; }
	[ "$(distinct "$1")" = "$2" ]
}

# kill -9 at each step of a batch, at its 1st and 2nd pass (the process
# dies there by itself), then a clean run: every file loaded exactly once.
@test "killed at every step of a batch, each file is loaded exactly once" {
	local n=0 point nth corrupt
	corrupt=$(ls "$BOX/corrupt" | wc -l)
	for point in $BATCH_POINTS; do
		for nth in 1 2; do
			n=$((n + 1))
			put_docs "k$n" 8
			crash_drain "$point:$nth"
			start_drain
			wait_for 20 backlog_zero
			stop_drain
			loaded_once "k$n" 8
			# a repeat is removed, not set aside
			[ "$(ls "$BOX/corrupt" | wc -l)" = "$corrupt" ] || { echo "$point:$nth: a file went to corrupt/"; false; }
		done
	done
}

@test "killed between the .why of a corrupt file and its move, it goes aside once, the rest loads" {
	put_docs w 4
	printf '{"format":"sitesys.test/1"' >"$BOX/incoming/cut.json"
	touch -d '-1 minute' "$BOX/incoming/cut.json"
	crash_drain reject.why
	[ -f "$BOX/corrupt/cut.json.why" ]
	start_drain
	wait_for 20 backlog_zero
	stop_drain
	loaded_once w 4
	[ -f "$BOX/corrupt/cut.json" ]
	[ "$(ls "$BOX/corrupt" | grep -c '^cut\.json')" = 2 ]
}

@test "kill -9 from outside at random moments loses and repeats nothing" {
	local seed=${SEED:-$RANDOM} round rc delay
	RANDOM=$seed
	echo "# seed $seed (SEED=$seed replays these kills)" >&3
	put_docs r 60
	for round in 1 2 3 4 5 6; do
		# killed by timeout after a random 1 to 399 ms (0 would be never)
		printf -v delay '0.%03d' $((1 + RANDOM % 399))
		timeout -s KILL "$delay" \
			"$DRAIN" -f 2>>"$SITE_DIR/drain.log" && rc=0 || rc=$?
		[ "$rc" = 137 ] || { echo "round $round: the drain exited $rc"; false; }
	done
	start_drain
	wait_for 30 backlog_zero
	stop_drain
	loaded_once r 60
}
