#!/usr/bin/env bats
# Client notification over TCP: sitesys-notifyd with its certificate from
# the site CA on a free loopback port, clients registered through the real
# MP (raw TLS clients driven by openssl s_client, and sitesys-agent
# daemons), and tasks released by psql as notifymgr would release them:
# delivery with receipt and result in bgb.box, tasks run once, pushed on
# connect within their validity and not after, certificates refused in the
# handshake, a bad frame closing one connection only, and presence in .bos
# files. All traffic stays on 127.0.0.1.

load helpers

NOTIFYD=$BUILD/sitesys-notifyd
AGENT=$BUILD/sitesys-agent
BOX=$SITE_DIR/inbox/bgb.box/incoming

setup_file() {
	site_setup_file
	chmod 755 "$SITE_DIR" # the daemons run as [site] user when root
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add ABC --name "Notify test" >/dev/null
	"$SITECTL" inbox init >/dev/null
	mp_start 2
	NPORT=$(site_free_port)
	export NPORT
	cat >>"$SITESYS_CONF" <<-CONF
		[notifyd]
		listen = 127.0.0.1:$NPORT
		cert = $SITE_DIR/ca/issued/127.0.0.1.crt
		key = $SITE_DIR/ca/issued/127.0.0.1.key
		server_name = mp1.test
		keepalive_seconds = 30
		grace_seconds = 5
		status_seconds = 1
		presence_minutes = 1
		reconnect_window_seconds = 2
		http_socket = $SITE_DIR/notifyd-http.sock
		poll_seconds = 5
		[database]
		retry_max_seconds = 2
	CONF
	cp "$SITE_CA" "$SITE_DIR/site-ca.crt"
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
	notifyd_start
	site_nginx_poll "$SITE_DIR" "$SITE_DIR/notifyd-http.sock"
}

teardown_file() {
	for p in "$SITE_DIR"/raw-*.pid "$SITE_DIR"/agent-*.pid "$SITE_DIR"/notifymgr.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	stop_pid "$SITE_DIR/notifyd.pid"
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}

teardown() {
	local p
	for p in "$SITE_DIR"/agent-*.pid; do
		stop_pid "$p"
	done
	site_teardown
}

# notifyd_start: sitesys-notifyd, its pid in notifyd.pid, once it listens
# and has loaded what it accepts
notifyd_start() {
	local n
	n=$(grep -c "accepting .* client certificates\|listening on" "$SITE_DIR/notifyd.log" 2>/dev/null) || true
	"$NOTIFYD" -f 2>>"$SITE_DIR/notifyd.log" &
	echo $! >"$SITE_DIR/notifyd.pid"
	wait_for 20 grep -q "listening on 127.0.0.1:$NPORT" "$SITE_DIR/notifyd.log"
	wait_for 20 bash -c "[ \$(grep -c 'component\|listening on' '$SITE_DIR/notifyd.log') -ge 1 ]"
	wait_for 20 db_seen
}
# db_seen: notifyd has reported its status (it is connected)
db_seen() {
	[ "$(psql_site -c "SELECT count(*) FROM component WHERE name = 'sitesys-notifyd' AND state = 'running' AND pid = $(cat "$SITE_DIR/notifyd.pid")")" = 1 ]
}

