#!/usr/bin/env bats
# Outages and small lies (issue 10, findings 5 and 6): the MP after
# PostgreSQL restarts, /location without the database, refused requests in
# the log (rate-limited), SIGHUP reopening the log, -n checking the log
# file, a NUL byte in the config, and the FSP's stale tmp/ files.

load helpers

C1=GUID:51515151-5151-4151-8151-515151515151
C2=GUID:52525252-5252-4252-8252-525252525252
C3=GUID:53535353-5353-4353-8353-535353535353

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add ABC --name "Outage test" >/dev/null
	"$SITECTL" inbox init >/dev/null
	"$SITECTL" boundary add net-a --type subnet --value 10.1.2.0/24 >/dev/null
	"$SITECTL" bg add BG_A --site ABC >/dev/null
	"$SITECTL" bg add-boundary BG_A net-a >/dev/null
	mp_start 4
	for c in $C1 $C2 $C3; do
		register_client $c >/dev/null
	done
}
teardown_file() {
	stop_pid "$SITE_DIR/mp.pid"
	stop_pid "$SITE_DIR/mp2.pid"
	site_teardown_file
}
teardown() {
	[ -z "${FSP_PID:-}" ] || { kill -TERM "$FSP_PID" 2>/dev/null; wait "$FSP_PID" 2>/dev/null; } || true
	site_pg_running || pg_start
	site_teardown
}

url() { echo "https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/$1"; }
site_pg_running() { [ -f "$SITE_DIR/pg/data/postmaster.pid" ]; }
pg_start() {
	site_as_pg "$SITE_PGBIN/pg_ctl" -D "$SITE_DIR/pg/data" \
		-l "$SITE_DIR/pg/server.log" -w -t 60 start >/dev/null
}
policy_status() {
	as_client "$1" -s -o /dev/null -w '%{http_code}\n' "$(url "policy?client=$1")"
}
# locate GUID: the status of GUID's location request from 10.1.2.3
locate() {
	as_client "$1" -s -o "$SITE_DIR/answer" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary \
		"{\"format\":\"sitesys.location/1\",\"client\":\"$1\",\"addresses\":[\"10.1.2.3/24\"],\"role\":\"mp\"}" \
		"$(url location)"
}
site_of() { psql_site -c "SELECT coalesce(site_code, '-') FROM client WHERE guid = '$1'"; }

@test "after PostgreSQL restarts, not one policy request of any MP thread fails" {
	# every thread holds a connection: 16 requests at once, twice
	for round in 1 2; do
		for i in $(seq 1 16); do policy_status $C1 & done >"$SITE_DIR/warm"
		wait
		[ "$(sort -u "$SITE_DIR/warm")" = 200 ]
	done
	site_pg_stop "$SITE_DIR"
	pg_start
	for i in $(seq 1 16); do
		run policy_status $C1
		[ "$output" = 200 ] || { echo "request $i: $output"; false; }
	done
}

@test "/location without the database answers 503 and assigns nothing, then assigns once it is back" {
	[ "$(locate $C2)" = 200 ] || true # warm the caller's cache
	psql_site -c "UPDATE client SET site_code = NULL WHERE guid = '$C2'"
	# what the MP logs from here on (the warm-up may have assigned C2)
	local lines
	lines=$(wc -l <"$SITE_DIR/mp.log")
	site_pg_stop "$SITE_DIR"
	run locate $C2
	[ "$output" = 503 ]
	pg_start
	[ "$(site_of $C2)" = - ]
	! tail -n +$((lines + 1)) "$SITE_DIR/mp.log" | grep -q "$C2 assigned" || false
	[ "$(locate $C2)" = 200 ]
	[ "$(jq -r .assigned_site "$SITE_DIR/answer")" = ABC ]
	[ "$(site_of $C2)" = ABC ]
}

@test "an assignment that cannot be recorded is answered 503, not made up" {
	[ "$(site_of $C3)" = - ]
	psql_site -c "ALTER TABLE client ADD CONSTRAINT test_no_site CHECK (site_code IS NULL) NOT VALID"
	run locate $C3
	psql_site -c "ALTER TABLE client DROP CONSTRAINT test_no_site"
	[ "$output" = 503 ]
	[ "$(site_of $C3)" = - ]
	! grep -q "$C3 assigned" "$SITE_DIR/mp.log" || false
	grep -q "could not record $C3's site ABC" "$SITE_DIR/mp.log"
	[ "$(locate $C3)" = 200 ]
	[ "$(site_of $C3)" = ABC ]
	grep -q "$C3 assigned to site ABC" "$SITE_DIR/mp.log"
}

@test "a refused request is logged once with its status, reason and address" {
	run curl -sS --cacert "$SITE_CA" -o /dev/null -w '%{http_code}' "$(url "policy?client=$C1")"
	[ "$output" = 401 ]
	wait_for 5 grep -q 'refused GET /mp/v1/policy from 127.0.0.1: 401 .*a client certificate is required' "$SITE_DIR/mp.log"
	[ "$(grep -c 'refused GET /mp/v1/policy from 127.0.0.1: 401' "$SITE_DIR/mp.log")" = 1 ]
}

