#!/usr/bin/env bats
# The boundary model in the site database, managed with sitectl: boundaries,
# boundary groups, servers, content, relationships and their fallback,
# peer cache sources, the hierarchy setting and boundary check.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	site_setup_file || return 1
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add PS1 --name "Primary one" >/dev/null
	"$SITECTL" site add PS2 --name "Primary two" >/dev/null
}
teardown_file() { site_teardown_file; }
teardown() { site_teardown; }

MODEL_TABLES="boundary boundary_group boundary_group_member site_server
site_server_role boundary_group_server dp_content content_on_demand
boundary_group_link boundary_group_link_fallback site_default_fallback
hierarchy_setting peer_cache_source peer_content"

# a peer cache source: a client, named by its GUID
L7=GUID:7a7a7a7a-0000-4000-8000-00000000007a

# Every row of the model, to show that a refusal changed nothing.
model_state() {
	local t
	for t in $MODEL_TABLES; do
		echo "== $t"
		psql_site -c "SELECT * FROM $t ORDER BY 1, 2"
	done
}

# refused STATUS MESSAGE ARGS...: sitectl ARGS exits STATUS, says MESSAGE
# on stderr and leaves the model as it was.
refused() {
	local want=$1 msg=$2 before
	shift 2
	before=$(model_state)
	run --separate-stderr "$SITECTL" "$@"
	if [ "$status" -ne "$want" ] || [[ "$stderr" != *"$msg"* ]]; then
		echo "sitectl $*: status $status, stderr: $stderr" >&2
		echo "wanted status $want and: $msg" >&2
		return 1
	fi
	[ "$(model_state)" = "$before" ] || { echo "the model changed" >&2; return 1; }
}

@test "each site has its default group and Default Behavior: 120 minutes, management points 0" {
	run psql_site -c "SELECT name, site_code FROM boundary_group WHERE default_of_site IS NOT NULL ORDER BY 1"
	[ "${lines[0]}" = "Default-Site-Boundary-Group<PS1>|PS1" ]
	[ "${lines[1]}" = "Default-Site-Boundary-Group<PS2>|PS2" ]
	run "$SITECTL" bg default-behavior ps1 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].boundary_group')" = 'Default-Site-Boundary-Group<PS1>' ]
	[ "$(echo "$output" | jq -c '.[0] | [.dp, .clouddp, .sup, .smp, .mp, .cmg]')" = "[120,120,120,120,0,120]" ]
}

# psql_db DB ARGS...: psql as psql_site runs it, in database DB
psql_db() {
	local db=$1
	shift
	psql -X -q -A -t -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres \
		-d "$db" -v ON_ERROR_STOP=1 "$@"
}

