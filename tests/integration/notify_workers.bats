#!/usr/bin/env bats
# sitesys-notifyd's workers: several processes on one port (SO_REUSEPORT),
# each reporting its own clients; the session-ticket keys they share and
# keep across restarts, so that clients resume their TLS sessions; a
# worker that dies started again; accepts paced while handshakes are under
# way. Raw clients are openssl s_client; all traffic on 127.0.0.1.

load helpers

NOTIFYD=$BUILD/sitesys-notifyd
C1=GUID:00000000-0000-4000-8000-00000000b001
C2=GUID:00000000-0000-4000-8000-00000000b002

setup_file() {
	site_setup_file
	chmod 755 "$SITE_DIR" # the daemons run as [site] user when root
	"$SITECTL" db init >/dev/null
	"$SITECTL" inbox init >/dev/null
	register_direct $C1
	register_direct $C2
	NPORT=$(site_free_port)
	export NPORT
	mkdir -p "$SITE_DIR/state"
	[ "$(id -u)" != 0 ] || chown sitesys: "$SITE_DIR/state"
	cat >>"$SITESYS_CONF" <<-CONF
		[notifyd]
		listen = 127.0.0.1:$NPORT
		cert = $SITE_DIR/ca/issued/127.0.0.1.crt
		key = $SITE_DIR/ca/issued/127.0.0.1.key
		server_name = mp1.test
		http_socket =
		workers = 2
		ticket_file = $SITE_DIR/state/notifyd.tickets
		status_seconds = 1
		reconnect_window_seconds = 1
	CONF
	notifyd_start
}

teardown_file() {
	stop_pid "$SITE_DIR/agent.pid"
	stop_pid "$SITE_DIR/notifyd.pid"
	site_teardown_file
}

teardown() {
	site_teardown
}


# workers_running N: N workers of the notifyd started last have reported
workers_running() {
	[ "$(psql_site -c "SELECT count(*) FROM component WHERE name LIKE 'sitesys-notifyd/%'
		AND state = 'running' AND started >= '$STARTED'")" = "$1" ]
}
notifyd_start() {
	STARTED=$(psql_site -c "SELECT now()")
	"$NOTIFYD" -f 2>>"$SITE_DIR/notifyd.log" &
	echo $! >"$SITE_DIR/notifyd.pid"
	wait_for 20 workers_running 2 || { tail -20 "$SITE_DIR/notifyd.log" >&2; psql_site -c "SELECT name, pid, state, started, now() FROM component" >&2; return 1; }
}

