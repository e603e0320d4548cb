#!/usr/bin/env bats
# sitectl role: which server holds which site system role (seed 000). The
# allowed client connections follow from the FQDNs; a fallback status
# point beside a management point is refused unless forced; the FSP's
# throttle reaches its host through sitectl role config; a role a
# boundary group still uses is not taken away; bad input changes nothing.

load helpers

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add ABC --name "Roles test" >/dev/null
}

teardown_file() {
	site_teardown_file
}

roles() { "$SITECTL" role list --json | jq -c "$1"; }

@test "a role added with FQDNs shows its allowed client connections; the throttle has the seed's defaults" {
	run "$SITECTL" role add fsp1.example.org fsp --site ABC --intranet-fqdn FSP1.corp.example.org
	[ "$status" -eq 0 ]
	[ "$output" = "added the fsp role to fsp1.example.org (throttle: 10000 messages every 3600 seconds)" ]
	[ "$(roles '.[] | select(.server == "fsp1.example.org") | [.role, .site, .intranet_fqdn, .allowed_connections, .throttle_messages, .throttle_seconds, .forced]')" = '["fsp","ABC","fsp1.corp.example.org","intranet only",10000,3600,false]' ]
	# an internet FQDN: intranet and internet, never set by hand
	run "$SITECTL" role add fsp2.example.org fsp --site ABC --internet-fqdn fsp.example.com --throttle-messages 500 --throttle-seconds 60
	[ "$status" -eq 0 ]
	[ "$(roles '.[] | select(.server == "fsp2.example.org") | [.allowed_connections, .internet_fqdn, .throttle_messages, .throttle_seconds]')" = '["intranet and internet","fsp.example.com",500,60]' ]
	"$SITECTL" role list | grep -q "fsp2.example.org *fsp *ABC"
}

@test "the FSP's throttle reaches its host as the lines of its sitesys.conf, which sitesys-fsp accepts" {
	"$SITECTL" role add fsp3.example.org fsp --site ABC --throttle-messages 2500 --throttle-seconds 120 >/dev/null
	run "$SITECTL" role config fsp3.example.org
	[ "$status" -eq 0 ]
	[[ "$output" == *"[fsp]"*"throttle_messages = 2500"*"throttle_seconds = 120"* ]]
	# what it prints is a configuration file the FSP host can use
	echo "$output" >"$BATS_TEST_TMPDIR/fsp.conf"
	run "$SITECTL" -c "$BATS_TEST_TMPDIR/fsp.conf" config show
	[ "$status" -eq 0 ]
	[[ "$output" == *"throttle_messages = 2500"* ]]
	run "$SITECTL" role config nowhere.example.org
	[ "$status" -eq 1 ]
	[[ "$output" == *"server nowhere.example.org holds no role with settings of the site's"* ]]
}

@test "an FSP beside a management point is refused with the reason, or forced with a warning" {
	"$SITECTL" role add mp1.example.org mp --site ABC >/dev/null
	run "$SITECTL" role add mp1.example.org fsp
	[ "$status" -eq 1 ]
	[[ "$output" == *"server mp1.example.org holds the mp role: a fallback status point takes anonymous HTTP and may not share a server with a management point, whose clients must use HTTPS"* ]]
	[ "$(roles '[.[] | select(.server == "mp1.example.org")] | length')" = 1 ]
	# and the other way round
	run "$SITECTL" role add fsp1.example.org mp
	[ "$status" -eq 1 ]
	[[ "$output" == *"server fsp1.example.org holds the fsp role"* ]]
	run "$SITECTL" role add mp1.example.org fsp --force
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: server mp1.example.org holds the mp role as well"* ]]
	[ "$(roles '.[] | select(.server == "mp1.example.org" and .role == "fsp") | .forced')" = true ]
}

@test "a role twice, an unknown role, a bad FQDN or throttle, an unknown server: refused, nothing changed" {
	local before
	before=$("$SITECTL" role list --json)
	run "$SITECTL" role add fsp1.example.org fsp
	[ "$status" -eq 1 ]
	[ "$output" = "sitectl: server fsp1.example.org already holds the fsp role" ]
	run "$SITECTL" role add fsp1.example.org printer
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown role "printer": a site system role is fsp, site-server, dp, clouddp, sup, smp, mp'* ]]
	run "$SITECTL" role add new.example.org dp --site ABC --internet-fqdn "not a name"
	[ "$status" -eq 2 ]
	[[ "$output" == *'"not a name" is not a server name'* ]]
	run "$SITECTL" role add new.example.org fsp --site ABC --throttle-seconds 0
	[ "$status" -eq 2 ]
	[[ "$output" == *'--throttle-seconds: "0" is not a number from 1 to 86400'* ]]
	run "$SITECTL" role add new.example.org dp --site ABC --throttle-messages 10
	[ "$status" -eq 2 ]
	[[ "$output" == *"are the fallback status point's (role fsp)"* ]]
	run "$SITECTL" role add new.example.org dp
	[ "$status" -eq 1 ]
	[[ "$output" == *"no server new.example.org: give --site CODE to add it"* ]]
	run "$SITECTL" role remove fsp1.example.org dp
	[ "$status" -eq 1 ]
	[[ "$output" == *"server fsp1.example.org does not hold the dp role"* ]]
	[ "$("$SITECTL" role list --json)" = "$before" ]
	[ "$("$SITECTL" server list --json | jq '[.[] | select(.fqdn == "new.example.org")] | length')" = 0 ]
}

@test "a role a boundary group still uses is not taken away; once the group lets go it is" {
	"$SITECTL" role add dp1.example.org dp --site ABC >/dev/null
	"$SITECTL" bg add Paris --site ABC >/dev/null
	"$SITECTL" bg add-server Paris dp1.example.org >/dev/null
	run "$SITECTL" role remove dp1.example.org dp
	[ "$status" -eq 1 ]
	[[ "$output" == *"boundary groups still assign server dp1.example.org to their clients (Paris): remove it from them first"* ]]
	[ "$(roles '[.[] | select(.server == "dp1.example.org")] | length')" = 1 ]
	"$SITECTL" bg remove-server Paris dp1.example.org >/dev/null
	run "$SITECTL" role remove dp1.example.org dp
	[ "$status" -eq 0 ]
	[ "$output" = "removed the dp role from dp1.example.org" ]
	[ "$(roles '[.[] | select(.server == "dp1.example.org")] | length')" = 0 ]
	# an FSP is no boundary group's: it goes
	run "$SITECTL" role remove fsp2.example.org fsp
	[ "$status" -eq 0 ]
}