# old_schema DB VERSION: a new database DB at schema VERSION, each migration
# up to it applied and recorded as sitectl db init does, and a config that
# names it, $SITE_DIR/DB.conf: that of a site made before the programs had
# roles of their own, where sitectl connects as [database] conninfo says
old_schema() {
	local db=$1 upto=$2 f base v
	psql_site -c "CREATE DATABASE $db"
	psql_db "$db" -c "CREATE TABLE schema_version (version integer
		PRIMARY KEY, name text NOT NULL,
		applied timestamptz NOT NULL DEFAULT now())"
	for f in "$TOP"/schema/[0-9][0-9][0-9]_*.sql; do
		base=$(basename "$f" .sql)
		v=$((10#${base%%_*}))
		[ "$v" -le "$upto" ] || break
		psql_db "$db" -1 -f "$f"
		psql_db "$db" -c "INSERT INTO schema_version VALUES ($v, '${base#*_}')"
	done
	sed -e "s/dbname=sitesys/dbname=$db/" -e '/user=sitesys_/d' \
		"$SITESYS_CONF" >"$SITE_DIR/$db.conf"
}

# default_of DB CODE: the name of site CODE's default group in database DB
default_of() {
	psql_db "$1" -c "SELECT name FROM boundary_group WHERE default_of_site = '$2'"
}

@test "a site that existed before 003 gets its default group from the upgrade" {
	old_schema before003 2
	psql_db before003 -c "INSERT INTO site VALUES ('OLD', 'old')"
	run "$SITECTL" -c "$SITE_DIR/before003.conf" db upgrade
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied 003_boundary"* ]]
	[ "$(default_of before003 OLD)" = 'Default-Site-Boundary-Group<OLD>' ]
	[ "$(psql_db before003 -c "SELECT minutes FROM site_default_fallback WHERE site_code = 'OLD' AND role = 'mp'")" = 0 ]
	psql_db before003 -c "DELETE FROM site WHERE code = 'OLD'"
	[ "$(psql_db before003 -c "SELECT count(*) FROM boundary_group WHERE default_of_site = 'OLD'")" = 0 ]
}

@test "004 renames a default group made under 003, keeps what it holds, and runs twice unharmed" {
	local conf=$SITE_DIR/before004.conf before
	old_schema before004 3
	psql_db before004 -c "INSERT INTO site VALUES ('OLD', 'old')"
	[ "$(default_of before004 OLD)" = Default-Site-Boundary-GroupOLD ]
	"$SITECTL" -c "$conf" server add old.example.org --site OLD --role dp
	"$SITECTL" -c "$conf" bg add-server Default-Site-Boundary-GroupOLD old.example.org
	"$SITECTL" -c "$conf" bg add MINE --site OLD
	"$SITECTL" -c "$conf" bg link MINE Default-Site-Boundary-GroupOLD --fallback dp=30
	run "$SITECTL" -c "$conf" db upgrade
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied 004_default_group_name"* ]]
	[ "$(default_of before004 OLD)" = 'Default-Site-Boundary-Group<OLD>' ]
	run "$SITECTL" -c "$conf" bg show 'Default-Site-Boundary-Group<OLD>' --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.servers, .linked_from]')" = '[["old.example.org"],["MINE"]]' ]
	run "$SITECTL" -c "$conf" bg links MINE --json
	[ "$(echo "$output" | jq -r '.[0] | "\(.to_group) \(.dp)"')" = 'Default-Site-Boundary-Group<OLD> 30' ]
	# the migration again, by hand: nothing changes
	before=$(psql_db before004 -c "SELECT id, name FROM boundary_group ORDER BY id")
	psql_db before004 -1 -f "$TOP/schema/004_default_group_name.sql"
	psql_db before004 -1 -f "$TOP/schema/004_default_group_name.sql"
	[ "$(psql_db before004 -c "SELECT id, name FROM boundary_group ORDER BY id")" = "$before" ]
	run "$SITECTL" -c "$conf" db upgrade
	[[ "$output" == *"schema is up to date"* ]]
	# a site added now gets the new name, and the old name is refused
	"$SITECTL" -c "$conf" site add NEW --name new
	[ "$(default_of before004 NEW)" = 'Default-Site-Boundary-Group<NEW>' ]
	run psql_db before004 -c "UPDATE boundary_group SET name = 'Default-Site-Boundary-GroupNEW' WHERE default_of_site = 'NEW'"
	[ "$status" -ne 0 ]
	[[ "$output" == *boundary_group_default_name* ]]
}

@test "boundary add takes every type and list shows them" {
	"$SITECTL" boundary add hq --type subnet --value 10.1.0.0/16
	"$SITECTL" boundary add branch --type range --value 10.2.0.10-10.2.0.200
	"$SITECTL" boundary add six --type ipv6 --value 2001:db8:1::/48
	"$SITECTL" boundary add paris --type adsite --value Paris-Site
	"$SITECTL" boundary add vpn1 --type vpn --value Contoso --vpn-match prefix --vpn-field description
	run "$SITECTL" boundary add vpn2 --type vpn --value "Contoso VPN"
	[ "$status" -eq 0 ]
	[ "$output" = "added boundary vpn2" ]
	run "$SITECTL" boundary list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "branch") | .value')" = 10.2.0.10-10.2.0.200 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "six") | .value')" = 2001:db8:1::/48 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "vpn1") | .vpn_match + "/" + .vpn_field')" = prefix/description ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "vpn2") | .vpn_match + "/" + .vpn_field')" = exact/name ]
	[ "$(echo "$output" | jq length)" = 6 ]
	run "$SITECTL" boundary list
	[[ "$output" == *"hq      subnet  10.1.0.0/16"* ]]
	run "$SITECTL" boundary show paris --json
	[ "$(echo "$output" | jq -r '.type + " " + .value')" = "adsite Paris-Site" ]
}

