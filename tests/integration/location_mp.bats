#!/usr/bin/env bats
# POST /mp/v1/location through nginx: the seed's worked example answered by
# sitesys-mp, a model change picked up within a second, site assignment
# made once and kept, on-demand distribution recorded, bad requests refused.

load helpers

C1=GUID:71717171-7171-4171-8171-717171717171
C2=GUID:72727272-7272-4272-8272-727272727272

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add ABC --name "Location test" >/dev/null
	"$SITECTL" site add XYZ --name "Second site" >/dev/null
	"$SITECTL" inbox init >/dev/null
	# the seed's worked example: BG_A current, BG_B after 10 minutes,
	# BG_C after 20, the site server's DP in the default group after 120
	"$SITECTL" boundary add net-a --type subnet --value 10.1.2.0/24
	"$SITECTL" boundary add net-b --type subnet --value 10.2.0.0/16
	"$SITECTL" bg add BG_A --site ABC
	"$SITECTL" bg add BG_B --site ABC
	"$SITECTL" bg add BG_C --site ABC
	"$SITECTL" bg add-boundary BG_A net-a
	"$SITECTL" bg add-boundary BG_B net-b
	for s in dp-a1 dp-a2 dp-b1 dp-c1 site; do
		"$SITECTL" server add $s.example.org --site ABC --role dp
		"$SITECTL" content add $s.example.org PKG1
	done
	"$SITECTL" bg add-server BG_A dp-a1.example.org
	"$SITECTL" bg add-server BG_A dp-a2.example.org
	"$SITECTL" bg add-server BG_B dp-b1.example.org
	"$SITECTL" bg add-server BG_C dp-c1.example.org
	"$SITECTL" bg add-server 'Default-Site-Boundary-Group<ABC>' site.example.org
	"$SITECTL" bg link BG_A BG_B --fallback dp=10
	"$SITECTL" bg link BG_A BG_C --fallback dp=20
	mp_start
}
teardown_file() {
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}
teardown() { site_teardown; }

