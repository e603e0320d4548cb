#!/usr/bin/env bats
# Hostile entries in inboxes (issue 10, finding 1): a FIFO, a symbolic
# link, a directory, a device-like entry and names outside the protocol
# must neither hang a reader nor hold up the files sorted after them. Each
# goes to corrupt/ with its reason; one that cannot be moved is skipped
# with one log line and shown by sitectl status. Every wait is bounded,
# and a reader that hangs is killed, so a regression fails, never hangs.

load helpers

STATESYS=$BUILD/sitesys-statesys
FSP=$BUILD/sitesys-fsp
C1=GUID:11111111-1111-4111-8111-111111111111

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" inbox init >/dev/null
	sed -i 's/^\[inbox\]$/[inbox]\nrescan_seconds = 1/' "$SITESYS_CONF"
	printf '[fsp]\nfastcgi_socket = %s\nthreads = 2\nthrottle_messages = 100000\nthrottle_seconds = 3600\n' \
		"$SITE_DIR/fsp.sock" >>"$SITESYS_CONF"
	site_nginx_fcgi "$SITE_DIR" /fsp/v1/ "$SITE_DIR/fsp.sock"
}
teardown_file() { site_teardown_file; }
setup() {
	local box
	psql_site -c "TRUNCATE statemsg_history, client_state, client_message_stats, client_missing_range, inbox_ledger"
	for box in statsys.box fsp.box; do
		find "$SITE_DIR/inbox/$box/incoming" "$SITE_DIR/inbox/$box/corrupt" \
			-mindepth 1 -delete
	done
	rm -f "$SITE_DIR/inbox/fsp.box/forward.state"
	SS=$SITE_DIR/inbox/statsys.box
	SPOOL=$SITE_DIR/inbox/fsp.box
	: >"$SITE_DIR/daemon.log"
}
teardown() {
	end_pid "${DAEMON_PID:-}"
	site_teardown
}

# end_pid PID: TERM it; if it does not stop within 5 s (it hangs), KILL it
end_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	wait_for 5 bash -c "! kill -0 $1 2>/dev/null" 2>/dev/null ||
		kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
}

# stop_daemon: TERM the daemon under test; fails if it does not stop
stop_daemon() {
	local pid=$DAEMON_PID
	DAEMON_PID=
	kill -TERM "$pid"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || {
		kill -KILL "$pid"
		return 1
	}
	wait "$pid"
}

start_statesys() {
	"$STATESYS" -f 2>>"$SITE_DIR/daemon.log" &
	DAEMON_PID=$!
}

fsp_ready() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SITE_HTTP_PORT/fsp/v1/statemsg")" = 405 ]
}
start_fsp() {
	"$FSP" -f 2>>"$SITE_DIR/daemon.log" &
	DAEMON_PID=$!
	wait_for 10 fsp_ready
}

# smx SERIAL: a batch of one message of C1
smx() {
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":%s,"time":"2026-11-22T10:00:00Z","topic":{"type":500,"id":"KB%s","id_type":0},"state":{"id":1,"criticality":0}}]}\n' \
		"$C1" "$1" "$1"
}

# put BOX SERIAL: put a batch into BOX by the protocol (its name sorts
# after every hostile name below, which start with 0)
put() {
	smx "$2" >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put "$1" "$SITE_DIR/batch.smx" >/dev/null
}

# hostile DIR: the hostile entries, all sorted before any protocol name
hostile() {
	mkfifo "$1/0001-fifo.smx"
	smx 99 >"$SITE_DIR/target.smx"
	ln -s "$SITE_DIR/target.smx" "$1/0002-link.smx"
	mkdir "$1/0003-dir.smx"
	smx 98 >"$1/0004 space.smx"
	smx 97 >"$1/0005-$(printf '\303\251').smx"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$1/0006-socket.smx"
	# made by someone who may write incoming/, as the daemon may
	[ "$(id -u)" != 0 ] || chown -h sitesys "$1"/000*
}

# why DIR NAME REASON: corrupt/NAME is there, and its .why gives REASON
why() {
	[ -e "$1/corrupt/$2" ] || [ -L "$1/corrupt/$2" ] || {
		echo "no corrupt/$2" >&2
		return 1
	}
	grep -qF "reason: $3" "$1/corrupt/$2.why" || {
		echo "corrupt/$2.why: $(cat "$1/corrupt/$2.why")" >&2
		return 1
	}
}

