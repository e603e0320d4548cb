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
	CONF
	cp "$SITE_CA" "$SITE_DIR/site-ca.crt"
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
	notifyd_start
}

teardown_file() {
	for p in "$SITE_DIR"/raw-*.pid "$SITE_DIR"/agent-*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	stop_pid "$SITE_DIR/notifyd.pid"
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}

teardown() {
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
	! raw_has stranger '"type"'
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
	! raw_has two '"type"'
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