@test "boundary add refuses malformed values with the reason, changing nothing" {
	refused 2 'has host bits set: the subnet ID is 10.9.0.0/16' boundary add x --type subnet --value 10.9.0.5/16
	refused 2 'is not an IPv4 or IPv6 address' boundary add x --type subnet --value 10.9.0.300/24
	refused 2 'needs a prefix length' boundary add x --type subnet --value 10.9.0.0
	refused 2 'is not an IPv4 subnet' boundary add x --type subnet --value 2001:db8::/64
	refused 2 'is not an IPv6 prefix' boundary add x --type ipv6 --value 10.0.0.0/8
	refused 2 'the start is after the end' boundary add x --type range --value 10.0.0.9-10.0.0.1
	refused 2 'is not a range: START-END' boundary add x --type range --value 10.0.0.9
	refused 2 'unknown boundary type "cidr"' boundary add x --type cidr --value 10.0.0.0/8
	refused 2 '--vpn-match takes exact or prefix, not "starts"' boundary add x --type vpn --value a --vpn-match starts
	refused 2 '--vpn-field takes name or description' boundary add x --type vpn --value a --vpn-field id
	refused 2 'are for vpn boundaries only' boundary add x --type adsite --value a --vpn-match exact
	refused 2 'a boundary needs --type and --value' boundary add x --type subnet
	refused 1 'boundary "hq" already exists' boundary add hq --type subnet --value 10.8.0.0/16
	refused 1 'boundary "hq" has that value already' boundary add hq2 --type subnet --value 10.1.0.0/16
	refused 1 'boundary "paris" has that value already' boundary add p2 --type adsite --value PARIS-SITE
}

@test "boundary set changes a value, name or VPN option; refuses bad input" {
	run "$SITECTL" boundary set hq --value 10.1.0.0/17
	[ "$status" -eq 0 ]
	[ "$(psql_site -c "SELECT prefix FROM boundary WHERE name = 'hq'")" = 10.1.0.0/17 ]
	"$SITECTL" boundary set vpn2 --vpn-match prefix --name vpn-two
	[ "$(psql_site -c "SELECT vpn_match FROM boundary WHERE name = 'vpn-two'")" = prefix ]
	refused 2 'the start is after the end' boundary set branch --value 10.2.0.9-10.2.0.1
	refused 2 'a new --type needs a new --value' boundary set branch --type subnet
	refused 1 'no boundary "nowhere"' boundary set nowhere --value 10.0.0.0/8
	refused 1 'no boundary "nowhere"' boundary remove nowhere
}

@test "boundary groups: add, set options, members, servers" {
	"$SITECTL" bg add BG_A --site ps1 --description "branch A"
	"$SITECTL" bg add BG_B --site PS2
	"$SITECTL" bg add BG_C
	run "$SITECTL" bg add-boundary BG_A hq
	[ "$status" -eq 0 ]
	[ "$output" = "added boundary hq to BG_A" ]
	"$SITECTL" bg add-boundary BG_B branch
	run "$SITECTL" bg set BG_A --allow-peers yes --same-subnet-only yes --prefer-dp yes --prefer-cloud yes
	[ "$status" -eq 0 ]
	run "$SITECTL" bg show BG_A --json
	[ "$(echo "$output" | jq -c '[.site, .allow_peers, .peers_same_subnet_only, .prefer_dp_over_peers, .prefer_cloud, .boundaries]')" = '["PS1",true,true,true,true,["hq"]]' ]
	[ "$(echo "$output" | jq -r .description)" = "branch A" ]
	"$SITECTL" bg set BG_C --site PS2 --name BG_C2
	"$SITECTL" bg set BG_C2 --site none --name BG_C
	[ "$(psql_site -c "SELECT coalesce(site_code, 'none') FROM boundary_group WHERE name = 'BG_C'")" = none ]
	run "$SITECTL" bg list --json
	[ "$(echo "$output" | jq length)" = 5 ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "BG_A") | .boundaries')" = 1 ]
}

