#!/usr/bin/env bats
# Text from outside on the administrator's terminal (issue 10, finding 2):
# whatever clients and daemons put in the database, sitectl shows with its
# control characters escaped, and its --json keeps exact; what sitectl
# and the MP store is checked before it is kept.

load helpers
bats_require_minimum_version 1.5.0

C1=GUID:51515151-5151-4151-8151-515151515151
C2=GUID:52525252-5252-4252-8252-525252525252
C3=GUID:5353abcd-5353-4353-8353-53535353abcd
# clear the screen, set the window title, an 8-bit CSI (U+009B) and a
# backslash; and what sitectl(8) says it shows for them
H=$'pc\e[2J\e]0;owned\a\xc2\x9b31m\\x'
E='pc\x1b[2J\x1b]0;owned\x07\xc2\x9b31m\\x'

setup_file() {
	site_setup_file || return 1
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add PS1 --name "Primary one" >/dev/null
	"$SITECTL" inbox init >/dev/null
	mp_start
	# as a registration, a state message, an unverified one and a daemon
	# would have put them, before anything checked them
	psql_site -v h="$H" -v c1="$C1" -v c2="$C2" <<'SQL'
INSERT INTO client (guid, name) VALUES (:'c1', :'h');
INSERT INTO client_state VALUES (:'c1', 500, :'h', 2, 0, now(), 1);
INSERT INTO statemsg_unverified (client, serial, msg_time, topic_type,
    topic_id, topic_id_type, state_id, criticality, details, params, file)
    VALUES (:'c2', 1, now(), 500, :'h', 0, 2, 0, :'h', ARRAY[:'h'], 'f.json');
INSERT INTO component VALUES ('sitesys-fsp', :'h', 1, 'running', :'h',
    now(), now());
INSERT INTO site (code, name) VALUES ('HST', :'h');
INSERT INTO boundary_group (name, description, site_code)
    VALUES (:'h' || 'g', :'h', 'PS1');
INSERT INTO boundary (name, type, match_text)
    VALUES (:'h' || 'b', 'adsite', :'h');
INSERT INTO boundary_group_member
    SELECT g.id, b.id FROM boundary_group g, boundary b
    WHERE g.name = :'h' || 'g' AND b.name = :'h' || 'b';
INSERT INTO peer_cache_source (client, address) VALUES (:'h', '10.9.9.9/24');
SQL
}
teardown_file() {
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}
teardown() { site_teardown; }

# raw TEXT: TEXT holds a control byte (C0 but newline, DEL) or a C1
# control in UTF-8
raw() {
	[ -n "$(printf '%s' "$1" | LC_ALL=C tr -d '\n -~\200-\377')" ] ||
		printf '%s' "$1" | LC_ALL=C grep -q $'\xc2[\x80-\x9f]'
}

# shows_escaped ARGS...: sitectl ARGS prints the hostile text escaped, and
# nothing raw on stdout or stderr; it exits STATUS (0)
shows_escaped() {
	run --separate-stderr "$SITECTL" "$@"
	if [ "$status" -ne "${STATUS:-0}" ] || raw "$output" || raw "$stderr" ||
		[[ "$output" != *"$E"* ]]; then
		echo "sitectl $*: status $status" >&2
		printf '%s\n' "$output" "$stderr" | od -c | head -40 >&2
		return 1
	fi
}

# json_keeps FILTER ARGS...: sitectl ARGS --json is pure ASCII and jq
# FILTER reads the hostile text back exactly
json_keeps() {
	local filter=$1 got
	shift
	run --separate-stderr "$SITECTL" "$@" --json
	[ "$status" -eq 0 ] || return 1
	if LC_ALL=C grep -q $'[^\t\n -~]' <<<"$output"; then
		echo "sitectl $* --json is not ASCII" >&2
		return 1
	fi
	got=$(jq -r "$filter" <<<"$output")
	[ "$got" = "$H" ] || { echo "jq $filter: $got" | od -c >&2; return 1; }
}

@test "client list and client show print a hostile name escaped; --json keeps it" {
	shows_escaped client list
	shows_escaped client show $C1
	json_keeps ".[] | select(.client == \"$C1\") | .name" client list
	json_keeps '.registration[0].name' client show $C1
	json_keeps '.states[0].topic_id' client show $C1
}

@test "report state and report unverified print hostile topic ids and details escaped" {
	shows_escaped report state --topic-type 500
	json_keeps '.[0].topic_id' report state --topic-type 500
	shows_escaped report state --topic-type 500 --topic-id "$H"
	shows_escaped report unverified
	json_keeps '.[0].topic_id' report unverified
	json_keeps '.[0].details' report unverified
	json_keeps '.[0].params[0]' report unverified
}

