#!/usr/bin/env bats
# A site of five hosts: network namespaces this test makes, on a bridge
# of their own (10.77.0.0/24, reachable from nowhere else), each with its
# own address, directories and configuration, the programs installed from
# a DESTDIR tree ("make install") and each started by its unit's own
# command line (ExecStart), its nginx from the packaged site:
#
#   site  10.77.0.1   PostgreSQL, statesys, notifymgr, receiver (nginx)
#   mp1   10.77.0.2   management point (nginx), notifyd, sender
#   fsp1  10.77.0.3   fallback status point (nginx), sender
#   pc1   10.77.0.11  an agent that reaches its management point
#   pc2   10.77.0.12  an agent whose management point is out of reach
#
# State messages, a push and a location request cross the network; the
# site server cut off and brought back loses and doubles nothing; a PUT
# without a certificate, or with a revoked one, is refused.

load helpers

NET=10.77.0

setup_file() {
	[ "$(id -u)" = 0 ] || skip "network namespaces need root"
	ip netns list >/dev/null 2>&1 || skip "no network namespaces here"
	T=$(mktemp -d /tmp/sitesys-test.XXXXXX)
	chmod 755 "$T"
	NS=ssmh$$
	export T NS
	echo "$NS" >"$T/netns"
	net_up
	install_tree
	ca_setup
	site_up
	mp1_up
	fsp1_up
	agents_up
}

teardown_file() {
	local p
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	for p in "$T"/*/*.pid; do stop_pid "$p"; done
	for p in "$T"/*/*-nginx/nginx.pid; do site_nginx_quit "$p"; done
	ip netns exec "${NS}site" true 2>/dev/null && site_pg_stop "$T/site"
	for h in lan site mp1 fsp1 pc1 pc2; do ip netns del "$NS$h" 2>/dev/null || true; done
	site_keep_or_remove "$T"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || touch "$T/.failed"
	ip -n "${NS}lan" link set vsite up 2>/dev/null || true
}

# on HOST COMMAND...: COMMAND on HOST (in its network namespace)
on() {
	local h=$1
	shift
	ip netns exec "$NS$h" "$@"
}