@test "boundary group refusals: unknown objects, defaults, dependent peer options, bad values" {
	refused 1 'no boundary group "BG_X"' bg add-boundary BG_X hq
	refused 1 'no boundary "nope"' bg add-boundary BG_A nope
	refused 1 'boundary "hq" is already in group "BG_A"' bg add-boundary BG_A hq
	refused 1 'boundary "branch" is not in group "BG_A"' bg remove-boundary BG_A branch
	refused 1 'takes no boundaries' bg add-boundary 'Default-Site-Boundary-Group<PS1>' hq
	refused 1 'boundary group "BG_A" already exists' bg add BG_A
	refused 1 'no site "PS9"' bg add BG_Z --site PS9
	refused 2 'a site code is exactly three letters' bg add BG_Z --site P-1
	refused 2 'are the sites'"'"' default groups' bg add 'Default-Site-Boundary-Group<XYZ>'
	refused 2 '--allow-peers takes yes or no, not "maybe"' bg set BG_A --allow-peers maybe
	# no group named by blanks or holding control characters (issue 10)
	refused 2 'a boundary group name may not be only blanks' bg add '   '
	refused 2 'a boundary group name may not be empty' bg add ''
	refused 2 'a boundary group name may not hold control characters' bg add $'BG\e]0;title\a'
	refused 2 'a boundary group name may not hold control characters' bg set BG_A --name $'BG\x7f'
	refused 1 'need peer downloads allowed' bg set BG_A --allow-peers no
	refused 1 'its name cannot change' bg set 'Default-Site-Boundary-Group<PS1>' --name Mine
	refused 1 'its site cannot change' bg set --site-default PS1 --site PS2
	refused 1 'it goes only with its site' bg remove 'Default-Site-Boundary-Group<PS1>'
	refused 1 'no boundary group "BG_X"' bg remove BG_X
	run "$SITECTL" bg set BG_A --allow-peers no --same-subnet-only no --prefer-dp no
	[ "$status" -eq 0 ]
	[ "$(psql_site -c "SELECT allow_peers FROM boundary_group WHERE name = 'BG_A'")" = f ]
}

@test "servers: add with several roles, assign to groups, change, refuse bad input" {
	run "$SITECTL" server add DP-A1.Contoso.com --site PS1 --role dp --role mp,sup
	[ "$status" -eq 0 ]
	[ "$output" = "added server dp-a1.contoso.com" ]
	[ "$(psql_site -c "SELECT string_agg(role, ',' ORDER BY role) FROM site_server_role r JOIN site_server s ON s.id = r.server_id WHERE fqdn = 'dp-a1.contoso.com'")" = dp,mp,sup ]
	"$SITECTL" server add dp-a2.contoso.com --site PS1 --role dp
	"$SITECTL" server add dp-b1.contoso.com --site PS2 --role dp,clouddp
	"$SITECTL" server add cmg.contoso.com --site PS1 --role cmg,smp
	"$SITECTL" bg add-server BG_A dp-a2.contoso.com
	"$SITECTL" bg add-server BG_B DP-B1.contoso.com
	run "$SITECTL" server show dp-b1.contoso.com --json
	[ "$(echo "$output" | jq -c '[.site, .roles, .boundary_groups]')" = '["PS2",["dp","clouddp"],["BG_B"]]' ]
	"$SITECTL" server set cmg.contoso.com --role cmg --site PS2
	[ "$(psql_site -c "SELECT string_agg(role, ',') FROM site_server_role r JOIN site_server s ON s.id = r.server_id WHERE fqdn = 'cmg.contoso.com'")" = cmg ]
	run "$SITECTL" server list --json
	[ "$(echo "$output" | jq -r '.[] | select(.fqdn == "cmg.contoso.com") | .site')" = PS2 ]
}

@test "server refusals: bad names, unknown roles and sites, duplicates" {
	refused 2 'is not a server name' server add dp_a1.contoso.com --site PS1 --role dp
	refused 2 'is not a server name' server add dp-.contoso.com --site PS1 --role dp
	refused 2 'unknown role "distributionpoint": roles are dp, clouddp, sup, smp, mp and cmg' server add x.contoso.com --site PS1 --role distributionpoint
	refused 2 'unknown role "": roles are' server add x.contoso.com --site PS1 --role dp,
	refused 2 'server add needs --site CODE and --role ROLE' server add x.contoso.com --site PS1
	refused 1 'no site "PS7"' server add x.contoso.com --site PS7 --role dp
	refused 1 'server dp-a2.contoso.com already exists' server add dp-a2.contoso.com --site PS1 --role dp
	refused 1 'no server "x.contoso.com"' bg add-server BG_A x.contoso.com
	refused 1 'server "dp-a2.contoso.com" is already in group "BG_A"' bg add-server BG_A dp-a2.contoso.com
	refused 1 'no server "x.contoso.com"' server remove x.contoso.com
}

