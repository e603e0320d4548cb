#!/usr/bin/env bats
# The agent's management point traffic driven by the MP walker, against
# two real sitesys-mp daemons behind nginx (HTTPS, each with its
# certificate of the site's CA) on 127.0.0.2 (mp-a, locality 3: in the
# client's boundary group) and 127.0.0.3 (mp-b, locality 2: a neighbour
# group): [agent] mp_url_template sends everything to the local one; with
# its FastCGI stopped (nginx answers 502) five failed sends move the agent
# to mp-b, where its messages arrive; a restart of the agent brings it
# back to mp-a. And the site's say over the client: pending approval,
# approved, another certificate for its GUID until reset-identity. All
# traffic stays on 127.0.0.0/8.

load helpers

MP=$BUILD/sitesys-mp
AGENT=$BUILD/sitesys-agent
A=127.0.0.2
B=127.0.0.3

# start_mp NAME: sitesys-mp on SITE_DIR/NAME.sock, its pid in NAME.pid
start_mp() {
	local name=$1
	rm -f "$SITE_DIR/$name.sock"
	"$MP" -c "$SITE_DIR/$name.conf" -f 2>>"$SITE_DIR/$name.log" &
	echo $! >"$SITE_DIR/$name.pid"
	wait_for 10 test -S "$SITE_DIR/$name.sock"
	wait_for 10 grep -q "boundary model loaded" "$SITE_DIR/$name.log"
}

setup_file() {
	export SITE_NGINX_HOSTS="$A $B"
	site_setup_file
	chmod 755 "$SITE_DIR" # the agent runs as [site] user when root
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add ABC --name "Agent MP test" >/dev/null
	"$SITECTL" inbox init >/dev/null
	"$SITECTL" boundary add paris --type adsite --value Paris >/dev/null
	"$SITECTL" bg add BG_A --site ABC >/dev/null
	"$SITECTL" bg add BG_B --site ABC >/dev/null
	"$SITECTL" bg add-boundary BG_A paris >/dev/null
	"$SITECTL" server add $A --site ABC --role mp >/dev/null
	"$SITECTL" server add $B --site ABC --role mp >/dev/null
	"$SITECTL" bg add-server BG_A $A >/dev/null
	"$SITECTL" bg add-server BG_B $B >/dev/null
	"$SITECTL" bg link BG_A BG_B --fallback mp=0 >/dev/null
	# localities 3 (current group) and 2 (neighbour), not 3 for all
	"$SITECTL" setting set prefer-bg-mps yes >/dev/null
	for name in mp-a mp-b; do
		cp "$SITESYS_CONF" "$SITE_DIR/$name.conf"
		printf '[mp]\nfastcgi_socket = %s/%s.sock\nthreads = 2\n' \
			"$SITE_DIR" $name >>"$SITE_DIR/$name.conf"
		start_mp $name
	done
	site_nginx_fcgi "$SITE_DIR" /mp/v1/ "$SITE_DIR/mp-a.sock" $A
	site_nginx_fcgi "$SITE_DIR" /mp/v1/ "$SITE_DIR/mp-b.sock" $B
	# where the agent first asks: 127.0.0.1, served by mp-b
	site_nginx_fcgi "$SITE_DIR" /mp/v1/ "$SITE_DIR/mp-b.sock"
	# the site CA's certificate where the agent (as [site] user) reads it
	cp "$SITE_CA" "$SITE_DIR/site-ca.crt"
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
}

teardown_file() {
	stop_pid "$SITE_DIR/agent.pid"
	stop_pid "$SITE_DIR/mp-a.pid"
	stop_pid "$SITE_DIR/mp-b.pid"
	site_teardown_file
}

setup() {
	STATE=$SITE_DIR/agent-$BATS_TEST_NUMBER
	CONF=$SITE_DIR/agent-$BATS_TEST_NUMBER.conf
	cat >"$CONF" <<-CONF
		[agent]
		state_dir = $STATE
		mp_url = https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1
		mp_url_template = https://%s:$SITE_HTTPS_PORT/mp/v1
		site_ca = $SITE_DIR/site-ca.crt
		timeout_seconds = 5
		site = ABC
		ad_site = Paris
	CONF
	# the identity, registered (a policy poll registers it): the MPs
	# answer nothing else to a certificate they do not know
	"$AGENT" -c "$CONF" policy >/dev/null 2>&1
}
teardown() {
	stop_pid "$SITE_DIR/agent.pid"
	site_teardown
}

