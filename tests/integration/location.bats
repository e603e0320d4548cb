#!/usr/bin/env bats
# sitectl location: the seed's worked example, built with sitectl's own
# commands, answered at minutes 0, 10, 20 and 120, explained, and as JSON.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	site_setup_file || return 1
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add PS1 --name "Primary one" >/dev/null
	# BG_A holds the clients' network and DP_A1, DP_A2; BG_B (10
	# minutes) and BG_C (20 minutes) are its neighbours; the site
	# server's distribution point is in the site default group.
	"$SITECTL" boundary add b-a --type subnet --value 10.1.0.0/24 >/dev/null
	local g s
	for g in A B C; do
		"$SITECTL" bg add BG_$g --site PS1 >/dev/null
		for s in 1 2; do
			"$SITECTL" server add "dp-${g,,}$s.contoso.com" --site PS1 --role dp >/dev/null
			"$SITECTL" bg add-server BG_$g "dp-${g,,}$s.contoso.com" >/dev/null
		done
	done
	"$SITECTL" bg add-boundary BG_A b-a >/dev/null
	"$SITECTL" server add siteserver.contoso.com --site PS1 --role dp >/dev/null
	"$SITECTL" bg add-server 'Default-Site-Boundary-Group<PS1>' siteserver.contoso.com >/dev/null
	"$SITECTL" bg link BG_A BG_B --fallback dp=10 >/dev/null
	"$SITECTL" bg link BG_A BG_C --fallback dp=20 >/dev/null
}
teardown_file() { site_teardown_file; }
teardown() { site_teardown; }

# usable_at MINUTE: the names sitectl location --json gives, in order
usable_at() {
	"$SITECTL" location dp --ip 10.1.0.77/24 --at "$1" --json |
		jq -r '[.sources[].name] | join(" ")'
}

@test "at minute 0 the client's pool is its current group, BG_A" {
	[ "$(usable_at 0)" = "dp-a1.contoso.com dp-a2.contoso.com" ]
	run "$SITECTL" location dp --ip 10.1.0.77/24 --at 0
	[ "$status" -eq 0 ]
	[[ "$output" == *"site: PS1 (by automatic site assignment)"* ]]
	[[ "$output" == *"current boundary groups: BG_A"* ]]
	[[ "$output" == *"1     dp-a1.contoso.com BG_A  current           0"* ]]
	[[ "$output" == *"later: dp-b1.contoso.com (from minute 10)"* ]]
	[[ "$output" == *"siteserver.contoso.com (from minute 120)"* ]]
}

@test "after 10 minutes BG_B's distribution points join the pool" {
	[ "$(usable_at 9)" = "dp-a1.contoso.com dp-a2.contoso.com" ]
	[ "$(usable_at 10)" = "dp-a1.contoso.com dp-a2.contoso.com dp-b1.contoso.com dp-b2.contoso.com" ]
}

@test "after 20 minutes BG_C's join too: six distribution points" {
	[ "$(usable_at 20)" = "dp-a1.contoso.com dp-a2.contoso.com dp-b1.contoso.com dp-b2.contoso.com dp-c1.contoso.com dp-c2.contoso.com" ]
	[ "$(usable_at 119 | wc -w)" = 6 ]
}

@test "after 120 minutes the site server's, through the site default group" {
	[ "$(usable_at 120)" = "dp-a1.contoso.com dp-a2.contoso.com dp-b1.contoso.com dp-b2.contoso.com dp-c1.contoso.com dp-c2.contoso.com siteserver.contoso.com" ]
	run "$SITECTL" location dp --ip 10.1.0.77/24 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.sources[] | .minute]')" = "[0,0,10,10,20,20,120]" ]
	[ "$(echo "$output" | jq -r '.sources[6] | .group + " " + .relation')" = "Default-Site-Boundary-Group<PS1> site-default" ]
	[ "$(echo "$output" | jq -r '.sources[2] | .group + " " + .relation')" = "BG_B neighbour" ]
	[ "$(echo "$output" | jq -r '.current | join(",")')" = BG_A ]
	[ "$(echo "$output" | jq -r '.in_boundary')" = true ]
	[ "$(echo "$output" | jq -r 'has("at")')" = false ]
}

@test "--explain says why each source is there, for a newcomer" {
	run "$SITECTL" location dp --ip 10.1.0.77/24 --at 10 --explain
	[ "$status" -eq 0 ]
	[[ "$output" == *"10.1.0.77/24 is in boundary b-a (subnet 10.1.0.0/24), a member of BG_A"* ]]
	[[ "$output" == *"dp-a1.contoso.com in BG_A: current group, usable from minute 0"* ]]
	[[ "$output" == *"dp-b1.contoso.com in BG_B: neighbour of BG_A, usable from minute 10 (explicit link BG_A->BG_B, dp=10)"* ]]
	[[ "$output" == *"siteserver.contoso.com in Default-Site-Boundary-Group<PS1>: site default group, usable from minute 120 (implied link from BG_A: Default Behavior of site PS1, dp=120)"* ]]
	run "$SITECTL" location dp --ip 10.1.0.77/24 --explain --json
	[ "$(echo "$output" | jq '.notes | length')" -gt 7 ]
}