@test "content: add to distribution points, on demand, refusals" {
	run "$SITECTL" content add dp-a2.contoso.com PS100001
	[ "$status" -eq 0 ]
	[ "$output" = "added content PS100001 to dp-a2.contoso.com" ]
	"$SITECTL" content add dp-b1.contoso.com PS100001
	run "$SITECTL" content on-demand PS100002 yes
	[ "$output" = "content PS100002 distributes on demand" ]
	run "$SITECTL" content list --json
	[ "$(echo "$output" | jq -c '.[] | select(.content_id == "PS100001") | .servers')" = '["dp-a2.contoso.com","dp-b1.contoso.com"]' ]
	[ "$(echo "$output" | jq -r '.[] | select(.content_id == "PS100002") | .on_demand')" = true ]
	refused 1 'is not a distribution point' content add cmg.contoso.com PS100001
	refused 1 'already holds content PS100001' content add dp-a2.contoso.com PS100001
	refused 1 'does not hold content PS100009' content remove dp-a2.contoso.com PS100009
	refused 2 'is not a content ID' content add dp-a2.contoso.com "PS1 0001"
	refused 2 'on-demand takes yes or no' content on-demand PS100002 sure
	refused 1 'holds content: remove it' server set dp-a2.contoso.com --role mp
	run "$SITECTL" content on-demand PS100002 no
	[ "$status" -eq 0 ]
	[ "$(psql_site -c 'SELECT count(*) FROM content_on_demand')" = 0 ]
	"$SITECTL" content remove dp-b1.contoso.com PS100001
	[ "$(psql_site -c 'SELECT count(*) FROM dp_content')" = 1 ]
}

@test "the schema keeps content off servers that are no distribution point" {
	run psql_site -c "INSERT INTO dp_content (server_id, content_id) SELECT id, 'X1' FROM site_server WHERE fqdn = 'cmg.contoso.com'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not a distribution point"* ]]
}

@test "content requests lists what location answers recorded" {
	psql_site -c "INSERT INTO content_distribution_request (content_id, server_id, client) SELECT 'PS100003', id, 'GUID:x' FROM site_server WHERE fqdn = 'dp-a2.contoso.com'"
	run "$SITECTL" content requests --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].server + " " + .[0].content_id')" = "dp-a2.contoso.com PS100003" ]
}

@test "bg link writes every role: given times, never, and the defaults" {
	run "$SITECTL" bg link BG_A BG_B --fallback dp=10 --fallback sup=never,mp=5
	[ "$status" -eq 0 ]
	[[ "$output" == "linked BG_A to BG_B"* ]]
	run "$SITECTL" bg links BG_A --json
	[ "$(echo "$output" | jq -c '.[0] | [.to_group, .dp, .clouddp, .sup, .smp, .mp, .cmg]')" = '["BG_B",10,120,"never",120,5,120]' ]
	[ "$(psql_site -c "SELECT never FROM boundary_group_link_fallback f JOIN boundary_group g ON g.id = f.to_group WHERE g.name = 'BG_B' AND role = 'sup'")" = t ]
	# a second link keeps what it is not told
	"$SITECTL" bg link BG_A BG_B --fallback dp=20
	run "$SITECTL" bg links BG_A --json
	[ "$(echo "$output" | jq -c '.[0] | [.dp, .sup, .mp]')" = '[20,"never",5]' ]
	# an explicit link to a site default group overrides its Default Behavior
	"$SITECTL" bg link BG_A 'Default-Site-Boundary-Group<PS1>' --fallback dp=30
	run "$SITECTL" bg links --json
	[ "$(echo "$output" | jq -r '.[] | select(.to_group == "Default-Site-Boundary-Group<PS1>") | .dp')" = 30 ]
	"$SITECTL" bg link BG_C BG_A
	run "$SITECTL" bg links BG_C --json
	[ "$(echo "$output" | jq -c '.[] | select(.from_group == "BG_C") | [.dp, .mp]')" = '[120,0]' ]
}

@test "bg link refusals: itself, unknown roles, negative or bad minutes, unknown groups" {
	refused 2 'a boundary group cannot link to itself ("BG_A")' bg link BG_A BG_A --fallback dp=5
	refused 2 'unknown role "dpx": roles are' bg link BG_A BG_C --fallback dpx=5
	refused 2 '--fallback dp=-5: minutes cannot be negative' bg link BG_A BG_C --fallback dp=-5
	refused 2 '--fallback dp=soon: minutes are a whole number from 0 to 525600, or never' bg link BG_A BG_C --fallback dp=soon
	refused 2 'expected ROLE=MINUTES or ROLE=never' bg link BG_A BG_C --fallback dp
	refused 1 'no boundary group "BG_X"' bg link BG_A BG_X
	refused 1 'no link from BG_B to BG_A' bg unlink BG_B BG_A
	run psql_site -c "INSERT INTO boundary_group_link (from_group, to_group) SELECT id, id FROM boundary_group WHERE name = 'BG_A'"
	[[ "$output" == *boundary_group_link_not_self* ]]
	run psql_site -c "UPDATE boundary_group_link_fallback SET minutes = -1"
	[[ "$output" == *fallback_minutes_check* ]]
}

