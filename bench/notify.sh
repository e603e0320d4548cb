#!/bin/bash
# notify.sh - client notification at scale, each figure beside its
# baselines from the same run:
#   1. memory per idle TLS connection: sitesys-notifyd holding NOTIFY_CLIENTS
#      clients (sitesys-agent simulate), a bare OpenSSL 3 server
#      (bench/tls_idle_server) and mosquitto holding as many idle TLS 1.3
#      MQTT connections (mosquitto, one process, at most 19,000 here).
#      notifyd asks each client for its certificate and OpenSSL keeps it
#      in the session, 5 KB of heap for a P-256 one: the baselines are
#      measured both ways, asking for the client's certificate (the
#      simulator's first, which bare OpenSSL and mosquitto check) and
#      asking for none;
#   2. a push to all: from the release of a task (the insert of its
#      pushes) to the last client's receipt, beside 100 bytes written to
#      as many plain TCP sockets until the last has read them, beside a
#      bare OpenSSL server writing them over TLS until every client's
#      100-byte receipt is back, and beside mosquitto fanning one
#      message out to as many subscribers (libmosquitto's protocol,
#      spoken by bench/tls_idle_clients);
#   3. notifyd stopped and started under all its clients: the time until
#      every one is back, and how many resumed their TLS session.
# Everything runs on loopback addresses, the clients from 127.0.0.2 on.
# Memory is the servers' resident set before and after the connections,
# divided by their number. NOTIFY_WORKERS notifyd processes share the port.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/lib/site.bash
N=${NOTIFY_CLIENTS:-100000}
PER=${NOTIFY_PER_PROCESS:-18000} # simulated clients per process
WORKERS=${NOTIFY_WORKERS:-$(((N + 17999) / 18000))}
MQ=$((N < 19000 ? N : 19000))
SOURCES=$(((N + 19999) / 20000 + 1))

SITECTL=$BUILD/sitectl
site_bench_db
dir=$SITE_BENCH_DIR
pids=()
stop_all() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap 'stop_all; site_pg_stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
# NOTIFY_KEEP=DIR: a copy of the run's directory (logs, outputs) kept there
[ -z "${NOTIFY_KEEP:-}" ] ||
	trap 'stop_all; cp -r "$dir" "$NOTIFY_KEEP"; site_pg_stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
psql() { command psql -X -q -A -t -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d sitesys "$@"; }
now_us() { date +%s%6N; }
# rss PID...: the resident set of the processes, in KB
rss() { local k=0 p; for p in "$@"; do k=$((k + $(awk '/VmRSS/ {print $2}' /proc/$p/status))); done; echo $k; }
# wait_line FILE... PATTERN SECONDS: until each FILE has a line matching
wait_lines() {
	local pattern=$1 limit=$(($2 * 10)) i f ok
	shift 2
	for i in $(seq $limit); do
		ok=1
		for f in "$@"; do grep -q "$pattern" "$f" 2>/dev/null || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	echo "notify.sh: timed out waiting for \"$pattern\" in $*" >&2
	return 1
}

site_ca_init "$dir" >/dev/null
site_issue "$dir" 127.0.0.1 >/dev/null
crt=$dir/ca/issued/127.0.0.1.crt key=$dir/ca/issued/127.0.0.1.key
echo "notify: $N clients ($WORKERS notifyd workers, simulators of $PER clients, $SOURCES source addresses)"

# identities, registered and approved
"$BUILD/sitesys-agent" simulate make "$dir/ids" "$N" >/dev/null 2>&1 ||
	{ mkdir -p "$dir/ids"; "$BUILD/sitesys-agent" simulate make "$dir/ids" "$N" >/dev/null; }
psql -c "\\copy client (guid, name, fingerprint, certificate, approved) FROM '$dir/ids/clients.copy'"