@test "a change made with sitectl shows in the next answer" {
	"$SITECTL" bg default-behavior PS1 --fallback dp=60 >/dev/null
	[ "$(usable_at 60 | wc -w)" = 7 ]
	"$SITECTL" bg link BG_A --site-default PS1 --fallback dp=never >/dev/null
	[ "$(usable_at 1000 | wc -w)" = 6 ]
	"$SITECTL" bg unlink BG_A 'Default-Site-Boundary-Group<PS1>' >/dev/null
	"$SITECTL" bg default-behavior PS1 --fallback dp=120 >/dev/null
	[ "$(usable_at 119 | wc -w)" = 6 ]
}

@test "a client in no boundary uses the default group of the site it names" {
	run "$SITECTL" location dp --ip 192.168.1.5/24 --site ps1 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.sources[].name] | join(" ")')" = siteserver.contoso.com ]
	[ "$(echo "$output" | jq -r '.in_boundary')" = false ]
	run --separate-stderr "$SITECTL" location dp --ip 192.168.1.5/24
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no boundary matches this client and no assigned site is given"* ]]
}

@test "bad input is refused with the reason" {
	run --separate-stderr "$SITECTL" location dp --ip 10.1.0.300/24
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'--ip: "10.1.0.300" is not an IPv4 or IPv6 address'* ]]
	run --separate-stderr "$SITECTL" location dp --ip 10.1.0.3
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"needs a prefix length"* ]]
	run --separate-stderr "$SITECTL" location printer --ip 10.1.0.3/24
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'unknown role "printer"'* ]]
	run --separate-stderr "$SITECTL" location dp --ip 10.1.0.3/24 --at -5
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--at: minutes must be a whole number"* ]]
	run --separate-stderr "$SITECTL" location dp --ip 10.1.0.3/24 --mode fast
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--mode: use normal, client-install or task-sequence"* ]]
	run --separate-stderr "$SITECTL" location mp --ip 10.1.0.3/24 --content P1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"content is asked of distribution points"* ]]
	run --separate-stderr "$SITECTL" location dp --ip 10.1.0.3/24 --site XY
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"invalid site code"* ]]
}

@test "every part of the model reaches the engine: content, peers, VPN, AD site, MPs" {
	"$SITECTL" content add dp-a2.contoso.com PKG1 >/dev/null
	"$SITECTL" content add dp-c1.contoso.com PKG1 >/dev/null
	"$SITECTL" content on-demand PKG2 yes >/dev/null
	pc7=GUID:07070707-0707-4707-8707-070707070707 # a peer is a client's GUID
	"$SITECTL" peer add $pc7 --address 10.1.0.20/24 >/dev/null
	"$SITECTL" peer add-content $pc7 PKG1 >/dev/null
	run "$SITECTL" location dp --ip 10.1.0.77/24 --content PKG1 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.sources[] | .name + "@" + (.minute | tostring)] | join(" ")')" = "$pc7@0 dp-a2.contoso.com@0 dp-c1.contoso.com@20" ]
	[ "$(echo "$output" | jq -r '.sources[0] | .kind + " " + (.same_subnet | tostring)')" = "peer true" ]
	"$SITECTL" bg set BG_A --prefer-dp yes >/dev/null
	[ "$("$SITECTL" location dp --ip 10.1.0.77/24 --content PKG1 --at 0 --json | jq -r '[.sources[].name] | join(" ")')" = "dp-a2.contoso.com $pc7" ]
	run "$SITECTL" location dp --ip 10.1.0.77/24 --content PKG2 --at 0
	[[ "$output" == *"on-demand distribution of PKG2 to dp-a1.contoso.com"* ]]
	# nothing is recorded by sitectl
	[ "$(psql_site -c "SELECT count(*) FROM content_distribution_request")" = 0 ]
	"$SITECTL" boundary add corp-vpn --type vpn --value Contoso --vpn-match prefix --vpn-field description >/dev/null
	"$SITECTL" boundary add paris --type adsite --value Paris >/dev/null
	"$SITECTL" bg add-boundary BG_B corp-vpn >/dev/null
	"$SITECTL" bg add-boundary BG_C paris >/dev/null
	[ "$("$SITECTL" location dp --vpn-description "contoso remote" --json | jq -r '.current | join(",")')" = BG_B ]
	[ "$("$SITECTL" location dp --ad-site PARIS --ip 10.1.0.9/24 --json | jq -r '.current | join(",")')" = BG_A,BG_C ]
	"$SITECTL" server add mp-b.contoso.com --site PS1 --role mp >/dev/null
	"$SITECTL" bg add-server BG_B mp-b.contoso.com >/dev/null
	"$SITECTL" setting set prefer-bg-mps yes >/dev/null
	run "$SITECTL" location mp --ip 10.1.0.77/24 --json
	[ "$(echo "$output" | jq -r '.sources[0] | .name + " " + (.locality | tostring)')" = "mp-b.contoso.com 2" ]
	"$SITECTL" setting set prefer-bg-mps no >/dev/null
	run "$SITECTL" location mp --ip 10.1.0.77/24 --json
	[ "$(echo "$output" | jq -r '.sources[0] | .relation + " " + (.locality | tostring)')" = "site-list 3" ]
}