@test "bg default-behavior changes a site's implied links; refuses bad input" {
	run "$SITECTL" bg default-behavior PS2 --fallback dp=60,mp=never
	[ "$status" -eq 0 ]
	[[ "$output" == "changed the Default Behavior of site PS2"* ]]
	[ "$(psql_site -c "SELECT coalesce(minutes::text, 'never') FROM site_default_fallback WHERE site_code = 'PS2' ORDER BY role")" = "$(printf '120\n120\n60\nnever\n120\n120')" ]
	refused 2 'minutes cannot be negative' bg default-behavior PS2 --fallback sup=-1
	refused 2 'unknown role "web"' bg default-behavior PS2 --fallback web=1
	refused 1 'no site "PS8"' bg default-behavior PS8 --fallback dp=1
}

@test "bg unlink and remove-* undo what add did" {
	run "$SITECTL" bg unlink BG_C BG_A
	[ "$output" = "removed the link from BG_C to BG_A" ]
	[ "$(psql_site -c "SELECT count(*) FROM boundary_group_link_fallback f JOIN boundary_group g ON g.id = f.from_group WHERE g.name = 'BG_C'")" = 0 ]
	"$SITECTL" bg add-boundary BG_C paris
	"$SITECTL" bg remove-boundary BG_C paris
	"$SITECTL" bg add-server BG_C cmg.contoso.com
	run "$SITECTL" bg remove-server BG_C cmg.contoso.com
	[ "$output" = "removed server cmg.contoso.com from BG_C" ]
	[ "$(psql_site -c "SELECT count(*) FROM boundary_group_member m JOIN boundary_group g ON g.id = m.group_id WHERE g.name = 'BG_C'")" = 0 ]
}

@test "setting set prefer-bg-mps and setting list" {
	run "$SITECTL" setting list --json
	[ "$(echo "$output" | jq -r '.[0].value')" = false ]
	"$SITECTL" setting set prefer-bg-mps yes
	run "$SITECTL" setting list --json
	[ "$(echo "$output" | jq -r '.[0].value')" = true ]
	refused 2 'unknown setting "prefer-mps"' setting set prefer-mps yes
	refused 2 'prefer-bg-mps takes yes or no' setting set prefer-bg-mps 1
}