# net_up: the hosts, each a namespace with eth0 on the bridge of "lan"
net_up() {
	local h a
	ip netns add "${NS}lan"
	ip -n "${NS}lan" link add br0 type bridge
	ip -n "${NS}lan" link set br0 up
	for h in site:1 mp1:2 fsp1:3 pc1:11 pc2:12; do
		a=${h#*:} h=${h%:*}
		ip netns add "$NS$h"
		ip -n "${NS}lan" link add "v$h" type veth peer name eth0 netns "$NS$h"
		ip -n "${NS}lan" link set "v$h" master br0 up
		ip -n "$NS$h" addr add "$NET.$a/24" dev eth0
		ip -n "$NS$h" link set eth0 up
		ip -n "$NS$h" link set lo up
		mkdir -p "$T/$h"
	done
}

# install_tree: make install into T/root, as a package would lay it out
install_tree() {
	ROOT=$T/root
	export ROOT
	make -C "$TOP" --no-print-directory install BUILD="$BUILD" \
		DESTDIR="$ROOT" PREFIX=/usr >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log" >&2; return 1; }
}

# unit HOST NAME [ARGS...]: start sitesys-NAME on HOST by its installed
# unit's command line, with HOST's configuration; pid in HOST/NAME.pid
unit() {
	local h=$1 u=$2 cmd
	shift 2
	cmd=$(sed -n 's/^ExecStart=//p' "$ROOT/usr/lib/systemd/system/sitesys-$u.service")
	[ -n "$cmd" ] || { echo "no unit sitesys-$u" >&2; return 1; }
	# shellcheck disable=SC2086 # the unit's words, as systemd splits them
	SITESYS_CONF=$T/$h/sitesys.conf ip netns exec "$NS$h" $ROOT$cmd "$@" \
		2>>"$T/$h/$u.log" 3>&- &
	echo $! >"$T/$h/$u.pid"
}

# ctl HOST ARGS...: sitectl of the installed tree on HOST
ctl() {
	local h=$1
	shift
	SITESYS_CONF=$T/$h/sitesys.conf on "$h" "$ROOT/usr/sbin/sitectl" "$@"
}

# ca_setup: the site CA; a certificate for each site system by its
# address; a management point's whose certificate was revoked
ca_setup() {
	site_ca_init "$T"
	site_issue "$T" "$NET.1" site-server
	site_issue "$T" "$NET.2" mp
	site_issue "$T" "$NET.3" fsp
	site_issue "$T" "$NET.9" mp
	cp "$T/ca/issued/$NET.9.crt" "$T/ca/issued/$NET.9.key" "$T/mp1/"
	"$SITECTL" -c "$T/ca.conf" ca revoke "$NET.9" >/dev/null
}

# tls HOST NAME: HOST's copies of NAME's certificate and key, the CA and
# its list, readable by [site] user; and its run/, as the unit's
# RuntimeDirectory is that user's
tls() {
	mkdir -p "$T/$1/run"
	chown "$(site_web_user)" "$T/$1/run"
	site_sender_tls "$T" "$T/$1" "$2"
}

# db HOST ROLE: the connection string of ROLE's from HOST
db() {
	echo "host=$NET.1 port=$PGPORT dbname=sitesys user=sitesys_$2 passfile=$T/$1/pgpass"
}

# sql QUERY: one value from the site database, as its administrator
sql() {
	on site psql -X -q -A -t -h "$T/site/pgsock" -p "$PGPORT" -U postgres \
		-d sitesys -v ON_ERROR_STOP=1 -c "$1"
}

site_up() {
	local d=$T/site
	SITE_PG_LISTEN=$NET.1 SITE_PG_CLIENTS=$NET.0/24 \
		on site bash -c ". '$TOP/tests/lib/site.bash'; site_pg_start '$d'" >/dev/null
	PGPORT=$(sed -n "s/^port = //p" "$d/pg/data/postgresql.conf")
	export PGPORT
	cat >"$d/sitesys.conf" <<-CONF
		[site]
		inbox_dir = $d/inbox
		fastcgi_group = $(site_web_user)
		[database]
		conninfo = host=$d/pgsock port=$PGPORT dbname=sitesys user=postgres
		passfile = $d/pgpass
		[console]
		conninfo = host=$d/pgsock port=$PGPORT dbname=sitesys user=sitesys_console passfile=$d/pgpass
		[statesys]
		conninfo = host=$d/pgsock port=$PGPORT dbname=sitesys user=sitesys_statesys passfile=$d/pgpass
		[notifymgr]
		conninfo = host=$d/pgsock port=$PGPORT dbname=sitesys user=sitesys_notifymgr passfile=$d/pgpass
		[receiver]
		fastcgi_socket = $d/receiver.sock
		threads = 4
		[inbox]
		settle_seconds = 1
		[ca]
		dir = $T/ca
	CONF
	ctl site db init >/dev/null
	ctl site site add ABC --name "Multi-host test" >/dev/null
	ctl site inbox init >/dev/null
	# the clients' network is a boundary of its own, with a DP in its group
	ctl site boundary add lan --type subnet --value "$NET.0/24" >/dev/null
	ctl site bg add BG_LAN --site ABC >/dev/null
	ctl site bg add-boundary BG_LAN lan >/dev/null
	ctl site server add dp1.example.org --site ABC --role dp >/dev/null
	ctl site content add dp1.example.org PKG1 >/dev/null
	ctl site bg add-server BG_LAN dp1.example.org >/dev/null
	unit site statesys
	unit site notifymgr
	unit site receiver
	wait_for 10 test -S "$d/receiver.sock"
	SITE_NETNS=${NS}site site_receiver_nginx "$T" "$NET.1" 8443 "$d/receiver.sock" "$NET.1"
}

# sender_conf HOST: the [sender] of HOST, which presents its own address's
# certificate
sender_conf() {
	site_sender_conf "$T/$1" "https://$NET.1:8443" "$2" "$T/$1/run/sender.json"
	printf 'retry_max_seconds = 1\ntimeout_seconds = 2\n'
}

mp1_up() {
	local d=$T/mp1
	tls mp1 "$NET.2"
	cp "$T/site/pgpass" "$d/pgpass"
	chown "$(site_web_user)" "$d/pgpass"
	{
		cat <<-CONF
			[site]
			inbox_dir = $d/inbox
			fastcgi_group = $(site_web_user)
			[mp]
			fastcgi_socket = $d/mp.sock
			threads = 2
			conninfo = $(db mp1 mp)
			[notifyd]
			conninfo = $(db mp1 notifyd)
			listen = $NET.2:10123
			cert = $d/tls/$NET.2.crt
			key = $d/tls/$NET.2.key
			server_name = mp1
			status_seconds = 1
			presence_minutes = 1
			http_socket = $d/notifyd.sock
			[database]
			retry_max_seconds = 1
			[inbox]
			settle_seconds = 1
		CONF
		sender_conf mp1 "$NET.2"
	} >"$d/sitesys.conf"
	unit mp1 mp
	unit mp1 notifyd
	unit mp1 sender
	wait_for 20 grep -q "boundary model loaded" "$d/mp.log"
	wait_for 20 grep -q "listening on $NET.2:10123" "$d/notifyd.log"
	SITE_NETNS=${NS}mp1 site_nginx_packaged "$T/mp1" mp "https://$NET.2/" sitesys-mp.conf -- \
		-e "s|listen 443 ssl;|listen $NET.2:443 ssl;|" \
		-e "s|/etc/sitesys/tls/mp\\.|$d/tls/$NET.2.|" \
		-e "s|unix:/run/sitesys/mp\\.sock|unix:$d/mp.sock|" \
		-e "s|unix:/run/sitesys/notifyd\\.sock|unix:$d/notifyd.sock|"
}

fsp1_up() {
	local d=$T/fsp1
	tls fsp1 "$NET.3"
	{
		cat <<-CONF
			[site]
			inbox_dir = $d/inbox
			fastcgi_group = $(site_web_user)
			[fsp]
			fastcgi_socket = $d/fsp.sock
			threads = 2
			[inbox]
			settle_seconds = 1
		CONF
		sender_conf fsp1 "$NET.3"
	} >"$d/sitesys.conf"
	unit fsp1 fsp
	unit fsp1 sender
	wait_for 10 test -S "$d/fsp.sock"
	SITE_NETNS=${NS}fsp1 site_nginx_packaged "$T/fsp1" fsp "http://$NET.3/" \
		sitesys-fsp-limit.conf sitesys-fsp.conf -- \
		-e "s|listen 80;|listen $NET.3:80;|" \
		-e "s|unix:/run/sitesys/fsp\\.sock|unix:$d/fsp.sock|"
}

# agent_conf HOST MP-URL: the agent of HOST
agent_conf() {
	cp "$T/ca/ca.crt" "$T/$1/ca.crt"
	cat >"$T/$1/sitesys.conf" <<-CONF
		[agent]
		state_dir = $T/$1/state
		name = $1
		mp_url = $2
		fsp_url = http://$NET.3/fsp/v1
		site_ca = $T/$1/ca.crt
		timeout_seconds = 3
		notify_retry_max_seconds = 1
	CONF
}

# agent HOST ARGS...: the installed agent on HOST
agent() {
	local h=$1
	shift
	on "$h" "$ROOT/usr/sbin/sitesys-agent" -c "$T/$h/sitesys.conf" "$@"
}

agents_up() {
	# both register with the management point; pc2's then goes away
	agent_conf pc1 "https://$NET.2/mp/v1"
	agent_conf pc2 "https://$NET.2/mp/v1"
	agent pc1 policy >>"$T/pc1/agent.log" 2>&1
	agent pc2 policy >>"$T/pc2/agent.log" 2>&1
	G1=$(agent pc1 show --json | jq -r .client)
	G2=$(agent pc2 show --json | jq -r .client)
	export G1 G2
	agent_conf pc2 "https://$NET.2:1/mp/v1"
}

# history GUID: the state messages of GUID loaded at the site, and how
# many distinct serial numbers they have ("N N": none doubled)
history() {
	sql "SELECT count(*) || ' ' || count(DISTINCT serial) FROM statemsg_history WHERE client = '$1'"
}
history_is() { [ "$(history "$1")" = "$2 $2" ]; }

# state HOST N...: state messages N... from HOST's agent, then a send
state() {
	local h=$1 n
	shift
	for n in "$@"; do
		agent "$h" state --topic-type 1000 --topic-id "KB$n" --state 1 2>>"$T/$h/agent.log"
	done
	agent "$h" send >>"$T/$h/agent.log" 2>&1 || true
}

outbox_empty() { [ -z "$(ls "$T/$1/inbox/statsys.box/incoming")" ]; }

@test "state messages cross from each client, through its MP or its FSP and their senders, into the site database" {
	state pc1 1 2
	wait_for 30 history_is "$G1" 2
	state pc2 1 2 3
	wait_for 30 history_is "$G2" 3
	# the FSP's went by its sender, and the batches were checked as
	# pc2's own (signed by its registered key)
	wait_for 5 jq_true -e '.boxes[] | select(.name == "statsys.box") | .sent >= 1' "$T/fsp1/run/sender.json"
	[ "$(sql "SELECT count(*) FROM statemsg_unverified")" = 0 ]
}

@test "a push from the site reaches the client through notifyd on its MP, and the result comes back to the site" {
	ip netns exec "${NS}pc1" "$ROOT/usr/sbin/sitesys-agent" -c "$T/pc1/sitesys.conf" \
		-f run 2>>"$T/pc1/run.log" 3>&- &
	echo $! >"$T/pc1/agent.pid"
	wait_for 30 grep -q 'notification server "mp1" .*: connected' "$T/pc1/run.log"
	run ctl site notify policy --client "$G1"
	[ "$status" -eq 0 ]
	task=$(sed -n 's/^task \([0-9]*\):.*/\1/p' <<<"$output")
	[ -n "$task" ]
	wait_for 60 bash -c "[ \"\$(ip netns exec ${NS}site psql -X -q -A -t -h $T/site/pgsock -p $PGPORT -U postgres -d sitesys -c \"SELECT status FROM notify_push WHERE task = $task AND guid = '$G1'\")\" = succeeded ]"
	stop_pid "$T/pc1/agent.pid"
}

@test "a location request from a client is answered by its MP from the site's boundary groups" {
	run agent pc1 location dp --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .use <<<"$output")" = dp1.example.org ]
}