# hello GUID [SESSION-IN] [SESSION-OUT]: one TLS connection as GUID that
# waits for the hello; s_client's report in SITE_DIR/s_client.out
hello() {
	local f=$SITE_DIR/clients/${1#GUID:} args=()
	[ -z "${2:-}" ] || args+=(-sess_in "$2")
	[ -z "${3:-}" ] || args+=(-sess_out "$3")
	sleep 1 | timeout 10 openssl s_client -tls1_3 -connect 127.0.0.1:$NPORT \
		-CAfile "$SITE_CA" -cert "$f.crt" -key "$f.key" "${args[@]}" \
		>"$SITE_DIR/s_client.out" 2>&1 || true
	grep -aq '"type":"hello"' "$SITE_DIR/s_client.out"
}
reused() { grep -q '^Reused, TLSv1.3' "$SITE_DIR/s_client.out"; }

@test "two workers share the port, each its own process and status row" {
	[ "$(pgrep -P "$(cat "$SITE_DIR/notifyd.pid")" | wc -l)" = 2 ]
	psql_site -c "SELECT pid FROM component WHERE name LIKE 'sitesys-notifyd/%'" >"$SITE_DIR/pids"
	[ "$(sort -u "$SITE_DIR/pids" | wc -l)" = 2 ]
	grep -q "started 2 workers" "$SITE_DIR/notifyd.log"
	# each writes its own presence snapshot, marked with its number
	kill -USR1 "$(cat "$SITE_DIR/notifyd.pid")"
	wait_for 10 bash -c "cat '$SITE_DIR'/inbox/bgb.box/incoming/*.bos | jq -s -e 'map(.worker) | unique == [0, 1]' >/dev/null"
	hello $C1
}

@test "a client resumes its TLS session on any worker and after a restart" {
	hello $C1 "" "$SITE_DIR/c1.sess"
	refute reused
	# the kernel spreads the connections: some land on each worker, and
	# every one resumes (tickets are sealed with the keys they share)
	for _ in 1 2 3 4 5 6; do
		hello $C1 "$SITE_DIR/c1.sess"
		reused
	done
	stop_pid "$SITE_DIR/notifyd.pid"
	notifyd_start
	hello $C1 "$SITE_DIR/c1.sess"
	reused
	[ "$(stat -c %a "$SITE_DIR/state/notifyd.tickets")" = 600 ]
	[ "$(wc -l <"$SITE_DIR/state/notifyd.tickets")" = 1 ]
	# a resumed session is no way around a block: the client is asked for
	hello $C2 "" "$SITE_DIR/c2.sess"
	psql_site -c "UPDATE client SET blocked = true WHERE guid = '$C2'"
	wait_for 10 refute hello $C2 "$SITE_DIR/c2.sess"
	reused
	grep -q "is not that of a registered, approved, unblocked client" "$SITE_DIR/notifyd.log"
	psql_site -c "UPDATE client SET blocked = false WHERE guid = '$C2'"
}

@test "a worker that dies is started again, and clients connect on" {
	local victim
	victim=$(pgrep -P "$(cat "$SITE_DIR/notifyd.pid")" | head -1)
	kill -KILL "$victim"
	wait_for 10 grep -q "worker [01] (pid $victim) was killed by signal 9; starting it again" "$SITE_DIR/notifyd.log"
	wait_for 10 bash -c "[ \$(pgrep -P $(cat "$SITE_DIR/notifyd.pid") | wc -l) = 2 ]"
	for _ in 1 2 3 4; do hello $C2; done
}

@test "an agent resumes its TLS session with the notification server after a restart" {
	local conf=$SITE_DIR/agent.conf g crt fp
	cat >"$conf" <<-CONF
		[agent]
		state_dir = $SITE_DIR/agent
		mp_url = https://127.0.0.1:$(site_free_port)/mp/v1
		site_ca = $SITE_DIR/site-ca.crt
		timeout_seconds = 2
		notify_port = $NPORT
		notify_retry_max_seconds = 2
		[log]
		level = debug
	CONF
	cp "$SITE_CA" "$SITE_DIR/site-ca.crt" # readable by the agent's user
	g=$("$BUILD/sitesys-agent" -c "$conf" show --json | jq -r .client)
	crt=$SITE_DIR/agent/identity.crt
	fp=$(openssl x509 -in "$crt" -outform DER | sha256sum | cut -d' ' -f1)
	psql_site -c "INSERT INTO client (guid, name, fingerprint, certificate, approved)
		VALUES ('$g', 'agent', '$fp', \$\$$(cat "$crt")\$\$, true)"
	sed -i 's/^level = info$/level = debug/' "$SITESYS_CONF"
	grep -q '^\[log\]' "$SITESYS_CONF" || printf '[log]\nlevel = debug\n' >>"$SITESYS_CONF"
	stop_pid "$SITE_DIR/notifyd.pid"
	notifyd_start
	"$BUILD/sitesys-agent" -c "$conf" -f run >/dev/null 2>>"$SITE_DIR/agent.log" &
	echo $! >"$SITE_DIR/agent.pid"
	wait_for 20 grep -q "client $g connected from" "$SITE_DIR/notifyd.log"
	refute grep -q "client $g connected from .* (session resumed)" "$SITE_DIR/notifyd.log"
	stop_pid "$SITE_DIR/notifyd.pid"
	notifyd_start
	# told to come back within a second, it does, resuming
	wait_for 20 grep -q "client $g connected from .* (session resumed)" "$SITE_DIR/notifyd.log"
	stop_pid "$SITE_DIR/agent.pid"
}

@test "with its handshakes under way, a worker takes no more until one ends" {
	stop_pid "$SITE_DIR/notifyd.pid"
	sed -i 's/^workers = 2$/workers = 1\nhandshakes = 1/' "$SITESYS_CONF"
	STARTED=$(psql_site -c "SELECT now()")
	"$NOTIFYD" -f 2>>"$SITE_DIR/notifyd.log" &
	echo $! >"$SITE_DIR/notifyd.pid"
	wait_for 20 bash -c "[ \"\$(psql -X -A -t -h '$SITE_PGHOST' -p '$SITE_PGPORT' -U postgres sitesys -c \"SELECT count(*) FROM component WHERE name = 'sitesys-notifyd' AND started >= '$STARTED'\")\" = 1 ]"
	# a connection that never says hello holds the one handshake
	exec {STALL}<>/dev/tcp/127.0.0.1/$NPORT
	local f=$SITE_DIR/clients/${C1#GUID:}
	# (the stall's descriptor closed in the client's shell, or it would
	# hold the stall open)
	(
		exec {STALL}>&-
		sleep 3 | timeout 10 openssl s_client -tls1_3 -connect 127.0.0.1:$NPORT \
			-CAfile "$SITE_CA" -cert "$f.crt" -key "$f.key" >"$SITE_DIR/waiting.out" 2>&1
	) &
	local waiting=$!
	# queued, not refused: for a second it gets nowhere
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		refute grep -aq '"type":"hello"' "$SITE_DIR/waiting.out"
		sleep 0.1
	done
	exec {STALL}>&-
	wait_for 10 grep -aq '"type":"hello"' "$SITE_DIR/waiting.out"
	wait "$waiting" || true
}