@test "peer cache sources: add, content, set, list, remove and refusals" {
	run "$SITECTL" peer add GUID:11111111-2222-3333-4444-555555555555 --address 10.1.2.3/24
	[ "$status" -eq 0 ]
	"$SITECTL" peer add $L7 --address 2001:db8:1::7/64
	"$SITECTL" peer add-content $L7 PS100001
	run "$SITECTL" peer list --json
	[ "$(echo "$output" | jq -c ".[] | select(.client == \"$L7\") | [.address, .subnet, .content]")" = '["2001:db8:1::7/64","2001:db8:1::/64",["PS100001"]]' ]
	"$SITECTL" peer set $L7 --address 10.1.2.7/24
	[ "$(psql_site -c "SELECT subnet FROM peer_cache_source WHERE client = '$L7'")" = 10.1.2.0/24 ]
	refused 2 'is not an IPv4 or IPv6 address' peer add ${L7/7a/7b} --address 10.1.2.300/24
	refused 2 'needs a prefix length' peer add ${L7/7a/7b} --address 10.1.2.3
	# a peer is a client: its GUID, not a name (issue 10)
	refused 2 '"laptop7" is not a client id: "GUID:" and a UUID' peer add laptop7 --address 10.1.2.8/24
	refused 2 '"laptop7" is not a client id' peer set laptop7 --address 10.1.2.8/24
	refused 1 "peer cache source $L7 already exists" peer add "${L7^^}" --address 10.1.2.8/24
	refused 1 'no peer cache source "p9"' peer remove p9
	refused 1 'already holds content PS100001' peer add-content "${L7^^}" PS100001
	"$SITECTL" peer remove-content $L7 PS100001
	"$SITECTL" peer remove GUID:11111111-2222-3333-4444-555555555555
	[ "$(psql_site -c 'SELECT count(*) FROM peer_cache_source')" = 1 ]
}

@test "a committed change signals sitesys_boundary; a refused one does not" {
	"$BUILD/tests/db-listen" sitesys_boundary 1 20 >"$SITE_DIR/listen.out" &
	pid=$!
	wait_for 10 grep -q listening "$SITE_DIR/listen.out"
	run "$SITECTL" bg link BG_A BG_A
	[ "$status" -eq 2 ]
	sleep 0.5
	! grep -q notified "$SITE_DIR/listen.out" || false
	"$SITECTL" bg set BG_B --prefer-cloud yes
	wait $pid
	grep -q 'notified on sitesys_boundary' "$SITE_DIR/listen.out"
	# a distribution request is not a model change: its own channel
	"$BUILD/tests/db-listen" sitesys_distribution 1 20 >"$SITE_DIR/listen2.out" &
	pid=$!
	wait_for 10 grep -q listening "$SITE_DIR/listen2.out"
	psql_site -c "INSERT INTO content_distribution_request (content_id, server_id) SELECT 'PS100004', id FROM site_server WHERE fqdn = 'dp-a2.contoso.com'"
	wait $pid
}

@test "boundary check finds overlaps across sites, unreachable groups, dead links and empty sources" {
	# hq (10.1.0.0/17, BG_A, PS1) meets range 10.1.0.5-10.1.0.9 in a PS2 group
	"$SITECTL" boundary add overlap --type range --value 10.1.0.5-10.1.0.9
	"$SITECTL" bg add BG_O --site PS2
	"$SITECTL" bg add-boundary BG_O overlap
	"$SITECTL" bg add BG_LONELY
	run "$SITECTL" boundary check
	[ "$status" -eq 1 ]
	[[ "$output" == *'overlap: boundary "hq" in group "BG_A" (site PS1) and boundary "overlap" in group "BG_O" (site PS2)'* ]]
	[[ "$output" == *'unreachable: boundary group "BG_LONELY" has no boundaries'* ]]
	[[ "$output" == *'link to a group without servers: "BG_A" -> "Default-Site-Boundary-Group<PS1>"'* ]]
	[[ "$output" == *'no content: distribution point dp-b1.contoso.com holds no content'* ]]
	[[ "$output" == *"no content: peer cache source $L7 holds no content"* ]]
	run "$SITECTL" boundary check --json
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.overlaps[0].other_boundary')" = overlap ]
	[ "$(echo "$output" | jq -r '[.unreachable_groups[].boundary_group] | index("BG_LONELY")')" != null ]
	[ "$(echo "$output" | jq '.findings')" -ge 5 ]
}

@test "boundary check is clean, exit 0, once the findings are fixed" {
	"$SITECTL" bg remove BG_O
	"$SITECTL" boundary remove overlap
	"$SITECTL" bg remove BG_LONELY
	"$SITECTL" bg remove BG_C
	"$SITECTL" bg unlink BG_A --site-default ps1
	"$SITECTL" content add dp-b1.contoso.com PS100001
	"$SITECTL" content add dp-a1.contoso.com PS100001
	"$SITECTL" peer add-content $L7 PS100001
	run "$SITECTL" boundary check
	[ "$status" -eq 0 ]
	[ "$output" = "boundary check: no findings" ]
	run "$SITECTL" boundary check --json
	[ "$(echo "$output" | jq .findings)" = 0 ]
}

@test "boundary check sees VPN boundaries where one starts the other" {
	"$SITECTL" bg add BG_V1 --site PS1
	"$SITECTL" bg add BG_V2 --site PS2
	"$SITECTL" bg add-boundary BG_V1 vpn1
	"$SITECTL" boundary add vpn3 --type vpn --value "contoso-east" --vpn-field description
	"$SITECTL" bg add-boundary BG_V2 vpn3
	run "$SITECTL" boundary check --json
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.overlaps[0] | .boundary + " " + .other_boundary')" = "vpn1 vpn3" ]
}

@test "removing a boundary, group or server takes its links with it" {
	"$SITECTL" boundary remove vpn3
	"$SITECTL" bg remove BG_V1
	"$SITECTL" bg remove BG_V2
	run "$SITECTL" server remove dp-b1.contoso.com
	[ "$output" = "removed server dp-b1.contoso.com" ]
	[ "$(psql_site -c "SELECT count(*) FROM boundary_group_server")" = 1 ]
	run "$SITECTL" bg remove BG_B
	[ "$status" -eq 0 ]
	[ "$(psql_site -c 'SELECT count(*) FROM boundary_group_link')" = 0 ]
}

@test "bg list and site add show a site's default group by the seed's name" {
	run "$SITECTL" site add abc --name "Site ABC"
	[ "$status" -eq 0 ]
	[ "$output" = "added site ABC (Site ABC) with boundary group Default-Site-Boundary-Group<ABC>" ]
	run "$SITECTL" bg list
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nDefault-Site-Boundary-Group<ABC>  ABC '* ]]
	run "$SITECTL" bg list --json
	[ "$(echo "$output" | jq -r '[.[] | select(.site_default) | .name] | join(" ")')" = \
		'Default-Site-Boundary-Group<ABC> Default-Site-Boundary-Group<PS1> Default-Site-Boundary-Group<PS2>' ]
	run "$SITECTL" site list --json
	[ "$(echo "$output" | jq -r '.[] | select(.code == "ABC") | .default_boundary_group')" = 'Default-Site-Boundary-Group<ABC>' ]
	psql_site -c "DELETE FROM site WHERE code = 'ABC'"
}

@test "a default group is named as written or as --site-default CODE" {
	"$SITECTL" site add ABC --name "Site ABC"
	"$SITECTL" server add abc1.example.org --site ABC --role dp
	"$SITECTL" server add abc2.example.org --site ABC --role dp
	run "$SITECTL" bg add-server 'Default-Site-Boundary-Group<ABC>' abc1.example.org
	[ "$status" -eq 0 ]
	[ "$output" = "added server abc1.example.org to Default-Site-Boundary-Group<ABC>" ]
	run "$SITECTL" bg add-server --site-default abc abc2.example.org
	[ "$status" -eq 0 ]
	[ "$output" = "added server abc2.example.org to Default-Site-Boundary-Group<ABC>" ]
	"$SITECTL" bg add BG_ABC --site ABC
	"$SITECTL" bg link BG_ABC --site-default=ABC --fallback dp=5
	run "$SITECTL" bg show --site-default ABC --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.name, .servers, .linked_from]')" = \
		'["Default-Site-Boundary-Group<ABC>",["abc1.example.org","abc2.example.org"],["BG_ABC"]]' ]
	run "$SITECTL" bg links --site-default ABC --json
	[ "$(echo "$output" | jq -r '.[0] | "\(.from_group) \(.to_group) \(.dp)"')" = 'BG_ABC Default-Site-Boundary-Group<ABC> 5' ]
	"$SITECTL" bg unlink BG_ABC --site-default ABC
	run "$SITECTL" bg remove-server --site-default ABC abc2.example.org
	[ "$output" = "removed server abc2.example.org from Default-Site-Boundary-Group<ABC>" ]
}