# the refusals the MP's log accounts for: one per line, plus the counts
# of the "suppressed" lines
accounted() {
	local logged suppressed
	logged=$(grep -c 'refused GET /mp/v1/flood' "$SITE_DIR/mp.log") || true
	suppressed=$(sed -n 's/.*suppressed \([0-9]*\) refused requests.*/\1/p' "$SITE_DIR/mp.log" | awk '{s += $1} END {print s + 0}')
	echo $((logged + ${suppressed:-0}))
}
accounted_is() { [ "$(accounted)" = "$1" ]; }

@test "a flood of 1000 refused requests leaves a bounded number of log lines, every refusal counted" {
	local start end lines
	for i in $(seq 1 1000); do
		printf 'url = "%s"\noutput = /dev/null\n' "$(url flood)"
	done >"$SITE_DIR/flood.curl"
	start=$(date +%s)
	curl -s --cacert "$SITE_CA" -K "$SITE_DIR/flood.curl"
	end=$(date +%s)
	# the last second's count is written within a second or two
	wait_for 10 accounted_is 1000
	grep -q 'suppressed [0-9]* refused requests' "$SITE_DIR/mp.log"
	lines=$(grep -c 'refused GET /mp/v1/flood\|suppressed [0-9]* refused' "$SITE_DIR/mp.log")
	echo "# $lines lines for 1000 refusals in $((end - start + 1)) s" >&3
	[ "$lines" -le $(((end - start + 3) * 11)) ]
}

@test "SIGHUP makes the MP reopen its log file" {
	local dir=$SITE_DIR/mplog conf=$SITE_DIR/mp2.conf
	mkdir -p "$dir"
	[ "$(id -u)" != 0 ] || chown sitesys: "$dir"
	cp "$SITESYS_CONF" "$conf"
	sed -i "s|^fastcgi_socket = .*|fastcgi_socket = $SITE_DIR/mp2.sock|" "$conf"
	printf '[log]\nfile = %s/mp.log\n' "$dir" >>"$conf"
	"$BUILD/sitesys-mp" -f -c "$conf" &
	echo $! >"$SITE_DIR/mp2.pid"
	wait_for 10 grep -q 'boundary model loaded' "$dir/mp.log"
	mv "$dir/mp.log" "$dir/mp.log.1"
	kill -HUP "$(cat "$SITE_DIR/mp2.pid")"
	wait_for 10 grep -q 'SIGHUP' "$dir/mp.log"
	! grep -q 'SIGHUP' "$dir/mp.log.1" || false
	stop_pid "$SITE_DIR/mp2.pid"
	grep -q 'stopped' "$dir/mp.log"
}

@test "-n fails with the reason for a log file that cannot be opened" {
	local conf=$SITE_DIR/badlog.conf
	cp "$SITESYS_CONF" "$conf"
	printf '[log]\nfile = %s/no-such-dir/mp.log\n' "$SITE_DIR" >>"$conf"
	run "$BUILD/sitesys-mp" -n -c "$conf"
	[ "$status" = 2 ]
	[[ "$output" == *"could not open log file \"$SITE_DIR/no-such-dir/mp.log\": No such file or directory"* ]]
	[[ "$output" != *"configuration ok"* ]]
	[ ! -e "$SITE_DIR/no-such-dir" ]
	# a log file that can be opened: ok, and -n does not create it
	cp "$SITESYS_CONF" "$conf"
	printf '[log]\nfile = %s/checked.log\n' "$SITE_DIR" >>"$conf"
	run "$BUILD/sitesys-mp" -n -c "$conf"
	[ "$status" = 0 ]
	[[ "$output" == *"configuration ok"* ]]
	[ ! -e "$SITE_DIR/checked.log" ]
}

@test "a NUL byte in a config line is reported as such, with file and line" {
	local conf=$SITE_DIR/nul.conf
	printf '[site]\ninbox_dir = /tmp/x\000y\n' >"$conf"
	run "$BUILD/sitesys-mp" -n -c "$conf"
	[ "$status" = 2 ]
	[ "$output" = "$conf:2: NUL byte in the line" ]
}

@test "the FSP purges stale tmp/ files of fsp.box at start and keeps fresh ones" {
	local conf=$SITE_DIR/fsp.conf tmp=$SITE_DIR/inbox/fsp.box/tmp
	cp "$SITESYS_CONF" "$conf"
	printf '[fsp]\nfastcgi_socket = %s/fsp.sock\n' "$SITE_DIR" >>"$conf"
	echo half >"$tmp/stale.json"
	touch -d '2 hours ago' "$tmp/stale.json"
	echo half >"$tmp/fresh.json"
	"$BUILD/sitesys-fsp" -f -c "$conf" 2>>"$SITE_DIR/fsp.log" &
	FSP_PID=$!
	wait_for 10 grep -q 'forwarding' "$SITE_DIR/fsp.log"
	[ ! -e "$tmp/stale.json" ]
	[ -e "$tmp/fresh.json" ]
	grep -q "purged unfinished file \"$tmp/stale.json\"" "$SITE_DIR/fsp.log"
	rm -f "$tmp/fresh.json"
}
