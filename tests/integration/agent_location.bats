#!/usr/bin/env bats
# sitesys-agent location against the real sitesys-mp behind nginx: the
# request built from [agent] (AD site, assigned site), the seed's worked
# example walked minute by minute, the software update point's 120-minute
# hold and 10/130-minute example from the state kept in fallback.json,
# the site a management point assigns remembered, --answer files, and the
# errors a user sees.

load helpers

AGENT=$BUILD/sitesys-agent

setup_file() {
	site_setup_file
	chmod 755 "$SITE_DIR" # the agent runs as [site] user when root
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add ABC --name "Agent location test" >/dev/null
	"$SITECTL" inbox init >/dev/null
	# clients in AD site Paris are in BG_A; BG_B after 10 minutes; the
	# site server's DP in the default group after 120 (implied link)
	"$SITECTL" boundary add paris --type adsite --value Paris
	"$SITECTL" bg add BG_A --site ABC
	"$SITECTL" bg add BG_B --site ABC
	"$SITECTL" bg add-boundary BG_A paris
	for s in dp-a1 dp-b1 site; do
		"$SITECTL" server add $s.example.org --site ABC --role dp
	done
	"$SITECTL" bg add-server BG_A dp-a1.example.org
	"$SITECTL" bg add-server BG_B dp-b1.example.org
	"$SITECTL" bg add-server --site-default ABC site.example.org
	"$SITECTL" bg link BG_A BG_B --fallback dp=10 --fallback sup=never
	# the seed's SUP example: A after 10 minutes, B after 130
	"$SITECTL" bg add SUP_A --site ABC
	"$SITECTL" bg add SUP_B --site ABC
	for s in sup-z sup-a sup-b; do
		"$SITECTL" server add $s.example.org --site ABC --role sup
	done
	"$SITECTL" bg add-server BG_A sup-z.example.org
	"$SITECTL" bg add-server SUP_A sup-a.example.org
	"$SITECTL" bg add-server SUP_B sup-b.example.org
	"$SITECTL" bg link BG_A SUP_A --fallback sup=10
	"$SITECTL" bg link BG_A SUP_B --fallback sup=130
	mp_start 2
	# the site CA's certificate where the agent (as [site] user) reads it
	cp "$SITE_CA" "$SITE_DIR/site-ca.crt"
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
}

teardown_file() {
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}

# A fresh agent for every test: in AD site Paris, assigned to ABC.
setup() {
	STATE=$SITE_DIR/agent-$BATS_TEST_NUMBER
	CONF=$SITE_DIR/agent-$BATS_TEST_NUMBER.conf
	cat >"$CONF" <<-CONF
		[agent]
		state_dir = $STATE
		mp_url = https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1
		site_ca = $SITE_DIR/site-ca.crt
		timeout_seconds = 5
		site = ABC
		ad_site = Paris
	CONF
	# the identity, made (and logged) once, before the tests look, and
	# registered: the MP answers no location to a certificate it does not
	# know (a policy poll registers it)
	"$AGENT" -c "$CONF" policy >/dev/null 2>&1
}
teardown() { site_teardown; }

agent() { "$AGENT" -c "$CONF" "$@"; }
# use ROLE MINUTE: the source the agent uses at that minute
use() { agent location "$1" --at "$2" --json | jq -r .use; }

@test "the agent asks the MP and walks the seed's example minute by minute" {
	run agent location dp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "role      dp" ]
	[ "${lines[1]}" = "site      ABC" ]
	[ "${lines[2]}" = "current   BG_A" ]
	[ "${lines[3]}" = "sources   3" ]
	[ "${lines[4]}" = "  dp-a1.example.org server current BG_A from minute 0" ]
	[ "${lines[5]}" = "  dp-b1.example.org server neighbour BG_B from minute 10" ]
	[ "${lines[6]}" = "  site.example.org server site-default Default-Site-Boundary-Group<ABC> from minute 120" ]
	[[ "${lines[7]}" == "at minute 0: dp-a1.example.org (pool of 1; "* ]]
	# two minutes each; start over after the last; BG_B joins at 10
	[ "$(use dp 8)" = dp-a1.example.org ]
	[ "$(use dp 10)" = dp-b1.example.org ]
	[ "$(use dp 12)" = dp-a1.example.org ]
	[ "$(use dp 118)" = dp-b1.example.org ]
	[ "$(agent location dp --at 119 --json | jq -c .pool)" = '["dp-a1.example.org","dp-b1.example.org"]' ]
	# the site default group at 120, appended at the end
	[ "$(use dp 120)" = site.example.org ]
	[ "$(use dp 122)" = dp-a1.example.org ]
}

