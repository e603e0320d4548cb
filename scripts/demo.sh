#!/bin/bash
# demo.sh start|stop - a private sitesys site under ./run/: its own
# PostgreSQL cluster, nginx on a loopback port, the inboxes; then the flows
# that work today, shown on the terminal.
set -eu
cd "$(dirname "$0")/.."
TOP=$PWD
BUILD=${BUILD:-build}
SITECTL=$TOP/$BUILD/sitectl
. tests/lib/site.bash

# PostgreSQL (as postgres) and nginx's workers (as sitesys) must reach the
# run directory; a checkout under /root is out of their reach, so the site
# then lives in /var/tmp and ./run points there.
run_dir() {
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$TOP"; then
		echo /var/tmp/sitesys-demo
	else
		echo "$TOP/run"
	fi
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
	printf '$'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

stop() {
	local dir
	dir=$(run_dir)
	[ -d "$dir" ] || { echo "demo: not running"; return 0; }
	RUN=$dir
	stop_daemon agent1
	stop_daemon agent2
	stop_daemon agent3
	stop_daemon sitesys-fsp
	stop_daemon sitesys-sender
	stop_daemon sitesys-receiver
	site_nginx_quit "$dir/receiver-nginx/nginx.pid"
	stop_daemon sitesys-mp
	stop_daemon sitesys-statesys
	stop_daemon sitesys-notifyd
	stop_daemon sitesys-notifymgr
	site_nginx_stop "$dir"
	site_pg_stop "$dir"
	echo "demo: stopped (its files stay in $dir until the next make demo)"
}

# daemon NAME ARGS...: start a sitesys daemon in the background, logging
# to run/logs/NAME.log; its PID goes to run/NAME.pid
daemon() {
	local name=$1
	shift
	"$TOP/$BUILD/$name" -f "$@" </dev/null 2>>"$RUN/logs/$name.log" &
	echo $! >"$RUN/$name.pid"
}

stop_daemon() {
	local pidfile=$RUN/$1.pid pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$pidfile"
}

# wait_until SECONDS WHAT COMMAND...: poll until COMMAND succeeds
wait_until() {
	local limit=$1 what=$2 i
	shift 2
	for i in $(seq 1 $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "demo: gave up after $limit s waiting for $what" >&2
	return 1
}

q() { psql -X -q -A -t -h "$RUN/pgsock" -p "$SITE_PGPORT" -U postgres sitesys -c "$1"; }
statsys_empty() { [ -z "$(ls "$RUN/inbox/statsys.box/incoming")" ]; }
agent() { local n=$1; shift; "$TOP/$BUILD/sitesys-agent" -c "$RUN/agent$n.conf" "$@"; }
# the same, shown as a person would type it
agent_shown() {
	local n=$1
	shift
	printf '$ sitesys-agent -c run/agent%s.conf' "$n"
	printf ' %q' "$@"
	printf '\n'
	agent "$n" "$@"
}
# as_pc N CURL-ARGS...: curl to the MP as pc N, with its own identity
as_pc() {
	local n=$1
	shift
	curl -sS --cacert "$RUN/site-ca.crt" --cert "$RUN/agents/pc$n/identity.crt" \
		--key "$RUN/agents/pc$n/identity.key" "$@"
}
sql() {
	printf '$ psql sitesys -c %q\n' "$1"
	q "$1"
}

# fsp_host_config: the FSP as on a host of its own, run/fsp1/: its own
# sitesys.conf and inboxes, no database, and sitesys-sender delivering its
# statsys.box to the site server's receiver with the FSP's certificate
fsp_host_config() {
	local d=$RUN/fsp1
	mkdir -p "$d/inbox"
	site_issue "$RUN" fsp1.demo.example fsp
	site_sender_tls "$RUN" "$d" fsp1.demo.example
	[ "$(id -u)" != 0 ] || chown -R sitesys: "$d"
	{
		cat <<-CONF
		# the fallback status point's host (in the demo, a directory)
		[site]
		inbox_dir = $d/inbox
		fastcgi_group = $([ "$(id -u)" = 0 ] && site_web_user)
		[log]
		level = info
		[fsp]
		fastcgi_socket = $RUN/fsp.sock
		threads = 8
		# the original's 10,000 per hour, shrunk so it can be watched
		throttle_messages = 10
		throttle_seconds = 10
		# the demo's agents all post from 127.0.0.1, one client address
		source_max_messages = 1000
	CONF
		site_sender_conf "$d" "https://127.0.0.1:$RECV_PORT" fsp1.demo.example "$d/sender.json"
		printf 'boxes = statsys.box\nretry_max_seconds = 5\n'
	} >"$d/sitesys.conf"
}

site_config() {
	cat >>"$SITESYS_CONF" <<-CONF
		[log]
		level = info
		[statesys]
		# a real site waits 2,880 minutes before asking; the demo ages its
		# gap by hand and checks every minute
		resync_check_minutes = 1
		[mp]
		fastcgi_socket = $RUN/mp.sock
		threads = 8
		statemsg_send_minutes = 1
		policy_poll_minutes = 1
		[receiver]
		fastcgi_socket = $RUN/receiver.sock
		threads = 4
		[notifyd]
		listen = 127.0.0.1:$NOTIFY_PORT
		cert = $RUN/ca/issued/127.0.0.1.crt
		key = $RUN/ca/issued/127.0.0.1.key
		server_name = mp1.demo
		workers = 2
		ticket_file = $RUN/state/notifyd.tickets
		http_socket = $RUN/notifyd.sock
		poll_seconds = 20
		status_seconds = 1
	CONF
	local n
	# what an agent is installed with: the site CA's certificate, which
	# its management points' certificates must come from
	cp "$SITE_CA" "$RUN/site-ca.crt"
	cp "$RUN/ca/ca.crl" "$RUN/site-ca.crl"
	for n in 1 2 3; do
		cat >"$RUN/agent$n.conf" <<-CONF
			[site]
			inbox_dir = $RUN/inbox
			[agent]
			state_dir = $RUN/agents/pc$n
			name = pc$n
			mp_url = https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1
			site_ca = $RUN/site-ca.crt
			site_crl = $RUN/site-ca.crl
			fsp_url = http://127.0.0.1:$SITE_HTTP_PORT/fsp/v1
			timeout_seconds = 5
			notify_port = $NOTIFY_PORT
			action_quick_scan = /bin/echo quick scan of pc$n: no threat found
			action_hardware_inventory = /usr/bin/uname -srm
		CONF
	done
	echo "ad_site = Branch-A" >>"$RUN/agent1.conf"
	# pc3's firewall blocks the notification port: it falls back to HTTPS
	sed -i "s/^notify_port = .*/notify_port = $(site_free_port)/" "$RUN/agent3.conf"
}

start_site() {
	[ ! -d "$RUN" ] || stop >/dev/null
	rm -rf "$RUN" "$TOP/run"
	mkdir -p "$RUN/logs"
	[ "$RUN" = "$TOP/run" ] || ln -s "$RUN" "$TOP/run"

	step "a private site under ./run/"
	site_pg_start "$RUN"
	echo "PostgreSQL: database sitesys on unix socket $RUN/pgsock, port $SITE_PGPORT"
	step "the site's certificate authority, and the management point's certificate"
	printf '[ca]\ndir = %s/ca\n' "$RUN" >"$RUN/ca.conf"
	show "$SITECTL" -c "$RUN/ca.conf" ca init --name "Demo site CA"
	show "$SITECTL" -c "$RUN/ca.conf" ca issue --server 127.0.0.1 --role mp
	site_nginx_start "$RUN"
	echo "nginx:      https://127.0.0.1:$SITE_HTTPS_PORT/ (management point: HTTPS, client"
	echo "            certificates), http://127.0.0.1:$SITE_HTTP_PORT/ (fallback status point)"
	site_conf "$RUN"
	NOTIFY_PORT=$(site_free_port)
	site_config
	cd "$RUN"
	echo "config:     $SITESYS_CONF; logs in run/logs/"
	show "$SITECTL" db init
	show "$SITECTL" site add DEM --name "Demo primary site"
	show "$SITECTL" inbox init
	[ "$(id -u)" != 0 ] || chown sitesys: "$RUN/logs" "$RUN"

	step "the roles: state message processor, management point with its notification server, fallback status point, notification manager"
	mkdir -p "$RUN/state"
	[ "$(id -u)" != 0 ] || chown sitesys: "$RUN/state"
	daemon sitesys-statesys
	daemon sitesys-mp
	daemon sitesys-receiver
	RECV_PORT=$(site_free_port)
	fsp_host_config
	daemon sitesys-fsp -c "$RUN/fsp1/sitesys.conf"
	daemon sitesys-sender -c "$RUN/fsp1/sitesys.conf"
	daemon sitesys-notifymgr
	daemon sitesys-notifyd
	wait_until 10 "the MP's socket" test -S "$RUN/mp.sock"
	wait_until 10 "the FSP's socket" test -S "$RUN/fsp.sock"
	wait_until 10 "notifyd's HTTP socket" test -S "$RUN/notifyd.sock"
	site_nginx_fcgi "$RUN" /mp/v1/ "$RUN/mp.sock"
	site_nginx_fcgi "$RUN" /fsp/v1/ "$RUN/fsp.sock"
	site_nginx_poll "$RUN" "$RUN/notifyd.sock"
	wait_until 10 "the receiver's socket" test -S "$RUN/receiver.sock"
	site_receiver_nginx "$RUN" 127.0.0.1 "$RECV_PORT" "$RUN/receiver.sock" 127.0.0.1
	echo "sitesys-statesys, sitesys-mp, sitesys-fsp and sitesys-notifymgr are running;"
	echo "nginx passes /mp/v1/ (HTTPS) and /fsp/v1/ (plain HTTP) to them;"
	echo "the FSP runs as on a host of its own (run/fsp1/: its own config and"
	echo "inboxes): sitesys-sender puts what it forwards into the site server's"
	echo "statsys.box through sitesys-receiver, behind nginx on 127.0.0.1:$RECV_PORT"
	echo "(HTTPS, the FSP's own site certificate);"
	echo "sitesys-notifyd (two workers) listens on 127.0.0.1:$NOTIFY_PORT, and its HTTP"
	echo "fallback behind nginx's /notify/v1/"
	echo
	echo "The site's record of which server holds which role (here all are this"
	echo "host; installed from the packages, each would have its own, README"
	echo "\"Install\"). The FSP's throttle reaches it through its sitesys.conf:"
	show "$SITECTL" role add ps1.demo.example site-server --site DEM
	show "$SITECTL" role add mp1.demo.example mp --site DEM --intranet-fqdn mp1.demo.example
	show "$SITECTL" role add fsp1.demo.example fsp --site DEM \
		--internet-fqdn fsp1.demo.example --throttle-messages 10 --throttle-seconds 10
	show "$SITECTL" role list
	show "$SITECTL" role config fsp1.demo.example
	echo "An FSP takes anonymous HTTP: beside a management point it is refused:"
	show "$SITECTL" role add mp1.demo.example fsp || true

	step "three managed computers: sitesys-agent pc1, pc2, pc3"
	local n
	for n in 1 2 3; do
		"$TOP/$BUILD/sitesys-agent" -c "$RUN/agent$n.conf" -f run \
			</dev/null 2>>"$RUN/logs/agent$n.log" &
		echo $! >"$RUN/agent$n.pid"
	done
	for n in 1 2 3; do
		wait_until 15 "pc$n to register" grep -q "registered" "$RUN/logs/agent$n.log"
	done
	echo "Each agent made its own key and a certificate naming its GUID, and"
	echo "registered it over HTTPS; the site approved it (client-approval auto):"
	show "$SITECTL" client list
}

flow_mp() {
	step "1. three agents raise state messages and send them through the MP"
	local n
	for n in 1 2 3; do
		agent $n state --topic-type 800 --topic-id client-deployment --state 400 >/dev/null
		agent $n state --topic-type 500 --topic-id KB5031356 --state 2 >/dev/null
		agent $n state --topic-type 500 --topic-id KB5032190 --state $((n % 3 + 1)) >/dev/null
	done
	agent_shown 1 state --topic-type 1000 --topic-id mp-communication --state 1
	for n in 1 2 3; do agent_shown $n send; done
	wait_until 30 "statesys" statsys_empty
	sleep 1
	show "$SITECTL" client list
	show "$SITECTL" report state --topic-type 500
	echo "(the history: a partition a day, the next days' made ahead, old days dropped whole)"
	show "$SITECTL" report history --exact
}

flow_fsp() {
	step "2. the MP stops: the agents fall back to the FSP, which forwards at its throttle"
	stop_daemon sitesys-mp
	echo "(sitesys-mp stopped; nginx now answers 502 for /mp/v1/)"
	local n i
	for n in 1 2 3; do
		for i in $(seq 1 10); do
			agent $n state --topic-type 401 --topic-id "baseline-$i" --state 1 >/dev/null
		done
		agent_shown $n send
	done
	echo "30 messages are spooled at the FSP; it forwards at most 10 every 10 s:"
	for i in $(seq 1 5); do
		printf '  after %2d s: %s messages loaded, fsp.box holds %s file(s)\n' \
			$(((i - 1) * 6)) \
			"$(q "SELECT count(*) FROM statemsg_history WHERE topic_type = 401")" \
			"$(ls "$RUN/fsp1/inbox/fsp.box/incoming" | wc -l)"
		[ "$(q "SELECT count(*) FROM statemsg_history WHERE topic_type = 401")" = 30 ] && break
		sleep 6
	done
	echo "What the FSP forwarded went by its sender; on the FSP's host:"
	show "$SITECTL" -c "$RUN/fsp1/sitesys.conf" status 2>/dev/null || true
	daemon sitesys-mp
	wait_until 10 "the MP" test -S "$RUN/mp.sock"
	echo "(sitesys-mp started again)"
}

flow_resync() {
	step "3. a message is lost: statesys sees the gap and asks for a resync"
	local serial lost
	serial=$(agent 2 state --topic-type 500 --topic-id KB5033375 --state 2)
	lost=$(ls "$RUN/agents/pc2/outbox/incoming" | tail -1)
	rm "$RUN/agents/pc2/outbox/incoming/$lost"
	echo "(pc2 raised serial $serial; the demo deletes it from pc2's outbox: lost in transit)"
	agent 2 state --topic-type 500 --topic-id KB5033375 --state 3 >/dev/null
	agent_shown 2 send
	wait_until 30 "statesys" statsys_empty
	sleep 1
	show "$SITECTL" client show "$(agent 2 show --json | jq -r .client)"
	echo "A gap must be 2,880 minutes old before statesys asks (late messages are"
	echo "normal); the demo ages it by hand:"
	sql "UPDATE client_missing_range SET detected = now() - interval '2 days'"
	echo "statesys checks every minute; waiting for its check ..."
	wait_until 75 "the resync request" sh -c \
		"[ \"\$(psql -X -A -t -h '$RUN/pgsock' -p '$SITE_PGPORT' -U postgres sitesys -c \"select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and LastResyncClientCompletedTime is null\")\" = 1 ]"
	show "$SITECTL" report resync-outstanding
	echo "pc2 polls its policy, finds the request, and resends its whole cache"
	echo "renumbered from its current serial, with topic 700 state 2, in one batch:"
	agent_shown 2 policy
	wait_until 30 "the resync to complete" sh -c \
		"[ \"\$(psql -X -A -t -h '$RUN/pgsock' -p '$SITE_PGPORT' -U postgres sitesys -c \"select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and LastResyncClientCompletedTime is null\")\" = 0 ]"
	show "$SITECTL" report resync-outstanding
	sql "select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and (LastResyncIssuedTime > LastResyncClientCompletedTime)"
	sql "select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and LastResyncClientCompletedTime is null"
}

flow_location() {
	step "4. boundaries: which distribution point may a client use, and when?"
	echo "The seed's worked example: a client in BG_A, whose neighbours are BG_B"
	echo "(fallback after 10 minutes) and BG_C (after 20); the site server's DP"
	echo "is in the site's default group (after 120 minutes, the default)."
	show "$SITECTL" boundary add branch-a --type subnet --value 10.1.2.0/24
	show "$SITECTL" bg add BG_A --site DEM
	local g s
	for g in B C; do "$SITECTL" bg add BG_$g --site DEM; done
	show "$SITECTL" bg add-boundary BG_A branch-a
	for s in dp-a1:BG_A dp-a2:BG_A dp-b1:BG_B dp-c1:BG_C \
		'site:Default-Site-Boundary-Group<DEM>'; do
		"$SITECTL" server add "${s%%:*}.demo.example" --site DEM --role dp
		"$SITECTL" bg add-server "${s#*:}" "${s%%:*}.demo.example"
		"$SITECTL" content add "${s%%:*}.demo.example" DEM00012
	done
	echo "(five distribution points, each holding package DEM00012)"
	show "$SITECTL" bg link BG_A BG_B --fallback dp=10
	show "$SITECTL" bg link BG_A BG_C --fallback dp=20
	show "$SITECTL" location dp --ip 10.1.2.3/24 --site DEM --content DEM00012 --at 0
	show "$SITECTL" location dp --ip 10.1.2.3/24 --site DEM --content DEM00012 --at 25 --explain
	echo "The MP answers clients from the same engine (POST /mp/v1/location) and"
	echo "picked up every change above as sitectl committed it:"
	# asked as pc1, with its certificate: the MP answers registered
	# clients only, each in its own name
	cat >"$RUN/location.json" <<-JSON
		{"format": "sitesys.location/1",
		 "client": "$(agent 1 show --json | jq -r .client)",
		 "addresses": ["10.1.2.3/24"], "site": "DEM",
		 "role": "dp", "content": "DEM00012"}
	JSON
	echo "\$ curl --cacert run/site-ca.crt --cert run/agents/pc1/identity.crt --key run/agents/pc1/identity.key \\"
	echo "    --data-binary @run/location.json https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/location | jq ..."
	as_pc 1 --data-binary @"$RUN/location.json" \
		"https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/location" |
		jq -r '.sources[] | "  from minute \(.minute): \(.name) (\(.relation), \(.group))"'
	echo "pc1 is in AD site Branch-A ([agent] ad_site); a boundary puts that site"
	echo "in BG_A. The agent asks its MP and walks the answer: two minutes per"
	echo "source, a neighbour's sources joining when its minute comes:"
	show "$SITECTL" boundary add branch-a-ad --type adsite --value Branch-A
	show "$SITECTL" bg add-boundary BG_A branch-a-ad
	sleep 0.5 # the MP reloads the model on the change's NOTIFY
	agent_shown 1 location dp --content DEM00012 --at 0
	local m
	for m in 12 21; do
		printf '$ sitesys-agent -c run/agent1.conf location dp --content DEM00012 --at %s | tail -1\n' $m
		agent 1 location dp --content DEM00012 --at $m | tail -1
	done
	show "$SITECTL" boundary check || true
}

flow_identity() {
	step "5. spoofing: the site knows each client by its certificate"
	local pc1 pc2 url=https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1
	pc1=$(agent 1 show --json | jq -r .client)
	pc2=$(agent 2 show --json | jq -r .client)
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":%s,"time":"2026-11-29T10:00:00Z","topic":{"type":700,"id":"resync"},"state":{"id":2}}]}' \
		"$pc1" 999999 >"$RUN/spoof.json"
	echo "A batch in pc1's name: serial 999999, a resync-complete (700/2)."
	echo "Without a certificate:"
	echo "\$ curl --data-binary @run/spoof.json $url/statemsg"
	curl -sS --cacert "$RUN/ca/ca.crt" --data-binary @"$RUN/spoof.json" "$url/statemsg"
	echo "With pc2's own certificate:"
	echo "\$ curl --cert run/agents/pc2/identity.crt --key ... --data-binary @run/spoof.json $url/statemsg"
	as_pc 2 --data-binary @"$RUN/spoof.json" "$url/statemsg"
	echo "Registering a new key in pc1's name:"
	openssl ecparam -name prime256v1 -genkey -noout -out "$RUN/thief.key" 2>/dev/null
	openssl req -x509 -new -key "$RUN/thief.key" -subj "/CN=$pc1" -days 1 \
		-out "$RUN/thief.crt" 2>/dev/null
	printf '{"format":"sitesys.register/1","client":"%s","name":"thief","addresses":[]}' \
		"$pc1" >"$RUN/thief.json"
	echo "\$ curl --cert run/thief.crt --key run/thief.key --data-binary @run/thief.json $url/register"
	curl -sS --cacert "$RUN/ca/ca.crt" --cert "$RUN/thief.crt" --key "$RUN/thief.key" \
		--data-binary @"$RUN/thief.json" "$url/register"
	echo "Through the fallback status point, anonymous HTTP, the same batch is"
	echo "not signed by pc1's registered key: statesys refuses it as forged."
	echo "\$ curl --data-binary @run/spoof.json http://127.0.0.1:$SITE_HTTP_PORT/fsp/v1/statemsg"
	curl -sS --data-binary @"$RUN/spoof.json" "http://127.0.0.1:$SITE_HTTP_PORT/fsp/v1/statemsg"
	wait_until 30 "statesys to refuse it" sh -c \
		"[ \"\$(psql -X -A -t -h '$RUN/pgsock' -p '$SITE_PGPORT' -U postgres sitesys -c \"select forged_batches from client where guid = '$pc1'\")\" = 1 ]"
	show "$SITECTL" report forged
	sql "SELECT count(*) AS serial_999999_applied FROM statemsg_history WHERE serial = 999999"
}

flow_notify() {
	step "6. client notification: a quick scan pushed to every online client now"
	echo "The agents keep a TLS connection to the notification server (pc3, whose"
	echo "port 10123 is blocked, long-polls over HTTPS instead); each reports:"
	wait_until 30 "pc3 to poll" grep -q "polling over HTTPS" "$RUN/logs/agent3.log"
	kill -USR1 "$(cat "$RUN/sitesys-notifyd.pid")" # presence now, not in 5 minutes
	wait_until 30 "the presence files" sh -c \
		"[ \"\$(psql -X -A -t -h '$RUN/pgsock' -p '$SITE_PGPORT' -U postgres sitesys -c 'select count(*) from client_online where online')\" = 3 ]"
	show "$SITECTL" collection add demo-clients --pattern 'pc*'
	show "$SITECTL" collection show demo-clients
	show "$SITECTL" notify quick-scan --collection demo-clients
	show "$SITECTL" operations --watch
	echo "Each agent answered its receipt at once and ran [agent] action_quick_scan:"
	sql "SELECT c.name, p.status, p.exit_code, p.output FROM notify_push p JOIN client c USING (guid) ORDER BY c.name"
	echo "A rollout at a chosen rate, stopping after its failures:"
	show "$SITECTL" notify hardware-inventory --collection demo-clients --rate 60/min --stop-after-failures 2
	show "$SITECTL" operations --watch
	show "$SITECTL" status
}

start() {
	RUN=$(run_dir)
	start_site
	flow_mp
	flow_fsp
	flow_resync
	flow_location
	flow_identity
	flow_notify
	cat <<-EOF

		The site keeps running (statesys, MP, FSP, notifyd, notifymgr, PostgreSQL,
		nginx). Look around:
		  export SITESYS_CONF=$SITESYS_CONF
		  $BUILD/sitectl status; $BUILD/sitectl client list
		  $BUILD/sitesys-agent -c run/agent1.conf show
		  psql -h $RUN/pgsock -p $SITE_PGPORT -U postgres sitesys
		make demo-stop ends it.
	EOF
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