@test "the site server cut off and brought back: the senders keep their files, show their backlog, and nothing is lost or doubled" {
	local h1 h2
	h1=$(history "$G1" | cut -d' ' -f1)
	h2=$(history "$G2" | cut -d' ' -f1)
	ip -n "${NS}lan" link set vsite down
	state pc2 10 11
	state pc1 10 11 12
	wait_for 20 jq_true -e '.boxes[] | select(.name == "statsys.box") | .files >= 1 and .error != null' "$T/fsp1/run/sender.json"
	run ctl fsp1 status
	[[ "$output" == *"sending to https://$NET.1:8443"* ]]
	[[ "$output" == *"failing since"* ]]
	[ "$(history "$G2" | cut -d' ' -f1)" = "$h2" ]
	ip -n "${NS}lan" link set vsite up
	wait_for 60 outbox_empty fsp1
	# what the management point could not take waited in the agent
	state pc1
	wait_for 60 outbox_empty mp1
	wait_for 30 history_is "$G2" $((h2 + 2))
	wait_for 30 history_is "$G1" $((h1 + 3))
}

# puts_of NAME N: the site's nginx logged N PUTs of NAME answered 201
puts_of() {
	[ "$(grep -c "name=$1 HTTP/1.1\" 201" "$T/receiver-nginx/logs/access.log")" = "$2" ]
}
site_empty() { [ -z "$(ls "$T/site/inbox/statsys.box/incoming")" ]; }
outbox_has() { [ -n "$(ls "$T/$1/inbox/statsys.box/incoming")" ]; }