# simulate PORT: the simulators against 127.0.0.1:PORT, outputs sim.K
simulate() {
	local k=0 first=0 n
	while [ $first -lt "$N" ]; do
		n=$((N - first < PER ? N - first : PER))
		"$BUILD/sitesys-agent" simulate run "$dir/ids" "127.0.0.1:$1" "$dir/ca/ca.crt" \
			$first $n 127.0.0.2 $((SOURCES - 1)) >"$dir/sim.$k" 2>>"$dir/sim.log" &
		pids+=($!)
		first=$((first + n)) k=$((k + 1))
	done
	SIMS=$k
}
sim_files() { local k; for k in $(seq 0 $((SIMS - 1))); do echo "$dir/sim.$k"; done; }
# the latest time US of PATTERN's lines across the simulators
latest() { cat $(sim_files) | awk -v p="$1" '$0 ~ p { if ($NF > m) m = $NF } END { print m }'; }

# ---- 1. notifyd ----
port=$(site_free_port)
mkdir -p "$dir/state"
[ "$(id -u)" != 0 ] || chown sitesys: "$dir/state"
cat >>"$SITESYS_CONF" <<-CONF
	[notifyd]
	listen = 127.0.0.1:$port
	cert = $crt
	key = $key
	server_name = bench
	http_socket =
	status_seconds = 1
	reconnect_window_seconds = ${NOTIFY_WINDOW:-60}
	workers = $WORKERS
	ticket_file = $dir/state/notifyd.tickets
	[log]
	level = info
CONF
# nd_start: notifyd, once each of its workers has reported to the
# database (connected, the clients it accepts loaded)
nd_start() {
	local i since
	since=$(psql -c "SELECT now()")
	"$BUILD/sitesys-notifyd" -f 2>>"$dir/notifyd.log" &
	nd=$!
	pids+=($nd)
	for i in $(seq 600); do
		[ "$(psql -c "SELECT count(*) FROM component WHERE name LIKE 'sitesys-notifyd%' AND state = 'running' AND started >= '$since'")" -ge "$WORKERS" ] && return 0
		kill -0 $nd 2>/dev/null || break
		sleep 0.1
	done
	echo "notify.sh: notifyd did not start" >&2
	cat "$dir/notifyd.log" >&2
	exit 1
}
nd_start
ndpids() { echo $nd $(pgrep -P $nd || true); }
r0=$(rss $(ndpids))
t0=$(now_us)
simulate "$port"
wait_lines "^connected" $((N / 200 + 60)) $(sim_files)
t1=$(latest "^connected")
sleep 2
r1=$(rss $(ndpids))
nd_kb=$(echo "($r1 - $r0) * 1024 / $N / 1000" | bc -l)
printf 'notifyd: %d clients connected (full handshakes) in %.1f s\n' "$N" "$(echo "($t1 - $t0) / 1000000" | bc -l)"

# ---- 2. a push to all ----
# from the start of the transaction that releases the task to all: the
# one that expands it, as sitesys-notifymgr does for a task without a rate
t0=$(now_us)
task=$(psql -c "WITH t AS (INSERT INTO notify_task (action, valid_until, state, targeted)
	VALUES ('policy', now() + interval '1 hour', 'pushing', $N) RETURNING id),
	p AS (INSERT INTO notify_push (task, guid, release_seq, released_at)
	SELECT t.id, c.guid, nextval('notify_release_seq'), now() FROM t, client c)
	SELECT id FROM t")
release_ms=$((($(now_us) - t0) / 1000))
wait_lines "^task $task received" 120 $(sim_files)
push_ms=$(echo "($(latest "^task $task received") - $t0) / 1000" | bc -l)
# when the last worker had written the task to all its clients (its log)
written_ms=0
while read -r at _; do
	ms=$((($(date -d "$at" +%s%6N) - t0) / 1000))
	[ $ms -le $written_ms ] || written_ms=$ms
done < <(grep "loaded .* released pushes" "$dir/notifyd.log")

# ---- 3. restart under all clients ----
kill -TERM $nd
wait $nd || true
t0=$(now_us)
marks=()
for f in $(sim_files); do marks+=($(grep -c '^connected' "$f")); done
nd_start
back_all() {
	local k=0 f
	for f in $(sim_files); do
		[ "$(grep -c '^connected' "$f")" -gt "${marks[$k]}" ] || return 1
		k=$((k + 1))
	done
}
for i in $(seq 1800); do back_all && break; sleep 0.1; done
back_all || { echo "notify.sh: not every client came back" >&2; exit 1; }
back_s=$(echo "($(latest "^connected") - $t0) / 1000000" | bc -l)
# "connected N resumed R at US": the R of each simulator's last line
resumed=$(for f in $(sim_files); do grep '^connected' "$f" | tail -1; done | awk '{ s += $4 } END { print s }')
refused=$(grep -c "refused" "$dir/notifyd.log" || true)
stop_all