check_whys() {
	why "$1" 0001-fifo.smx "not a regular file but a FIFO"
	why "$1" 0002-link.smx "not a regular file but a symbolic link"
	why "$1" 0003-dir.smx "not a regular file but a directory"
	why "$1" "0004 space.smx" "a name outside the protocol"
	why "$1" "0005-$(printf '\303\251').smx" "a name outside the protocol"
	why "$1" 0006-socket.smx "not a regular file but a socket"
}

loaded() {
	[ "$(psql_site -c "SELECT count(*) FROM statemsg_history WHERE client = '$C1' AND serial = $1")" = 1 ]
}
spool_empty() { [ -z "$(ls -A "$SPOOL/incoming")" ]; }
forwarded() { grep -qs "\"serial\":$1," "$SS"/incoming/*; }
inbox_field() {
	"$SITECTL" status --json | jq -r ".inboxes[] | select(.name == \"$1\") | .$2"
}

@test "statesys: hostile entries go to corrupt/ with their reason, the file after them is loaded" {
	hostile "$SS/incoming"
	[ "$(inbox_field statsys.box skipped)" = 6 ]
	[ "$(inbox_field statsys.box files)" = 0 ]
	put statsys.box 1
	start_statesys
	wait_for 15 loaded 1
	wait_for 5 bash -c "[ -z \"\$(ls -A '$SS/incoming')\" ]"
	stop_daemon
	check_whys "$SS"
	# the FIFO is still one: nothing opened it for writing
	[ -p "$SS/corrupt/0001-fifo.smx" ]
	# nothing refused reached the database
	[ "$(psql_site -c "SELECT count(*) FROM statemsg_history WHERE serial > 90")" = 0 ]
	[ "$(psql_site -c "SELECT count(*) FROM inbox_ledger WHERE name LIKE '000%'")" = 0 ]
	[ "$(inbox_field statsys.box corrupt)" = 6 ]
	[ "$(inbox_field statsys.box skipped)" = 0 ]
}

@test "statesys: an entry that cannot be moved is skipped with one log line and shown by status" {
	mkfifo "$SS/incoming/0001-stuck.smx"
	# corrupt/ holds a non-empty directory of that name: the move fails
	mkdir -p "$SS/corrupt/0001-stuck.smx/x"
	put statsys.box 1
	start_statesys
	wait_for 15 loaded 1
	# more passes over incoming/ (rescan_seconds = 1), each with a file
	put statsys.box 2
	wait_for 15 loaded 2
	put statsys.box 3
	wait_for 15 loaded 3
	run "$SITECTL" status
	[ "$status" -eq 0 ]
	[[ "$output" == *SKIPPED* ]]
	[[ "$output" =~ statsys\.box\ +0\ +-\ +[0-9]+\ +0\ +1 ]]
	[ "$(inbox_field statsys.box files)" = 0 ]
	[ "$(inbox_field statsys.box skipped)" = 1 ]
	stop_daemon
	[ -p "$SS/incoming/0001-stuck.smx" ]
	[ "$(grep -c '0001-stuck' "$SITE_DIR/daemon.log")" = 1 ]
	grep -q 'could not move "statsys.box/incoming/0001-stuck.smx" to corrupt/' "$SITE_DIR/daemon.log"
	# no .why is left for a move that did not happen
	[ ! -e "$SS/corrupt/0001-stuck.smx.why" ]
	psql_site -c "SELECT detail FROM component WHERE name = 'sitesys-statesys'" | grep -q '1 skipped'
}

@test "fsp: hostile entries in fsp.box go to corrupt/, the batch after them is forwarded" {
	hostile "$SPOOL/incoming"
	put fsp.box 1
	start_fsp
	wait_for 15 forwarded 1
	wait_for 5 spool_empty
	stop_daemon
	check_whys "$SPOOL"
	# the symbolic link was not followed: its target went nowhere
	! forwarded 99 || false
	! forwarded 98 || false
	! forwarded 97 || false
}

@test "fsp: an entry that cannot be moved is skipped with one log line and blocks nothing" {
	mkdir "$SPOOL/incoming/0001-stuck.smx"
	mkdir -p "$SPOOL/corrupt/0001-stuck.smx/x"
	put fsp.box 1
	start_fsp
	wait_for 15 forwarded 1
	put fsp.box 2
	wait_for 15 forwarded 2
	put fsp.box 3
	wait_for 15 forwarded 3
	[ "$(inbox_field fsp.box files)" = 0 ]
	[ "$(inbox_field fsp.box skipped)" = 1 ]
	stop_daemon
	[ -d "$SPOOL/incoming/0001-stuck.smx" ]
	[ "$(grep -c '0001-stuck' "$SITE_DIR/daemon.log")" = 1 ]
}