# ask BODY: the answer's body in $SITE_DIR/answer, the status printed;
# asked by the client the body names (registered first), else by C1
ask() {
	local g
	g=$(echo "$1" | jq -r '.client // empty' 2>/dev/null) || true
	[[ "$g" =~ ^GUID:[0-9a-f-]{36}$ ]] || g=$C1
	[ -f "$SITE_DIR/registered-$g" ] ||
		{ register_client "$g" >/dev/null && touch "$SITE_DIR/registered-$g"; }
	as_client "$g" -sS -o "$SITE_DIR/answer" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$1" \
		"https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/location"
}
req() { # CLIENT ADDR ROLE [EXTRA_JSON]
	printf '{"format":"sitesys.location/1","client":"%s","addresses":["%s"],"role":"%s"%s}' "$1" "$2" "$3" "${4:-}"
}
sources() { jq -r '.sources[] | "\(.name) \(.minute) \(.relation)"' "$SITE_DIR/answer"; }
# until_answer BODY JQ_FILTER: ask (bounded: 50 times, 0.1 s apart) until
# the answer passes the filter; the model reloads within a second
until_answer() {
	local i
	for i in $(seq 1 50); do
		ask "$1" >/dev/null
		jq -e "$2" "$SITE_DIR/answer" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

@test "the seed's worked example: BG_A at once, BG_B at 10, BG_C at 20, the site default at 120" {
	[ "$(ask "$(req $C1 10.1.2.3/24 dp ',"site":"ABC","content":"PKG1"')")" = 200 ]
	[ "$(jq -r .format "$SITE_DIR/answer")" = sitesys.location-answer/1 ]
	[ "$(jq -r '.current | join(",")' "$SITE_DIR/answer")" = BG_A ]
	run sources
	[ "${lines[0]% current}" != "${lines[0]}" ]
	[ "$(printf '%s\n' "${lines[@]:0:2}" | sort | tr '\n' ' ')" = "dp-a1.example.org 0 current dp-a2.example.org 0 current " ]
	[ "${lines[2]}" = "dp-b1.example.org 10 neighbour" ]
	[ "${lines[3]}" = "dp-c1.example.org 20 neighbour" ]
	[ "${lines[4]}" = "site.example.org 120 site-default" ]
	[ "${#lines[@]}" = 5 ]
	[ "$(jq -r '.sources[4].group' "$SITE_DIR/answer")" = 'Default-Site-Boundary-Group<ABC>' ]
}

@test "a model change reaches the MP's answers without a restart (NOTIFY)" {
	local body loads
	body=$(req $C1 10.1.2.3/24 dp ',"site":"ABC","content":"PKG1"')
	loads=$(grep -c "boundary model loaded" "$SITE_DIR/mp.log")
	"$SITECTL" bg unlink BG_A BG_C
	"$SITECTL" bg link BG_A BG_C --fallback dp=never
	until_answer "$body" '[.sources[].name] | index("dp-c1.example.org") == null'
	"$SITECTL" bg unlink BG_A BG_C
	"$SITECTL" bg link BG_A BG_C --fallback dp=20
	until_answer "$body" '.sources[] | select(.name == "dp-c1.example.org" and .minute == 20)'
	[ "$(grep -c "boundary model loaded" "$SITE_DIR/mp.log")" -gt "$loads" ]
}

@test "site assignment: made once from the client's groups, recorded, never redone" {
	register_client $C2 pc-2 >/dev/null
	touch "$SITE_DIR/registered-$C2"
	[ "$(ask "$(req $C2 10.2.3.4/16 dp)")" = 200 ]
	[ "$(jq -r .assigned_site "$SITE_DIR/answer")" = ABC ]
	[ "$(psql_site -c "SELECT site_code FROM client WHERE guid = '$C2'")" = ABC ]
	# the group now assigns another site: the client keeps its own
	"$SITECTL" bg set BG_B --site XYZ
	# once the MP has the change, a new client there goes to XYZ ...
	until_answer "$(req GUID:73737373-7373-4373-8373-737373737373 10.2.3.5/16 dp)" '.assigned_site == "XYZ"'
	# ... and the assigned one stays where it is
	ask "$(req $C2 10.2.3.4/16 dp)" >/dev/null
	[ "$(jq -r .assigned_site "$SITE_DIR/answer")" = ABC ]
	"$SITECTL" bg set BG_B --site ABC
}

@test "content missing on a current DP that distributes on demand is requested and recorded" {
	"$SITECTL" content on-demand PKG9 yes
	until_answer "$(req $C1 10.1.2.3/24 dp ',"site":"ABC","content":"PKG9"')" '[.sources[] | select(.on_demand)] | length > 0'
	[ "$(ask "$(req $C1 10.1.2.3/24 dp ',"site":"ABC","content":"PKG9"')")" = 200 ]
	[ "$(jq '[.sources[] | select(.on_demand)] | length' "$SITE_DIR/answer")" = 2 ]
	[ "$(psql_site -c "SELECT count(*) FROM content_distribution_request WHERE content_id = 'PKG9'")" = 2 ]
}

@test "a malformed request gets a 400 with the reason" {
	[ "$(ask 'not json')" = 400 ]
	[[ "$(jq -r .error "$SITE_DIR/answer")" == "invalid JSON at line 1"* ]]
	[ "$(ask "$(req $C1 10.1.2.300/24 dp)")" = 400 ]
	[[ "$(jq -r .error "$SITE_DIR/answer")" == "addresses[0]: "* ]]
	[ "$(ask "$(req $C1 10.1.2.3/24 printer)")" = 400 ]
	[ "$(jq -r .error "$SITE_DIR/answer")" = 'member "role" is "printer", not one of dp, clouddp, sup, smp, mp, cmg' ]
	[ "$(ask "$(req GUID:nope 10.1.2.3/24 dp)")" = 400 ]
	[[ "$(jq -r .error "$SITE_DIR/answer")" == 'member "client" is not "GUID:" and a UUID'* ]]
	[ "$(ask '{"format":"sitesys.location/9"}')" = 400 ]
	[ "$(as_client $C1 -sS -o /dev/null -w '%{http_code}' "https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/location")" = 405 ]
}