@test "status prints a daemon's hostile host and detail escaped" {
	shows_escaped status
	json_keeps '.components[] | select(.name == "sitesys-fsp") | .detail' status
}

@test "site, bg, boundary and peer listings print hostile names escaped" {
	shows_escaped site list
	json_keeps '.[] | select(.code == "HST") | .name' site list
	shows_escaped bg list
	shows_escaped bg show "${H}g"
	json_keeps '.description' bg show "${H}g"
	shows_escaped boundary list
	shows_escaped boundary show "${H}b"
	json_keeps '.[] | select(.type == "adsite") | .value' boundary list
	shows_escaped peer list
	json_keeps '.[0].client' peer list
	STATUS=1 shows_escaped boundary check # the peer holds no content
}

@test "location --explain prints hostile group and boundary names escaped" {
	shows_escaped location mp --ad-site "$H" --explain
}

@test "an error that echoes a hostile name escapes it" {
	run --separate-stderr "$SITECTL" bg show "${H}x"
	[ "$status" -eq 1 ]
	! raw "$stderr" || false
	[[ "$stderr" == *"no boundary group \"${E}x\""* ]]
}

# refused MESSAGE ARGS...: sitectl ARGS exits 2 and says MESSAGE
refused() {
	local msg=$1
	shift
	run --separate-stderr "$SITECTL" "$@"
	if [ "$status" -ne 2 ] || [[ "$stderr" != *"$msg"* ]] || raw "$stderr"; then
		echo "sitectl $*: status $status, stderr: $stderr" >&2
		return 1
	fi
}

@test "site, bg, boundary and peer refuse control characters, blank names and a client that is not a GUID" {
	before=$(psql_site -c "SELECT (SELECT count(*) FROM site), (SELECT count(*) FROM boundary_group), (SELECT count(*) FROM boundary), (SELECT count(*) FROM peer_cache_source)")
	refused 'a site name may not hold control characters' site add ESC --name $'x\e[2J'
	refused 'a site name may not hold control characters' site add C1C --name $'x\xc2\x9b'
	refused 'a site name may not be only blanks' site add BLK --name '   '
	refused 'a site name is not valid UTF-8' site add UTF --name $'x\xff'
	refused 'a boundary group name may not be only blanks' bg add '   '
	refused 'a boundary group name may not hold control characters' bg add $'a\tb'
	refused 'a boundary group name may not hold control characters' bg set "${H}g" --name $'a\e]0;t\a'
	refused 'a description may not hold control characters' bg add ok --description $'x\e[2J'
	refused 'a boundary name may not be only blanks' boundary add ' ' --type subnet --value 10.1.0.0/16
	refused 'a boundary name may not hold control characters' boundary add $'b\e[2J' --type subnet --value 10.1.0.0/16
	refused 'an AD site name may not hold control characters' boundary add ad --type adsite --value $'x\e[2J'
	refused '"laptop7" is not a client id' peer add laptop7 --address 10.1.2.3/24
	refused 'is not a client id' peer set $'\e[2J' --address 10.1.2.3/24
	refused 'a content ID' peer add-content $C3 $'x\e[2J'
	[ "$(psql_site -c "SELECT (SELECT count(*) FROM site), (SELECT count(*) FROM boundary_group), (SELECT count(*) FROM boundary), (SELECT count(*) FROM peer_cache_source)")" = "$before" ]
	# a GUID is kept in lower case, whatever case it came in
	run "$SITECTL" peer add "${C3^^}" --address 10.1.2.3/24
	[ "$status" -eq 0 ]
	[ "$(psql_site -c "SELECT client FROM peer_cache_source WHERE address = '10.1.2.3/24'")" = "$C3" ]
	"$SITECTL" peer remove "$C3" >/dev/null
}

@test "the MP refuses a registration name with control characters, and keeps the old one" {
	run register_client $C2 pc-002
	[[ "$output" == "200 "* ]]
	run register_client $C2 $'pc\\u001b[2J'
	[[ "$output" == '400 {"error":"member \"name\" may not hold control characters'* ]]
	run register_client $C2 $'pc\\u009b2J'
	[[ "$output" == '400 {"error":"member \"name\" may not hold control characters'* ]]
	run register_client $C2 '   '
	[[ "$output" == '400 {"error":"member \"name\" may not be only blanks'* ]]
	[ "$(psql_site -c "SELECT name FROM client WHERE guid = '$C2'")" = pc-002 ]
}