# ---- baselines: a bare OpenSSL server, mosquitto, plain TCP ----
# the first simulated client's certificate and key, in PEM, for the
# baselines' clients to present (self-signed: mosquitto's CA file too)
head -1 "$dir/ids/clients.copy" | cut -f4 | sed 's/\\n/\n/g' >"$dir/client.crt"
head -1 "$dir/ids/keys" | perl -pe 's/([0-9a-f]{2})/chr hex $1/gie; s/\n$//' |
	openssl pkey -inform DER -out "$dir/client.key"

# bare MODE [push]: memory per connection of the bare server, asking for
# the client's certificate (verify) or not (none); with "push", also the
# time of 100 bytes to every client over TLS until every receipt is back
# (into bare.ms): the floor of a push with receipts
bare() {
	local bport bare r0 r1 k=0 first n i t0
	bport=$(site_free_port)
	"$BUILD/bench/tls_idle_server" "127.0.0.1:$bport" "$crt" "$key" "$WORKERS" $1 >"$dir/bare.out" &
	bare=$!
	pids+=($bare)
	wait_lines listening 10 "$dir/bare.out"
	sleep 0.5
	r0=$(rss $bare $(pgrep -P $bare || true))
	for first in $(seq 0 $PER $((N - 1))); do
		n=$((N - first < PER ? N - first : PER))
		CLIENT_CERT=$dir/client.crt CLIENT_KEY=$dir/client.key \
			"$BUILD/bench/tls_idle_clients" "127.0.0.1:$bport" $n receipt "127.0.0.$((2 + k))" >"$dir/bare.$k" &
		pids+=($!)
		k=$((k + 1))
	done
	wait_lines "^ready" 300 $(for i in $(seq 0 $((k - 1))); do echo "$dir/bare.$i"; done)
	sleep 2
	r1=$(rss $bare $(pgrep -P $bare || true))
	if [ "${2:-}" = push ]; then
		t0=$(now_us)
		kill -USR1 $bare
		for i in $(seq 600); do
			[ "$(grep -c '^receipts' "$dir/bare.out")" -ge "$WORKERS" ] && break
			sleep 0.1
		done
		[ "$(grep -c '^receipts' "$dir/bare.out")" -ge "$WORKERS" ] ||
			{ echo "notify.sh: the bare server missed receipts" >&2; exit 1; }
		echo "($(awk '/^receipts/ { if ($4 > m) m = $4 } END { print m }' "$dir/bare.out") - $t0) / 1000" | bc -l >"$dir/bare.ms"
	fi
	stop_all
	echo "($r1 - $r0) * 1024 / $N / 1000" | bc -l
}
bare_cert_kb=$(bare verify push)
bare_ms=$(cat "$dir/bare.ms")
bare_kb=$(bare none)

# the same bytes to as many plain TCP sockets: the floor of a push
pport=$(site_free_port)
"$BUILD/bench/tls_idle_server" "127.0.0.1:$pport" "$crt" "$key" "$WORKERS" plain >"$dir/plain.out" &
plain=$!
pids+=($plain)
wait_lines listening 10 "$dir/plain.out"
sleep 0.5
k=0
for first in $(seq 0 $PER $((N - 1))); do
	n=$((N - first < PER ? N - first : PER))
	"$BUILD/bench/tls_idle_clients" "127.0.0.1:$pport" $n plain "127.0.0.$((2 + k))" >"$dir/plain.$k" &
	pids+=($!)
	k=$((k + 1))
done
plain_files=$(for i in $(seq 0 $((k - 1))); do echo "$dir/plain.$i"; done)
wait_lines "^ready" 300 $plain_files
sleep 1
t0=$(now_us)
kill -USR1 $plain
wait_lines "^received" 60 $plain_files
plain_ms=$(echo "($(cat $plain_files | awk '/^received/ { if ($4 > m) m = $4 } END { print m }') - $t0) / 1000" | bc -l)
stop_all