@test "--site-default refuses a bad code, a missing site and a place that takes no group" {
	refused 2 'invalid site code "AB": a site code is exactly three letters (A-Z) or digits (0-9)' \
		bg add-server --site-default AB abc1.example.org
	refused 2 'invalid site code "A<C"' bg show --site-default 'A<C'
	refused 2 'site code "CON" is reserved' bg remove-server --site-default con abc1.example.org
	refused 1 'no boundary group "Default-Site-Boundary-Group<QQQ>"' bg add-server --site-default QQQ abc1.example.org
	refused 2 'bg add-boundary takes --site-default CODE only in place of a boundary group' \
		bg add-boundary BG_ABC --site-default ABC
	refused 2 'bg add takes --site-default CODE only in place of a boundary group' bg add --site-default ABC
	refused 2 'bg default-behavior takes --site-default CODE only in place of a boundary group' \
		bg default-behavior --site-default ABC
	refused 1 'it goes only with its site' bg remove --site-default ABC
	# the site goes with its group, its servers and its links
	psql_site -c "DELETE FROM site WHERE code = 'ABC'"
	"$SITECTL" bg remove BG_ABC
}

@test "usage errors exit 2 and show the command's forms" {
	run "$SITECTL" boundary frob
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: sitectl [-c file] boundary add NAME --type subnet|range|ipv6|adsite|vpn --value V"* ]]
	run "$SITECTL" bg link BG_A
	[ "$status" -eq 2 ]
	[[ "$output" == *"bg link FROM TO [--fallback ROLE=MINUTES|never ...]"* ]]
	run "$SITECTL" server
	[ "$status" -eq 2 ]
	run "$SITECTL" content add dp-a2.contoso.com
	[ "$status" -eq 2 ]
	run "$SITECTL" peer list extra
	[ "$status" -eq 2 ]
	run "$SITECTL" setting
	[ "$status" -eq 2 ]
}