@test "a file the sender sends again after the site loaded it (a crash before its removal) counts once" {
	local h1 f
	h1=$(history "$G1" | cut -d' ' -f1)
	stop_pid "$T/mp1/sender.pid"
	state pc1 20
	wait_for 10 outbox_has mp1
	f=$(ls "$T/mp1/inbox/statsys.box/incoming")
	cp "$T/mp1/inbox/statsys.box/incoming/$f" "$T/mp1/again"
	unit mp1 sender
	wait_for 30 history_is "$G1" $((h1 + 1))
	# as if the sender had died between the site's 201 and its unlink
	cp "$T/mp1/again" "$T/mp1/inbox/statsys.box/tmp/$f"
	mv "$T/mp1/inbox/statsys.box/tmp/$f" "$T/mp1/inbox/statsys.box/incoming/$f"
	wait_for 30 outbox_empty mp1
	wait_for 10 puts_of "$f" 2
	wait_for 30 site_empty
	history_is "$G1" $((h1 + 1))
	# known by its name, from the ledger: a repeat, not loaded again
	grep -q "statsys.box/$f was already processed, removed" "$T/site/statesys.log"
}

@test "a PUT to the site server's inboxes without a certificate, or with a revoked one, is refused" {
	local n
	n=$(date +%s%6N).mp1.1.1.smx
	echo '{}' >"$T/mp1/x.smx"
	run on mp1 curl -sS --cacert "$T/mp1/tls/ca.crt" -X PUT --data-binary "@$T/mp1/x.smx" \
		-w '\n%{http_code}' "https://$NET.1:8443/inbox/v1/statsys.box?name=$n"
	[ "${lines[-1]}" = 401 ]
	run on mp1 curl -sS --cacert "$T/mp1/tls/ca.crt" --cert "$T/mp1/$NET.9.crt" --key "$T/mp1/$NET.9.key" \
		-X PUT --data-binary "@$T/mp1/x.smx" -w '\n%{http_code}' \
		"https://$NET.1:8443/inbox/v1/statsys.box?name=$n"
	[ "${lines[-1]}" = 403 ]
	[[ "$output" == *revoked* ]]
	refute test -e "$T/site/inbox/statsys.box/incoming/$n"
}