# mosquitto REQUIRE: memory per connection of mosquitto holding MQ
# subscribers, asking for their certificate (true) or not (false); with
# "push", also the time of one message to all of them (into mq_ms)
mosquitto_run() {
	local mport mq r0 r1 pub_us t0
	mport=$(site_free_port)
	cat >"$dir/mosquitto.conf" <<-CONF
		per_listener_settings false
		allow_anonymous true
		listener $mport 127.0.0.1
		certfile $crt
		keyfile $key
		cafile $dir/client.crt
		require_certificate $1
		tls_version tlsv1.3
		max_connections -1
		persistence false
		log_dest stderr
		log_type error
		user $(id -un)
	CONF
	mosquitto -c "$dir/mosquitto.conf" 2>>"$dir/mosquitto.log" &
	mq=$!
	pids+=($mq)
	for i in $(seq 100); do ss -ltn | grep -q ":$mport " && break; sleep 0.1; done
	r0=$(rss $mq)
	CLIENT_CERT=$dir/client.crt CLIENT_KEY=$dir/client.key \
		"$BUILD/bench/tls_idle_clients" "127.0.0.1:$mport" $MQ mqtt-sub 127.0.0.2 >"$dir/mq.out" &
	pids+=($!)
	wait_lines "^ready" 300 "$dir/mq.out"
	grep -q "^ready $MQ failed 0" "$dir/mq.out" ||
		{ echo "notify.sh: mosquitto refused clients: $(cat "$dir/mq.out")" >&2; exit 1; }
	sleep 2
	r1=$(rss $mq)
	if [ "${2:-}" = push ]; then
		# one publish: mosquitto_pub's own start and TLS handshake are
		# measured alone first (no subscriber on that topic) and taken off
		t0=$(now_us)
		mosquitto_pub -h 127.0.0.1 -p $mport --cafile "$dir/ca/ca.crt" \
			--cert "$dir/client.crt" --key "$dir/client.key" -t bench/none -m x
		pub_us=$(($(now_us) - t0))
		t0=$(now_us)
		mosquitto_pub -h 127.0.0.1 -p $mport --cafile "$dir/ca/ca.crt" \
			--cert "$dir/client.crt" --key "$dir/client.key" -t bench/all -m "$(printf '%0100d' 0)"
		wait_lines "^received" 60 "$dir/mq.out"
		echo "($(awk '/^received/ {print $4}' "$dir/mq.out") - $t0 - $pub_us) / 1000" | bc -l >"$dir/mq.ms"
	fi
	stop_all
	echo "($r1 - $r0) * 1024 / $MQ / 1000" | bc -l
}
mq_cert_kb=$(mosquitto_run true push)
mq_ms=$(cat "$dir/mq.ms")
mq_kb=$(mosquitto_run false)

printf '%-48s %6.1f KB   bare OpenSSL %6.1f KB   mosquitto (%d) %6.1f KB   %.2fx of mosquitto\n' \
	"memory per idle TLS connection, notifyd" "$nd_kb" "$bare_cert_kb" "$MQ" "$mq_cert_kb" "$(echo "$nd_kb / $mq_cert_kb" | bc -l)"
printf '%-48s %6s      bare OpenSSL %6.1f KB   mosquitto (%d) %6.1f KB   (no client certificate asked)\n' \
	"" "" "$bare_kb" "$MQ" "$mq_kb"
printf '%-48s %6.0f ms   plain TCP, same bytes %6.0f ms   mosquitto to %d subscribers %6.0f ms\n' \
	"a push to $N clients, until every receipt" "$push_ms" "$plain_ms" "$MQ" "$mq_ms"
printf '%-48s %6s      bare OpenSSL, 100 bytes each and a receipt back %6.0f ms\n' \
	"" "" "$bare_ms"
printf '%-48s %6d ms released (pushes inserted, committed), %d ms written by every worker\n' \
	"  of which" "$release_ms" "$written_ms"
printf '%-48s %6.1f s    %d of %d TLS sessions resumed, %d refusals logged\n' \
	"notifyd restarted: until every client is back" "$back_s" "$resumed" "$N" "$refused"