agent() { "$AGENT" -c "$CONF" "$@"; }
raise() { agent state --topic-type 500 --topic-id "$1" --state 1 >/dev/null; }
# posts NAME HOST: how many batches HOST's nginx passed on with 202
posts() { grep -c "POST /mp/v1/statemsg HTTP/1.1\" 202" "$SITE_DIR/nginx/logs/access-$1.log" || true; }
# arrived TOPIC: a batch holding TOPIC is in statsys.box
arrived() { grep -rlq "\"$1\"" "$SITE_DIR/inbox/statsys.box/incoming"; }
# send_wait: have the daemon send, and wait until it has tried
send_wait() {
	local before
	before=$(jq -r '.last_send.time // ""' "$STATE/status.json" 2>/dev/null)
	agent send >/dev/null
	wait_for 20 bash -c "[ \"\$(jq -r '.last_send.time // \"\"' '$STATE/status.json' 2>/dev/null)\" != '$before' ]"
}
start_agent() {
	"$AGENT" -c "$CONF" -f run 2>>"$SITE_DIR/agent-$BATS_TEST_NUMBER.log" &
	echo $! >"$SITE_DIR/agent.pid"
	wait_for 20 bash -c "jq -e '.last_send' '$STATE/status.json' >/dev/null 2>&1"
}

@test "a template without exactly one %s is refused with file and line" {
	sed -i 's|^mp_url_template = .*|mp_url_template = https://mp/mp/v1|' "$CONF"
	run agent show
	[ "$status" -ne 0 ]
	[[ "$output" == *"$CONF:4: mp_url_template: \"https://mp/mp/v1\" must hold %s exactly once"* ]]
}

@test "the list comes from the MP; every request goes to the most local one" {
	raise KB-LOCAL
	run agent send
	[ "$status" -eq 0 ]
	[ "$(jq -r '.mp.list | map(.name + ":" + (.locality | tostring)) | join(" ")' "$STATE/fallback.json")" = "$A:3 $B:2" ]
	[ "$(posts $A)" -ge 1 ]
	arrived KB-LOCAL
	run agent show
	[[ "$output" == *"mp            $A, 0 errors in the last 10 minutes, 2 known"* ]]
	[ "$(agent show --json | jq -r .mp.current)" = $A ]
	# policy and location go there too
	agent policy >/dev/null
	grep -q "GET /mp/v1/policy?client=" "$SITE_DIR/nginx/logs/access-$A.log"
	[ "$(agent location mp --json | jq -r .use)" = $A ]
}