# frame JSON: JSON with its 4-byte length before it
frame() {
	local n=${#1}
	printf "\\x$(printf %02x $((n >> 24 & 255)))\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 8 & 255)))\\x$(printf %02x $((n & 255)))"
	printf '%s' "$1"
}

# guid N: the GUID of test client N
guid() { printf 'GUID:00000000-0000-4000-8000-%012d' "$1"; }

# registered N: client N's identity, registered with the MP and approved
registered() {
	local out
	out=$(register_client "$(guid "$1")" "pc$1")
	[[ "$out" == 20* ]] || { echo "register: $out" >&2; return 1; }
}

# raw_open NAME CRT KEY: a TLS connection to notifyd through openssl
# s_client presenting CRT/KEY, fed from the fifo raw-NAME.in (fd kept
# open by a sleeper that the fifo's writer holds), its output in
# raw-NAME.out, its pid in raw-NAME.pid
raw_open() {
	local name=$1 crt=$2 key=$3 d=$SITE_DIR
	rm -f "$d/raw-$name.in" "$d/raw-$name.out"
	mkfifo "$d/raw-$name.in"
	openssl s_client -quiet -tls1_3 -connect 127.0.0.1:$NPORT \
		-CAfile "$SITE_CA" -verify_return_error -cert "$crt" -key "$key" \
		<"$d/raw-$name.in" >"$d/raw-$name.out" 2>"$d/raw-$name.err" 3>&- &
	echo $! >"$d/raw-$name.pid"
	# hold the fifo open for writing until the test ends
	exec {RAW_FD}>"$d/raw-$name.in"
	eval "RAW_$name=$RAW_FD"
}
# raw_send NAME BYTES...: write to connection NAME
raw_send() {
	local name=$1 fd
	shift
	eval "fd=\$RAW_$name"
	"$@" >&"$fd"
}
# raw_close NAME: end connection NAME and wait for its s_client
raw_close() {
	local fd
	eval "fd=\$RAW_$1"
	exec {fd}>&-
	stop_pid "$SITE_DIR/raw-$1.pid"
}
raw_has() { grep -aq "$2" "$SITE_DIR/raw-$1.out"; }
raw_count() { grep -ao "$2" "$SITE_DIR/raw-$1.out" | wc -l; }
gone() { ! kill -0 "$(cat "$1")" 2>/dev/null; }
client_crt() { echo "$SITE_DIR/clients/${1#GUID:}.crt"; }
client_key() { echo "$SITE_DIR/clients/${1#GUID:}.key"; }

# release TASK GUID...: release (again) task TASK's pushes to the GUIDs
release() {
	local t=$1 g
	shift
	for g in "$@"; do
		psql_site -c "INSERT INTO notify_push (task, guid) VALUES ($t, '$g') ON CONFLICT DO NOTHING"
	done
	psql_site -c "UPDATE notify_push SET release_seq = nextval('notify_release_seq'), released_at = now() WHERE task = $t"
}
# new_task ACTION [VALID]: a task in state pushing, valid for VALID
# (default '1 hour'); prints its id
new_task() {
	psql_site -c "INSERT INTO notify_task (action, valid_until, state) VALUES ('$1', now() + interval '${2:-1 hour}', 'pushing') RETURNING id" | head -1
}
# bts_event TASK GUID EVENT: the last such event of the .bts files in
# bgb.box, one line of JSON; bts_has: there is one
bts_event() {
	cat "$BOX"/*.bts 2>/dev/null | jq -c --argjson t "$1" --arg g "$2" --arg e "$3" \
		'.events[] | select(.task == $t and .client == $g and .event == $e)' | tail -1
}
bts_has() { [ -n "$(bts_event "$@")" ]; }
# bts_at_least N TASK GUID EVENT: the .bts files hold N such events or more
bts_at_least() {
	local n=$1
	shift
	[ "$(bts_count "$@")" -ge "$n" ]
}
bts_count() {
	cat "$BOX"/*.bts 2>/dev/null | jq -c --argjson t "$1" --arg g "$2" --arg e "$3" \
		'.events[] | select(.task == $t and .client == $g and .event == $e)' | wc -l
}

@test "a registered raw client gets hello and a pong for its keepalive" {
	registered 1
	g=$(guid 1)
	raw_open one "$(client_crt "$g")" "$(client_key "$g")"
	wait_for 10 raw_has one '"type":"hello"'
	raw_has one '"format":"sitesys.notify/1"'
	raw_has one '"server":"mp1.test"'
	raw_has one '"keepalive":30,"grace":5'
	raw_send one frame '{"type":"keepalive"}'
	wait_for 10 raw_has one '"type":"pong"'
	raw_close one
}

@test "an unregistered certificate is refused in the handshake and logged" {
	mkdir -p "$SITE_DIR/stranger"
	(umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$SITE_DIR/stranger/s.key")
	openssl req -x509 -new -key "$SITE_DIR/stranger/s.key" -subj "/CN=$(guid 99)" \
		-days 1 -out "$SITE_DIR/stranger/s.crt" 2>/dev/null
	fp=$(openssl x509 -in "$SITE_DIR/stranger/s.crt" -outform DER | sha256sum | cut -d' ' -f1)
	raw_open stranger "$SITE_DIR/stranger/s.crt" "$SITE_DIR/stranger/s.key"
	wait_for 10 gone "$SITE_DIR/raw-stranger.pid"
	refute raw_has stranger '"type"'
	grep -q "refused a connection from 127.0.0.1:[0-9]*: certificate $fp is not that of a registered, approved, unblocked client" "$SITE_DIR/notifyd.log"
	raw_close stranger
}

@test "a blocked client is refused, and its open connection closed" {
	registered 2
	g=$(guid 2)
	raw_open two "$(client_crt "$g")" "$(client_key "$g")"
	wait_for 10 raw_has two '"type":"hello"'
	psql_site -c "UPDATE client SET blocked = true WHERE guid = '$g'"
	wait_for 10 gone "$SITE_DIR/raw-two.pid"
	grep -q "closed the connection of $g from .*: its certificate is no longer accepted" "$SITE_DIR/notifyd.log"
	raw_close two
	raw_open two "$(client_crt "$g")" "$(client_key "$g")"
	wait_for 10 gone "$SITE_DIR/raw-two.pid"
	refute raw_has two '"type"'
	fp=$(openssl x509 -in "$(client_crt "$g")" -outform DER | sha256sum | cut -d' ' -f1)
	grep -q "refused a connection from .*: certificate $fp is not that of a registered" "$SITE_DIR/notifyd.log"
	raw_close two
}

@test "a malformed frame closes that connection and no other" {
	registered 3
	registered 4
	a=$(guid 3)
	b=$(guid 4)
	raw_open a "$(client_crt "$a")" "$(client_key "$a")"
	raw_open b "$(client_crt "$b")" "$(client_key "$b")"
	wait_for 10 raw_has a '"type":"hello"'
	wait_for 10 raw_has b '"type":"hello"'
	raw_send a printf '\x00\x01\x11\x70'
	wait_for 10 gone "$SITE_DIR/raw-a.pid"
	grep -q "closing the connection of $a from 127.0.0.1:[0-9]*: frame of 70000 bytes exceeds the limit of 65536" "$SITE_DIR/notifyd.log"
	raw_send b frame '{"type":"keepalive"}'
	wait_for 10 raw_has b '"type":"pong"'
	raw_send b frame '{"type":"nonsense"}'
	wait_for 10 gone "$SITE_DIR/raw-b.pid"
	grep -q "closing the connection of $b from .*: unknown frame type \"nonsense\"" "$SITE_DIR/notifyd.log"
	raw_close a
	raw_close b
}

@test "a released task reaches a raw client; receipt and result land in a .bts" {
	registered 5
	g=$(guid 5)
	raw_open five "$(client_crt "$g")" "$(client_key "$g")"
	wait_for 10 raw_has five '"type":"hello"'
	t=$(new_task quick-scan)
	release "$t" "$g"
	wait_for 10 raw_has five "\"type\":\"task\",\"task\":$t,\"action\":\"quick-scan\",\"expires\":\"20"
	wait_for 10 bts_has "$t" "$g" pushed
	raw_send five frame "{\"type\":\"received\",\"task\":$t}"
	raw_send five frame "{\"type\":\"result\",\"task\":$t,\"status\":\"failed\",\"exit\":3,\"output\":\"no disk\"}"
	wait_for 10 bts_has "$t" "$g" result
	bts_has "$t" "$g" received
	e=$(bts_event "$t" "$g" result)
	[ "$(jq -r '"\(.status) \(.exit) \(.output)"' <<<"$e")" = "failed 3 no disk" ]
	# every .bts is a whole sitesys.bts/1 document of this server
	for f in "$BOX"/*.bts; do
		[ "$(jq -r '.format + " " + .server' "$f")" = "sitesys.bts/1 mp1.test" ]
	done
	raw_close five
}

@test "a .bos lists the clients online, and an empty one starts the server" {
	first=$(ls "$BOX"/*.bos | head -1)
	[ "$(jq -c .online "$first")" = "[]" ]
	[ "$(jq -r .format "$first")" = sitesys.bos/1 ]
	registered 6
	g=$(guid 6)
	raw_open six "$(client_crt "$g")" "$(client_key "$g")"
	wait_for 10 raw_has six '"type":"hello"'
	n=$(ls "$BOX"/*.bos | wc -l)
	kill -USR1 "$(cat "$SITE_DIR/notifyd.pid")"
	wait_for 10 bash -c "[ \$(ls '$BOX'/*.bos | wc -l) -gt $n ]"
	last=$(ls "$BOX"/*.bos | tail -1)
	[ "$(jq -r --arg g "$g" '.online[] | select(.client == $g) | .via' "$last")" = tcp ]
	[ "$(jq -r '.since | test("^20..-..-..T..:..:..\\.[0-9]{3}Z$")' <<<"$(jq -c --arg g "$g" '.online[] | select(.client == $g)' "$last")")" = true ]
	raw_close six
}

# agent_conf N [LINES...]: the configuration of agent N (state in
# agent-N/), registered with the MP (a policy poll registers it); AGENT_N
# holds its GUID
agent_conf() {
	local n=$1
	shift
	cat >"$SITE_DIR/agent-$n.conf" <<-CONF
		[agent]
		state_dir = $SITE_DIR/agent-$n
		mp_url = https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1
		site_ca = $SITE_DIR/site-ca.crt
		timeout_seconds = 5
		notify_port = $NPORT
		notify_retry_max_seconds = 1
	CONF
	printf '%s\n' "$@" >>"$SITE_DIR/agent-$n.conf"
	"$AGENT" -c "$SITE_DIR/agent-$n.conf" policy >/dev/null 2>&1 || true
	AGENT_GUID=$("$AGENT" -c "$SITE_DIR/agent-$n.conf" show --json | jq -r .client)
}
# agent_start N: run agent N's daemon; its log agent-N.log
agent_start() {
	"$AGENT" -c "$SITE_DIR/agent-$1.conf" -f run 2>>"$SITE_DIR/agent-$1.log" &
	echo $! >"$SITE_DIR/agent-$1.pid"
}
# agent_online N GUID: agent N is connected (its log says so, as many
# times as given by COUNT, default 1)
agent_connected() {
	[ "$(grep -c 'notification server "mp1.test" .*: connected' "$SITE_DIR/agent-$1.log" 2>/dev/null)" -ge "${2:-1}" ]
}
agent_stop() { stop_pid "$SITE_DIR/agent-$1.pid"; }
# ran N: how many times agent N's test command ran (its commands write
# into ran/, which the agent may write to as [site] user)
ran() { cat "$SITE_DIR/ran/$1" 2>/dev/null | wc -l; }
ran_dir() { mkdir -p "$SITE_DIR/ran" && chmod 777 "$SITE_DIR/ran"; }

@test "the agent receives a task over TCP; its receipt and the command's result land in a .bts" {
	cat >"$SITE_DIR/scan.sh" <<-'SH'
		#!/bin/sh
		echo "scanned 42 files ($*)"
		exit 3
	SH
	chmod 755 "$SITE_DIR/scan.sh"
	agent_conf 10 "action_quick_scan = $SITE_DIR/scan.sh --quick now"
	g=$AGENT_GUID
	agent_start 10
	wait_for 20 agent_connected 10
	t=$(new_task quick-scan)
	release "$t" "$g"
	wait_for 10 bts_has "$t" "$g" result
	bts_has "$t" "$g" pushed
	bts_has "$t" "$g" received
	e=$(bts_event "$t" "$g" result)
	[ "$(jq -r .status <<<"$e")" = failed ]
	[ "$(jq -r .exit <<<"$e")" = 3 ]
	[ "$(jq -r .output <<<"$e")" = "scanned 42 files (--quick now)" ]
	# an action without a command is unsupported, without an exit
	t2=$(new_task full-scan)
	release "$t2" "$g"
	wait_for 10 bts_has "$t2" "$g" result
	e=$(bts_event "$t2" "$g" result)
	[ "$(jq -r '.status + " " + (.exit | tostring)' <<<"$e")" = "unsupported null" ]
	# policy polls now: the daemon's policy poll counter moves
	t3=$(new_task policy)
	release "$t3" "$g"
	wait_for 10 bts_has "$t3" "$g" result
	[ "$(jq -r .status <<<"$(bts_event "$t3" "$g" result)")" = succeeded ]
	# next-sup runs the agent's own "location sup --next" with its
	# configuration; no MP answers here: it fails and says why
	t4=$(new_task next-sup)
	release "$t4" "$g"
	wait_for 10 bts_has "$t4" "$g" result
	e=$(bts_event "$t4" "$g" result)
	[ "$(jq -r '.status + " " + (.exit | tostring)' <<<"$e")" = "failed 1" ]
	[[ "$(jq -r .output <<<"$e")" == "sitesys-agent: location: "* ]]
	agent_stop 10
}

@test "a notification server whose certificate the site revoked is refused once [agent] site_crl lists it" {
	local d=$SITE_DIR/certs port
	# a server for 127.0.0.2 with a certificate of the site, then revoked
	mkdir -p "$d"
	site_issue "$SITE_DIR" 127.0.0.2 >/dev/null
	cp "$SITE_DIR/ca/issued/127.0.0.2.crt" "$SITE_DIR/ca/issued/127.0.0.2.key" "$d/"
	"$SITECTL" -c "$SITE_DIR/ca.conf" ca revoke 127.0.0.2 >/dev/null
	cp "$SITE_DIR/ca/ca.crl" "$SITE_DIR/site-ca.crl"
	port=$(site_free_port)
	openssl s_server -quiet -tls1_3 -accept "127.0.0.2:$port" \
		-cert "$d/127.0.0.2.crt" -key "$d/127.0.0.2.key" </dev/null >/dev/null 2>&1 &
	echo $! >"$SITE_DIR/raw-crl.pid"
	agent_conf 24 "site_crl = $SITE_DIR/site-ca.crl"
	sed -i "s|^mp_url = .*|mp_url = https://127.0.0.2:$SITE_HTTPS_PORT/mp/v1|; s|^notify_port = .*|notify_port = $port|" \
		"$SITE_DIR/agent-24.conf"
	agent_start 24
	wait_for 10 grep -q "notification server.*certificate verify failed: certificate revoked" "$SITE_DIR/agent-24.log"
	refute agent_connected 24
	agent_stop 24
	stop_pid "$SITE_DIR/raw-crl.pid"
}

# ended PID: the process has ended (perhaps a zombie not yet reaped)
ended() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

@test "an action that runs past action_timeout_seconds is killed with what it started, and fails" {
	ran_dir
	cat >"$SITE_DIR/hang.sh" <<-SH
		#!/bin/sh
		echo "scanning"
		sleep 300 &
		echo \$! >"$SITE_DIR/ran/child"
		wait
	SH
	chmod 755 "$SITE_DIR/hang.sh"
	agent_conf 19 "action_full_scan = $SITE_DIR/hang.sh" "action_timeout_seconds = 2"
	g=$AGENT_GUID
	agent_start 19
	wait_for 20 agent_connected 19
	t=$(new_task full-scan)
	release "$t" "$g"
	wait_for 15 bts_has "$t" "$g" result
	e=$(bts_event "$t" "$g" result)
	[ "$(jq -r '.status + " " + (.exit | tostring)' <<<"$e")" = "failed -9" ]
	[ "$(jq -r .output <<<"$e")" = "scanning
[killed: it ran longer than 2 seconds]" ]
	# what the action started went with it (dead, or dead and not yet
	# reaped by init)
	child=$(cat "$SITE_DIR/ran/child")
	wait_for 5 ended "$child"
	grep -q "notification task $t: killed after 2 seconds" "$SITE_DIR/agent-19.log"
	agent_stop 19
}

@test "the same task released twice runs once, across a restart too" {
	ran_dir
	cat >"$SITE_DIR/once.sh" <<-SH
		#!/bin/sh
		echo ran >>"$SITE_DIR/ran/11"
		echo ok
	SH
	chmod 755 "$SITE_DIR/once.sh"
	agent_conf 11 "action_hardware_inventory = $SITE_DIR/once.sh"
	g=$AGENT_GUID
	agent_start 11
	wait_for 20 agent_connected 11
	t=$(new_task hardware-inventory)
	release "$t" "$g"
	wait_for 10 bts_has "$t" "$g" result
	[ "$(ran 11)" = 1 ]
	release "$t" "$g"
	wait_for 10 bash -c "[ \$(grep -c 'notification task $t was pushed again' '$SITE_DIR/agent-11.log') -ge 1 ]"
	wait_for 10 bts_at_least 2 "$t" "$g" received
	# and after a restart of the agent
	agent_stop 11
	agent_start 11
	wait_for 20 agent_connected 11 2
	release "$t" "$g"
	wait_for 10 bash -c "[ \$(grep -c 'notification task $t was pushed again' '$SITE_DIR/agent-11.log') -ge 2 ]"
	[ "$(ran 11)" = 1 ]
	agent_stop 11
}

@test "a task released while the agent is down is pushed when it connects within validity, not after" {
	ran_dir
	cat >"$SITE_DIR/late.sh" <<-SH
		#!/bin/sh
		echo "late \$1" >>"$SITE_DIR/ran/12"
	SH
	chmod 755 "$SITE_DIR/late.sh"
	agent_conf 12 "action_collect_logs = $SITE_DIR/late.sh valid" \
		"action_restart = $SITE_DIR/late.sh expired"
	g=$AGENT_GUID
	t=$(new_task collect-logs)
	release "$t" "$g"
	t2=$(new_task restart '4 seconds')
	release "$t2" "$g"
	# notifyd holds both; the second expires before the agent comes
	wait_for 10 bash -c "[ \"\$(psql -X -A -t -h '$SITE_PGHOST' -p '$SITE_PGPORT' -U postgres -d sitesys -c 'SELECT valid_until < now() FROM notify_task WHERE id = $t2')\" = t ]"
	agent_start 12
	wait_for 20 agent_connected 12
	wait_for 10 bts_has "$t" "$g" result
	refute bts_has "$t2" "$g" pushed
	grep -q "late valid" "$SITE_DIR/ran/12"
	refute grep -q "late expired" "$SITE_DIR/ran/12"
	agent_stop 12
}

@test "a bad frame on one connection leaves the agent's connection working" {
	agent_conf 13 "action_wake_up = /bin/echo awake"
	g=$AGENT_GUID
	agent_start 13
	wait_for 20 agent_connected 13
	registered 7
	r=$(guid 7)
	raw_open seven "$(client_crt "$r")" "$(client_key "$r")"
	wait_for 10 raw_has seven '"type":"hello"'
	raw_send seven printf '\x00\x00\x00\x00'
	wait_for 10 gone "$SITE_DIR/raw-seven.pid"
	grep -q "closing the connection of $r from .*: frame length 0" "$SITE_DIR/notifyd.log"
	t=$(new_task wake-up)
	release "$t" "$g"
	wait_for 10 bts_has "$t" "$g" result
	[ "$(jq -r '.status + " " + .output' <<<"$(bts_event "$t" "$g" result)")" = "succeeded awake" ]
	raw_close seven
	agent_stop 13
}

# script NAME BODY [SHA]: an approved script (its SHA-256 SHA, else the
# body's); prints its sha256
script() {
	local sha=${3:-$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)}
	psql_site -v name="$1" -v body="$2" -v sha="$sha" >/dev/null <<-'SQL'
		INSERT INTO script (sha256, name, body, approved)
		VALUES (:'sha', :'name', :'body', true);
	SQL
	echo "$sha"
}
# script_task SHA: a run-script task of that script, pushing; its id
script_task() {
	psql_site -c "INSERT INTO notify_task (action, script, valid_until, state) VALUES ('run-script', '$1', now() + interval '1 hour', 'pushing') RETURNING id" | head -1
}

@test "run-script runs an approved script whose SHA-256 matches, and refuses one that does not" {
	agent_conf 15
	g=$AGENT_GUID
	agent_start 15
	wait_for 20 agent_connected 15
	sha=$(script hello.sh "$(printf '#!/bin/sh\necho "hello from $(id -un)"\nexit 0\n')")
	t=$(script_task "$sha")
	release "$t" "$g"
	wait_for 10 bts_has "$t" "$g" result
	[[ "$(jq -r '.status + " " + .output' <<<"$(bts_event "$t" "$g" result)")" == "succeeded hello from "* ]]
	# a body that is not the one approved (the row was tampered with)
	bad=$(script evil.sh 'echo evil' "$(printf 'x' | sha256sum | cut -d' ' -f1)")
	t2=$(script_task "$bad")
	release "$t2" "$g"
	wait_for 10 bts_has "$t2" "$g" result
	e=$(bts_event "$t2" "$g" result)
	[ "$(jq -r .status <<<"$e")" = failed ]
	[[ "$(jq -r .output <<<"$e")" == *"the script \"evil.sh\" has SHA-256 "*", not the approved $bad"* ]]
	agent_stop 15
}

@test "a silent client is counted gone after keepalive and grace; the agent's keepalives keep it" {
	# 10 s and 1 s for the connections made after the reload
	n=$(grep -c "configuration reloaded" "$SITE_DIR/notifyd.log") || true
	sed -i 's/^keepalive_seconds = 30$/keepalive_seconds = 10/; s/^grace_seconds = 5$/grace_seconds = 1/' "$SITESYS_CONF"
	kill -HUP "$(cat "$SITE_DIR/notifyd.pid")"
	wait_for 10 bash -c "[ \$(grep -c 'configuration reloaded' '$SITE_DIR/notifyd.log') -gt $n ]"
	registered 8
	r=$(guid 8)
	agent_conf 16
	g=$AGENT_GUID
	agent_start 16
	wait_for 20 agent_connected 16
	raw_open eight "$(client_crt "$r")" "$(client_key "$r")"
	wait_for 10 raw_has eight '"keepalive":10,"grace":1'
	wait_for 20 grep -q "closed the connection of $r from .*: no keepalive within the interval and its grace: counted gone" "$SITE_DIR/notifyd.log"
	# the agent, connected before the silent one, has outlived 11 s
	refute grep -q "closed the connection of $g" "$SITE_DIR/notifyd.log"
	t=$(new_task wake-up)
	release "$t" "$g"
	wait_for 10 bts_has "$t" "$g" result
	raw_close eight
	agent_stop 16
	sed -i 's/^keepalive_seconds = 10$/keepalive_seconds = 30/; s/^grace_seconds = 1$/grace_seconds = 5/' "$SITESYS_CONF"
	kill -HUP "$(cat "$SITE_DIR/notifyd.pid")"
}

@test "while the database is down, pushes in memory are still delivered; notifyd connects again" {
	registered 9
	r=$(guid 9)
	raw_open nine "$(client_crt "$r")" "$(client_key "$r")"
	wait_for 10 raw_has nine '"type":"hello"'
	agent_conf 17 "action_wake_up = /bin/echo up"
	g=$AGENT_GUID
	t=$(new_task wake-up)
	release "$t" "$r" "$g"
	# the raw client got it: notifyd holds the agent's push too
	wait_for 10 raw_has nine "\"task\":$t,"
	site_pg_stop "$SITE_DIR"
	wait_for 20 grep -q "lost the database connection: .*; the pushes already loaded are still delivered" "$SITE_DIR/notifyd.log"
	agent_start 17
	wait_for 30 agent_connected 17
	wait_for 10 bts_has "$t" "$g" result
	site_as_pg "$SITE_PGBIN/pg_ctl" -D "$SITE_DIR/pg/data" -l "$SITE_DIR/pg/server.log" -w -t 60 start >/dev/null
	wait_for 30 grep -q "connected to the database again" "$SITE_DIR/notifyd.log"
	raw_close nine
	agent_stop 17
}

@test "a stopping server sends its clients away; they come back within the window" {
	agent_conf 14
	agent_start 14
	wait_for 20 agent_connected 14
	n=$(ls "$BOX"/*.bos | wc -l)
	stop_pid "$SITE_DIR/notifyd.pid"
	grep -q "the notification server is going away: connecting again in [0-9]* ms" "$SITE_DIR/agent-14.log"
	# the clean stop wrote an empty presence file
	last=$(ls "$BOX"/*.bos | tail -1)
	[ "$(jq -c .online "$last")" = "[]" ]
	notifyd_start
	wait_for 20 agent_connected 14 2
	agent_stop 14
}

@test "with TCP to the notification port blocked, the agent polls over HTTPS through nginx" {
	agent_conf 18 "action_wake_up = /bin/echo polled"
	g=$AGENT_GUID
	# nothing listens on this port: TCP fails at once
	sed -i "s/^notify_port = .*/notify_port = $(site_free_port)/" "$SITE_DIR/agent-18.conf"
	agent_start 18
	wait_for 20 grep -q "polling over HTTPS while TCP fails" "$SITE_DIR/agent-18.log"
	t=$(new_task wake-up)
	release "$t" "$g"
	wait_for 15 bts_has "$t" "$g" received
	# the result cuts the held poll short: well within poll_seconds (5)
	wait_for 4 bts_has "$t" "$g" result
	[ "$(jq -r '.status + " " + .output' <<<"$(bts_event "$t" "$g" result)")" = "succeeded polled" ]
	# presence says how it is connected
	n=$(ls "$BOX"/*.bos | wc -l)
	kill -USR1 "$(cat "$SITE_DIR/notifyd.pid")"
	wait_for 10 bash -c "[ \$(ls '$BOX'/*.bos | wc -l) -gt $n ]"
	[ "$(jq -r --arg g "$g" '.online[] | select(.client == $g) | .via' "$(ls "$BOX"/*.bos | tail -1)")" = http ]
	agent_stop 18
}

# online_are GUID...: each GUID online by the presence files notifymgr
# loaded (other tests' clients may be too)
online_are() {
	local g
	for g in "$@"; do
		[ "$(psql_site -c "SELECT online FROM client_online WHERE guid = '$g'")" = t ] || return 1
	done
}
ops_of() {
	"$SITECTL" operations "$1" --json | jq -r '.[0] | [.state, .targeted, .online,
		.pushed, .received, .succeeded, .failed, .unsupported, .expired] | join(" ")'
}

@test "end to end: sitectl notify through notifymgr and notifyd to agents; sitectl operations counts what they did" {
	psql_site -c "TRUNCATE client_online"
	agent_conf 21 "action_quick_scan = /bin/echo clean"
	g1=$AGENT_GUID
	agent_conf 22 "action_quick_scan = /bin/false"
	g2=$AGENT_GUID
	agent_conf 23 # no command for a quick scan: unsupported
	g3=$AGENT_GUID
	for n in 21 22 23; do agent_start $n; done
	for n in 21 22 23; do wait_for 20 agent_connected $n; done
	"$BUILD/sitesys-notifymgr" -f >/dev/null 2>>"$SITE_DIR/notifymgr.log" &
	echo $! >"$SITE_DIR/notifymgr.pid"
	# presence now, rather than at the next minute
	kill -USR1 "$(cat "$SITE_DIR/notifyd.pid")"
	wait_for 20 online_are "$g1" "$g2" "$g3"
	run "$SITECTL" notify quick-scan --client "$g1,$g2,$g3"
	[ "$status" -eq 0 ]
	[[ "$output" == *": quick-scan to named clients: 3 clients, about 3 online; valid 60 minutes" ]]
	t=$(sed -n 's/^task \([0-9]*\):.*/\1/p' <<<"$output")
	# --watch prints each change and returns once the task is done
	run timeout 60 "$SITECTL" operations "$t" --watch
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == *quick-scan*done* ]]
	[ "$(ops_of "$t")" = "done 3 3 3 3 1 1 1 0" ]
	[ "$(psql_site -c "SELECT output FROM notify_push WHERE task = $t AND guid = '$g1'")" = clean ]
	stop_pid "$SITE_DIR/notifymgr.pid"
	for n in 21 22 23; do agent_stop $n; done
}