@test "SUP: the last known-good one alone for 120 minutes, then the 10/130-minute pool" {
	printf '{"format":"sitesys.agent-fallback/1","sup":{"known_good":"sup-z.example.org","good_at":1}}' >"$STATE/fallback.json"
	[ "$(use sup 0)" = sup-z.example.org ]
	# at 10, SUP_A's server is in the pool, but not contacted
	[ "$(agent location sup --at 10 --json | jq -c .pool)" = '["sup-z.example.org","sup-a.example.org"]' ]
	[ "$(use sup 10)" = sup-z.example.org ]
	[ "$(use sup 119)" = sup-z.example.org ]
	[ "$(use sup 120)" = sup-a.example.org ]
	[ "$(agent location sup --at 129 --json | jq '.pool | length')" = 2 ]
	[ "$(agent location sup --at 130 --json | jq -c .pool)" = '["sup-z.example.org","sup-a.example.org","sup-b.example.org"]' ]
	run agent location sup --at 119
	[[ "${lines[-1]}" == "at minute 119: sup-z.example.org (pool of 2; last known-good sup-z.example.org alone for 120 minutes)" ]]
}

@test "next-sup: the next software update point at once, kept, round the list" {
	printf '{"format":"sitesys.agent-fallback/1","sup":{"known_good":"sup-z.example.org","good_at":1}}' >"$STATE/fallback.json"
	run agent location sup --next
	[ "$status" -eq 0 ]
	[ "$output" = "software update point: sup-z.example.org -> sup-a.example.org" ]
	# in use from now on, without the 120-minute hold, and kept
	[ "$(use sup 0)" = sup-a.example.org ]
	[ "$(jq -r .sup.known_good "$STATE/fallback.json")" = sup-a.example.org ]
	[ "$(agent location sup --next)" = "software update point: sup-a.example.org -> sup-b.example.org" ]
	[ "$(agent location sup --next)" = "software update point: sup-b.example.org -> sup-z.example.org" ]
	run agent location dp --next
	[ "$status" -eq 2 ]
	[[ "$output" == *"--next is for sup only" ]]
}

@test "the site a management point assigns is remembered in fallback.json" {
	sed -i '/^site = /d' "$CONF"
	agent location dp >/dev/null
	[ "$(jq -r .site "$STATE/fallback.json")" = ABC ]
}

@test "an answer from a file; bad files and an unreachable MP are refused with the reason" {
	agent location dp --json | jq .answer >"$SITE_DIR/answer-4.json"
	# the MP is not asked: a wrong mp_url does not matter
	sed -i "s|^mp_url = .*|mp_url = https://127.0.0.1:9/mp/v1|" "$CONF"
	[ "$(agent location dp --answer "$SITE_DIR/answer-4.json" --at 10 --json | jq -r .use)" = dp-b1.example.org ]
	run agent location dp
	[ "$status" -eq 1 ]
	[[ "$output" == *"sitesys-agent: location: https://127.0.0.1:9/mp/v1/location: "* ]]
	jq '.sources[0].kind = "disk"' "$SITE_DIR/answer-4.json" >"$SITE_DIR/bad-4.json"
	run agent location dp --answer "$SITE_DIR/bad-4.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad-4.json: bad location answer: sources[0]: member \"kind\" is \"disk\", not one of server|cloud|peer" ]]
	run agent location dp --answer "$SITE_DIR/nonexistent.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"nonexistent.json: No such file or directory" ]]
	# an answer says which role it answers: not walked by another's rules
	[ "$(jq -r .role "$SITE_DIR/answer-4.json")" = dp ]
	run agent location sup --answer "$SITE_DIR/answer-4.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"answer-4.json: an answer for dp, not sup" ]]
	run agent location printer
	[ "$status" -eq 2 ]
	[ "$output" = 'sitesys-agent: unknown role "printer" (dp|clouddp|sup|smp|mp|cmg)' ]
	run agent location dp --at soon
	[ "$status" -eq 2 ]
	run agent location sup --content PKG1
	[ "$status" -eq 2 ]
}

@test "the MP's 400 reaches the user with its reason" {
	sed -i 's/^site = ABC/site = ABCD/' "$CONF"
	run agent location dp
	[ "$status" -eq 1 ]
	[[ "$output" == *"answered HTTP 400: "* ]]
}

@test "a restart of the daemon brings the client back to a local MP, keeping the rest" {
	local pid
	printf '{"format":"sitesys.agent-fallback/1","site":"ABC","sup":{"known_good":"sup-z.example.org","good_at":5,"failing_since":7},"mp":{"current":"mp-far.example.org","errors":[100,200],"refreshed":50}}' >"$STATE/fallback.json"
	"$AGENT" -c "$CONF" -f run 2>"$SITE_DIR/agent-$BATS_TEST_NUMBER.log" &
	pid=$!
	wait_for 10 bash -c "jq -e '.mp.refreshed > 50' '$STATE/fallback.json' >/dev/null 2>&1"
	kill -TERM $pid
	wait $pid
	[ "$(jq -c .mp.errors "$STATE/fallback.json")" = '[]' ]
	[ "$(jq -r '.mp.current // "none"' "$STATE/fallback.json")" = none ]
	[ "$(jq -r .sup.known_good "$STATE/fallback.json")" = sup-z.example.org ]
	[ "$(jq -r .sup.failing_since "$STATE/fallback.json")" = 7 ]
	[ "$(jq -r .site "$STATE/fallback.json")" = ABC ]
}