@test "five failed sends to the local MP move the agent on; a restart brings it back" {
	local to_b
	start_agent
	[ "$(agent show --json | jq -r .mp.current)" = $A ]
	grep -q "POST /mp/v1/register" "$SITE_DIR/nginx/logs/access-$A.log"
	# the local MP's FastCGI stops: nginx answers 502
	stop_pid "$SITE_DIR/mp-a.pid"
	[ "$(curl -s --cacert "$SITE_CA" -o /dev/null -w '%{http_code}' -X POST "https://$A:$SITE_HTTPS_PORT/mp/v1/statemsg")" = 502 ]
	to_b=$(posts $B)
	for i in 1 2 3 4; do
		raise KB-OUT-$i
		send_wait
		[ "$(jq -r .last_send.result "$STATE/status.json")" = failed ]
		[ "$(agent show --json | jq -r .mp.errors)" = "$i" ]
	done
	[ "$(agent show --json | jq -r .mp.current)" = $A ]
	raise KB-OUT-5
	send_wait
	grep -q "management point $A unreachable 5 times in 10 minutes; using $B" "$SITE_DIR/agent-$BATS_TEST_NUMBER.log"
	run agent show
	[[ "$output" == *"mp            $B, 0 errors in the last 10 minutes, 2 known"* ]]
	# the next send reaches mp-b, with everything kept meanwhile
	send_wait
	[ "$(jq -r .last_send.result "$STATE/status.json")" = ok ]
	[ "$(jq -r .last_send.sent "$STATE/status.json")" = 5 ]
	[ "$(posts $B)" -gt "$to_b" ]
	for i in 1 2 3 4 5; do arrived KB-OUT-$i; done
	# mp-a is back; an agent restart is a refresh: the local one again
	start_mp mp-a
	stop_pid "$SITE_DIR/agent.pid"
	start_agent
	[ "$(agent show --json | jq -r .mp.current)" = $A ]
	raise KB-BACK
	send_wait
	[ "$(jq -r .last_send.result "$STATE/status.json")" = ok ]
	arrived KB-BACK
	[ "$(tail -1 "$SITE_DIR/nginx/logs/access-$A.log" | grep -c 'POST /mp/v1/statemsg HTTP/1.1" 202')" = 1 ]
}

@test "without a template the agent uses [agent] mp_url alone" {
	sed -i '/^mp_url_template/d' "$CONF"
	raise KB-FIXED
	run agent send
	[ "$status" -eq 0 ]
	run agent show
	[[ "$output" == *"mp            https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1 (fixed [agent] mp_url)"* ]]
	[ "$(jq -r '.mp.list // "none"' "$STATE/fallback.json" 2>/dev/null || echo none)" = none ]
}

# reg_is STATE: the registration state the agent last heard of
reg_is() { [ "$(jq -r '.registration.state // ""' "$STATE/status.json" 2>/dev/null)" = "$1" ]; }
# poll_wait: have the daemon poll its policy, and wait until it has
poll_wait() {
	local before
	before=$(jq -r '.last_policy.time // ""' "$STATE/status.json" 2>/dev/null)
	agent policy >/dev/null
	wait_for 20 bash -c "[ \"\$(jq -r '.last_policy.time // \"\"' '$STATE/status.json' 2>/dev/null)\" != '$before' ]"
}
# polled_is STATE: a poll leaves the registration STATE (the MPs learn of
# the site's decision by a notification, a moment after sitectl returns)
polled_is() { poll_wait && reg_is "$1"; }

@test "pending approval keeps the messages; approved, they go; another key for the GUID waits for reset-identity" {
	local g log=$SITE_DIR/agent-$BATS_TEST_NUMBER.log
	"$SITECTL" setting set client-approval manual >/dev/null
	# a new client, after the site went manual; the fixed mp_url
	STATE=$STATE-manual
	sed -i "s|^state_dir = .*|state_dir = $STATE|; /^mp_url_template/d" "$CONF"
	raise KB-WAIT
	g=$(agent show --json | jq -r .client)
	start_agent
	wait_for 20 reg_is pending
	[ "$(psql_site -c "SELECT approved FROM client WHERE guid = '$g'")" = f ]
	# the MP takes nothing from it: kept in the outbox
	send_wait
	[ "$(jq -r .last_send.result "$STATE/status.json")" = failed ]
	[[ "$(jq -r .last_send.error "$STATE/status.json")" == *"answered HTTP 403: "*"(pending)"* ]]
	[ "$(agent show --json | jq -r .outbox.messages)" = 1 ]
	poll_wait
	reg_is pending
	agent show | grep -Eq '^registration +pending since [0-9T:.-]+Z'
	# said once, however often it polls
	[ "$(grep -c "awaits the site's approval" "$log")" = 1 ]
	# approved by the site: the next poll says so, the next send delivers
	"$SITECTL" client approve "$g" >/dev/null
	"$SITECTL" setting set client-approval auto >/dev/null
	wait_for 20 polled_is approved
	send_wait
	[ "$(jq -r .last_send.result "$STATE/status.json")" = ok ]
	arrived KB-WAIT
	[ "$(grep -c "the site has approved $g" "$log")" = 1 ]
	# the machine made again: a new key and certificate for the same GUID
	stop_pid "$SITE_DIR/agent.pid"
	rm "$STATE/identity.key" "$STATE/identity.crt" "$STATE/status.json"
	start_agent
	wait_for 20 reg_is identity-mismatch
	agent show | grep -q "^registration  identity-mismatch since .*: client $g is registered with another certificate"
	poll_wait
	[ "$(grep -c "refuses $g (identity-mismatch)" "$log")" = 1 ]
	# until the administrator resets it
	"$SITECTL" client reset-identity "$g" >/dev/null
	wait_for 20 polled_is approved
	[ "$(psql_site -c "SELECT fingerprint FROM client WHERE guid = '$g'")" = "$(agent show --json | jq -r .identity.fingerprint)" ]
}
