#!/usr/bin/env bats
# Anonymous transport, authenticated content: batches posted to the real
# sitesys-fsp behind nginx, forwarded into statsys.box and loaded by the
# real sitesys-statesys, which checks each one against the certificate
# its client registered. Signed by the client's key, a batch counts like
# one from a management point; a registered client's batch that is not is
# refused as forged; an unregistered client's is kept as unverified, for
# the FSP's topic types only, and touches nothing else.
#
# Identities are made with the openssl CLI (client_identity) and
# registered by hand (the client table's fingerprint and certificate, as
# a management point binds them); batches are signed with
# tests/helpers/sign-batch, through the library the agent signs with.

load helpers

FSP=$BUILD/sitesys-fsp
STATESYS=$BUILD/sitesys-statesys
SIGN=$BUILD/tests/sign-batch
C1=GUID:aaaaaaaa-1111-4111-8111-111111111111 # registered
C1UP=GUID:AAAAAAAA-1111-4111-8111-111111111111 # the same, spelled otherwise
C2=GUID:22222222-2222-4222-8222-222222222222 # registered
C3=GUID:33333333-3333-4333-8333-333333333333 # never registered
C4=GUID:44444444-4444-4444-8444-444444444444 # known, identity reset
C5=GUID:55555555-5555-4555-8555-555555555555 # registered, a thief

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" inbox init >/dev/null
	sed -i 's/^\[inbox\]$/[inbox]\nrescan_seconds = 1/' "$SITESYS_CONF"
	printf '[statesys]\nresync_min_age_minutes = 60\n' >>"$SITESYS_CONF"
	printf '[fsp]\nfastcgi_socket = %s\nthreads = 4\nthrottle_messages = 100000\nthrottle_seconds = 3600\n' \
		"$SITE_DIR/fsp.sock" >>"$SITESYS_CONF"
	site_nginx_fcgi "$SITE_DIR" /fsp/v1/ "$SITE_DIR/fsp.sock"
}
teardown_file() { site_teardown_file; }
setup() {
	q "TRUNCATE statemsg_history, client_state, client_message_stats, client_missing_range, statemsg_unverified, inbox_ledger"
	q "DELETE FROM client"
	register "$C1"
	register "$C2"
	register "$C5"
	q "INSERT INTO client (guid, name) VALUES ('$C4', 'reimaged')"
}
teardown() {
	[ -z "${SS_PID:-}" ] || { kill -TERM "$SS_PID" 2>/dev/null; wait "$SS_PID" 2>/dev/null; } || true
	[ -z "${FSP_PID:-}" ] || { kill -TERM "$FSP_PID" 2>/dev/null; wait "$FSP_PID" 2>/dev/null; } || true
	site_teardown
}

q() { psql_site -c "$1"; }

# id_of GUID: the path of GUID's identity, without .key or .crt
# (client_identity's); GUID.old for the one before reimage
id_of() { echo "$SITE_DIR/clients/${1#GUID:}"; }

# fingerprint GUID: the SHA-256 of GUID's certificate, lower-case hex
fingerprint() {
	openssl x509 -noout -fingerprint -sha256 -in "$(id_of "$1").crt" |
		sed 's/.*=//; s/://g' | tr A-F a-f
}

# register GUID: make GUID's identity unless it has one, and bind GUID to
# its certificate, as a management point does when the client registers
register() {
	client_identity "$1"
	psql_site -v guid="$1" -v fp="$(fingerprint "$1")" \
		-v cert="$(cat "$(id_of "$1").crt")" <<-'SQL'
		INSERT INTO client (guid, name, fingerprint, certificate, bound_at, approved)
		VALUES (:'guid', 'pc', :'fp', :'cert', now(), true)
		ON CONFLICT (guid) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
		    certificate = EXCLUDED.certificate, bound_at = now()
	SQL
}

# reimage GUID: GUID makes a new identity, its old one kept as GUID.old
reimage() {
	local f
	f=$(id_of "$1")
	mv "$f.key" "$f.old.key"
	mv "$f.crt" "$f.old.crt"
	client_identity "$1"
}

# msg SERIAL TOPIC_TYPE TOPIC_ID STATE [TIME]
msg() {
	printf '{"serial":%s,"time":"%s","topic":{"type":%s,"id":"%s"},"state":{"id":%s},"details":"d%s"}' \
		"$1" "${5:-2026-11-22T10:00:00Z}" "$2" "$3" "$4" "$1"
}

# batch CLIENT MSG...: a batch, unsigned
batch() {
	local client=$1 sep="" m
	shift
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[' "$client"
	for m in "$@"; do
		printf '%s%s' "$sep" "$m"
		sep=,
	done
	printf ']}'
}

# signed GUID BATCH: BATCH signed with GUID's key (GUID.old: the one
# before reimage)
signed() { "$SIGN" "$(id_of "$1").key" <<<"$2"; }

url() { echo "http://127.0.0.1:$SITE_HTTP_PORT/fsp/v1/statemsg"; }
fsp_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$(url)")" = 405 ]; }
start_fsp() {
	"$FSP" -f 2>>"$SITE_DIR/fsp.log" &
	FSP_PID=$!
	wait_for 10 fsp_ready
}
start_statesys() {
	"$STATESYS" -f 2>>"$SITE_DIR/statesys.log" &
	SS_PID=$!
}
stop_statesys() {
	kill -TERM "$SS_PID"
	wait "$SS_PID"
	SS_PID=
}
# start: the FSP and statesys, with a fresh statesys log
start() {
	: >"$SITE_DIR/statesys.log"
	start_fsp
	start_statesys
}

# post BATCH: through the FSP, which must answer 202
post() {
	local code
	code=$(curl -sS -o "$SITE_DIR/answer" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$1" "$(url)")
	[ "$code" = 202 ] || { echo "FSP answered $code: $(cat "$SITE_DIR/answer")"; return 1; }
}

# mp BATCH: as a management point hands it on: into statsys.box, no "via"
mp() {
	printf '%s' "$1" >"$SITE_DIR/mp.smx"
	"$SITECTL" inbox put statsys.box "$SITE_DIR/mp.smx" >/dev/null
}

# loaded: all that was posted has been forwarded and loaded
loaded() {
	[ -z "$(ls -A "$SITE_DIR/inbox/fsp.box/incoming")" ] &&
		[ "$(backlog_of statsys.box)" = 0 ]
}
settle() { wait_for 20 loaded; }

# applied CLIENT: the count of CLIENT's rows in what statesys applies
applied() {
	q "SELECT (SELECT count(*) FROM statemsg_history WHERE client = '$1') ||
		'/' || (SELECT count(*) FROM client_state WHERE client = '$1') ||
		'/' || (SELECT count(*) FROM client_message_stats WHERE client = '$1') ||
		'/' || (SELECT count(*) FROM client_missing_range WHERE client = '$1')"
}

# detail: statesys's status line, once it has reported what it did
detail() {
	"$SITECTL" status --json |
		jq -r '.components[] | select(.name == "sitesys-statesys") | .detail'
}

@test "a batch signed by its client's key counts through the FSP like one from an MP" {
	start
	post "$(signed "$C1" "$(batch "$C1UP" "$(msg 1 800 client-deployment 400)" \
		"$(msg 2 500 KB1 2)" "$(msg 4 1000 mp1 1)")")"
	settle
	stop_statesys
	[ "$(applied "$C1")" = 3/3/1/1 ]
	[ "$(q "SELECT next_expected_serial, messages FROM client_message_stats WHERE client = '$C1'")" = "5|3" ]
	[ "$(q "SELECT first_serial, last_serial FROM client_missing_range WHERE client = '$C1'")" = "3|3" ]
	[ "$(q "SELECT state_id FROM client_state WHERE client = '$C1' AND topic_id = 'KB1'")" = 2 ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C1'")" = 0 ]
	[ "$(q "SELECT count(*) FROM statemsg_unverified")" = 0 ]
	[[ "$(detail)" == *"via FSP: 1 signed batches, 0 forged, 0 blocked, 0 unverified messages, 0 dropped"* ]]
	# the file came through the FSP, marked so
	grep -q "forwarded .* into statsys.box" "$SITE_DIR/fsp.log"
}

@test "a registered client's batch unsigned, signed by another key or changed is refused as forged and counted" {
	start
	post "$(batch "$C1" "$(msg 1 800 client-deployment 400)")"
	post "$(signed "$C5" "$(batch "$C1" "$(msg 2 500 KB1 2)")")"
	# signed by C1, then a state changed on the way
	post "$(signed "$C1" "$(batch "$C1" "$(msg 3 500 KB1 3)")" | sed 's/"id":3}/"id":1}/')"
	# signed by C1, but with a number whose printing no signature fixes
	post "$(signed "$C1" "$(batch "$C1" "$(msg 4 500 KB1 3 | sed 's/}$/,"x":1.5}/')")")"
	settle
	stop_statesys
	[ "$(applied "$C1")" = 0/0/0/0 ]
	[ "$(q "SELECT forged_batches, last_forged > now() - interval '1 minute' FROM client WHERE guid = '$C1'")" = "4|t" ]
	[ "$(q "SELECT count(*) FROM statemsg_unverified")" = 0 ]
	grep -q "warning: refused a forged batch of $C1 in .* through a fallback status point (messages: 1): it is not signed" "$SITE_DIR/statesys.log"
	[ "$(grep -c "warning: refused a forged batch of $C1 .*: the signature does not match the certificate's key" "$SITE_DIR/statesys.log")" = 2 ]
	grep -q "warning: refused a forged batch of $C1 .*: it holds a number with a fraction or an exponent, which no signature covers" "$SITE_DIR/statesys.log"
	[[ "$(detail)" == *"via FSP: 0 signed batches, 4 forged,"* ]]
	run "$SITECTL" report forged --json
	[ "$(echo "$output" | jq -r ".[] | select(.client == \"$C1\") | .forged_batches")" = 4 ]
	run "$SITECTL" report forged
	[[ "$output" =~ $C1\ +4\ +20[0-9-]+T ]]
	[ "$("$SITECTL" client show "$C1" --json | jq '.registration[0].forged_batches')" = 4 ]
}

@test "a forged resync-complete through the FSP closes no gap, and a forged serial asks nobody to resynchronize" {
	# C1 has a gap, 4 to 6, and was asked to resynchronize; C2 has none
	mp "$(batch "$C1" "$(msg 1 500 KB1 1)" "$(msg 2 500 KB2 1)" "$(msg 3 500 KB3 1)" "$(msg 7 500 KB7 1)")"
	mp "$(batch "$C2" "$(msg 1 500 KB1 1)" "$(msg 2 500 KB2 1)")"
	start
	settle
	q "UPDATE client_message_stats SET last_resync_issued_time = now() WHERE client = '$C1'"
	# someone else's 700/2 in C1's name, then in C2's name a serial far ahead
	post "$(signed "$C5" "$(batch "$C1" "$(msg 8 700 resync 2)")")"
	post "$(batch "$C1" "$(msg 8 700 resync 2)")"
	post "$(batch "$C2" "$(msg 50 500 KB1 2)")"
	settle
	stop_statesys
	[ "$(q "SELECT first_serial || '-' || last_serial FROM client_missing_range WHERE client = '$C1'")" = 4-6 ]
	[ "$(q "SELECT next_expected_serial, last_resync_client_completed_time IS NULL FROM client_message_stats WHERE client = '$C1'")" = "8|t" ]
	[ "$("$SITECTL" report resync-outstanding --json | jq .issued_never_completed)" = 1 ]
	[ "$(q "SELECT next_expected_serial FROM client_message_stats WHERE client = '$C2'")" = 3 ]
	[ "$(applied "$C2")" = 2/2/1/0 ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C1'")" = 2 ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C2'")" = 1 ]
	# the resync check, when gaps are old: C1 is asked again, C2 is not
	q "UPDATE client_missing_range SET detected = now() - interval '2 hours'"
	q "UPDATE client_message_stats SET last_resync_issued_time = NULL"
	start_statesys
	wait_for 20 grep -q "resync requested from $C1" "$SITE_DIR/statesys.log"
	stop_statesys
	run grep -q "resync requested from $C2" "$SITE_DIR/statesys.log"
	[ "$status" -eq 1 ]
	[ "$(q "SELECT last_resync_issued_time IS NULL FROM client_message_stats WHERE client = '$C2'")" = t ]
	# the real one, signed by C1, does complete it
	start_statesys
	post "$(signed "$C1" "$(batch "$C1" "$(msg 8 500 KB1 1)" "$(msg 9 700 resync 2)")")"
	settle
	stop_statesys
	[ "$(q "SELECT count(*) FROM client_missing_range WHERE client = '$C1'")" = 0 ]
	[ "$(q "SELECT last_resync_client_completed_time >= last_resync_issued_time FROM client_message_stats WHERE client = '$C1'")" = t ]
}

@test "an unregistered client's deployment failure through the FSP is kept as unverified, and nothing else" {
	start
	post "$(batch "$C3" "$(msg 1 800 client-deployment 311 2026-11-22T09:00:00Z)" \
		"$(msg 2 500 KB1 2)" "$(msg 3 1000 mp1 2)" "$(msg 4 700 resync 2)")"
	# signed or not, by whom: it cannot be checked
	post "$(signed "$C5" "$(batch "$C4" "$(msg 9 1300 health 1)")")"
	settle
	stop_statesys
	run "$SITECTL" report unverified --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.[] | "\(.client) \(.serial) \(.topic_type) \(.state_id)"] | join(",")')" = \
		"$C3 1 800 311,$C3 3 1000 2,$C4 9 1300 1" ]
	[ "$(echo "$output" | jq -r '.[0] | "\(.time) \(.topic_id) \(.details) \(.params)"')" = "2026-11-22T09:00:00Z client-deployment d1 null" ]
	f=$(echo "$output" | jq -r '.[0].file')
	# the FSP's spool file, named by the client address it came from
	[[ "$f" =~ ^[0-9]{16}\.[^.]+\.[0-9]+\.[0-9]+\.s47f000001\.smx$ ]]
	grep -q "forwarded .* into statsys.box as $f" "$SITE_DIR/fsp.log"
	run "$SITECTL" report unverified
	[[ "${lines[1]}" =~ ^20[0-9-]+T[0-9:]+Z\ +$C3\ +1\ +800\ +client-deployment\ +311\ +d1$ ]]
	# nowhere in serial tracking, state or history; the resync and 500 dropped
	[ "$(applied "$C3")" = 0/0/0/0 ]
	[ "$(applied "$C4")" = 0/0/0/0 ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C4'")" = 0 ]
	grep -q "info: kept 2 messages of $C3 in $f as unverified: it came through a fallback status point and has not registered a certificate; dropped 2 of other topic types" "$SITE_DIR/statesys.log"
	[[ "$(detail)" == *"via FSP: 0 signed batches, 0 forged, 0 blocked, 3 unverified messages, 2 dropped"* ]]
}

@test "a blocked client's signed batch through the FSP is refused; an unapproved one's is kept as unverified" {
	q "UPDATE client SET blocked = true WHERE guid = '$C1'"
	q "UPDATE client SET approved = false WHERE guid = '$C2'"
	start
	post "$(signed "$C1" "$(batch "$C1" "$(msg 1 500 KB1 2)")")"
	post "$(signed "$C2" "$(batch "$C2" "$(msg 1 800 client-deployment 400)" "$(msg 2 500 KB1 2)")")"
	settle
	stop_statesys
	[ "$(applied "$C1")" = 0/0/0/0 ]
	[ "$(applied "$C2")" = 0/0/0/0 ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C1'")" = 0 ]
	[ "$(q "SELECT client, topic_type FROM statemsg_unverified")" = "$C2|800" ]
	grep -q "warning: refused a batch of $C1 in .* through a fallback status point (messages: 1): the client is blocked" "$SITE_DIR/statesys.log"
	grep -q "as unverified: it came through a fallback status point and waits for the site's approval; dropped 1 of other topic types" "$SITE_DIR/statesys.log"
	[[ "$(detail)" == *"via FSP: 0 signed batches, 0 forged, 1 blocked, 1 unverified messages, 1 dropped"* ]]
}

@test "a batch a management point hands on is not checked: unsigned, it counts" {
	start
	mp "$(batch "$C1" "$(msg 1 500 KB1 1)")"
	mp "{\"format\":\"sitesys.statemsg-set/1\",\"batches\":[$(batch "$C3" "$(msg 1 500 KB1 1)")]}"
	settle
	stop_statesys
	[ "$(applied "$C1")" = 1/1/1/0 ]
	[ "$(applied "$C3")" = 1/1/1/0 ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C1'")" = 0 ]
	[ "$(q "SELECT count(*) FROM statemsg_unverified")" = 0 ]
}

@test "each batch of a set through the FSP is judged on its own" {
	local set
	set=$(printf '{"format":"sitesys.statemsg-set/1","via":"fsp","batches":[%s,%s,%s,%s]}' \
		"$(signed "$C1" "$(batch "$C1" "$(msg 1 500 KB1 1)")")" \
		"$(signed "$C5" "$(batch "$C1" "$(msg 2 500 KB1 9)")")" \
		"$(batch "$C3" "$(msg 1 800 client-deployment 311)")" \
		"$(signed "$C2" "$(batch "$C2" "$(msg 1 500 KB1 1)")")")
	printf '%s' "$set" >"$SITE_DIR/set.smx"
	"$SITECTL" inbox put fsp.box "$SITE_DIR/set.smx" >/dev/null
	start
	settle
	stop_statesys
	[ "$(applied "$C1")" = 1/1/1/0 ]
	[ "$(q "SELECT state_id FROM client_state WHERE client = '$C1'")" = 1 ]
	[ "$(applied "$C2")" = 1/1/1/0 ]
	[ "$(q "SELECT string_agg(guid || '=' || forged_batches, ' ' ORDER BY guid) FROM client WHERE forged_batches > 0")" = "$C1=1" ]
	[ "$(q "SELECT client FROM statemsg_unverified")" = "$C3" ]
}

@test "a client that registers anew is checked against its new certificate, one reset is unverified" {
	start
	post "$(signed "$C1" "$(batch "$C1" "$(msg 1 500 KB1 1)")")"
	settle
	# re-imaged: a new key, registered anew; the old key is now another's
	reimage "$C1"
	register "$C1"
	post "$(signed "$C1.old" "$(batch "$C1" "$(msg 2 500 KB1 2)")")"
	post "$(signed "$C1" "$(batch "$C1" "$(msg 3 500 KB1 3)")")"
	settle
	# the administrator resets its identity: it is no longer registered
	q "UPDATE client SET fingerprint = NULL, certificate = NULL WHERE guid = '$C1'"
	post "$(signed "$C1" "$(batch "$C1" "$(msg 4 800 client-deployment 311)")")"
	settle
	stop_statesys
	[ "$(q "SELECT string_agg(serial::text, ' ' ORDER BY serial) FROM statemsg_history WHERE client = '$C1'")" = "1 3" ]
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C1'")" = 1 ]
	[ "$(q "SELECT serial FROM statemsg_unverified WHERE client = '$C1'")" = 4 ]
}

@test "killed after loading a batch through the FSP, statesys records its checks once" {
	post_all() {
		post "$(batch "$C1" "$(msg 1 500 KB1 1)")"
		post "$(batch "$C3" "$(msg 1 800 client-deployment 311)")"
	}
	start_fsp
	post_all
	wait_for 10 bash -c "[ -z \"\$(ls -A '$SITE_DIR/inbox/fsp.box/incoming')\" ]"
	for point in batch.processed batch.recorded batch.committed; do
		SITESYS_CRASH_AT=$point run timeout 30 "$STATESYS" -f
		[ "$status" -eq 137 ] || { echo "no crash at $point ($status)"; false; }
	done
	start_statesys
	settle
	stop_statesys
	[ "$(q "SELECT forged_batches FROM client WHERE guid = '$C1'")" = 1 ]
	[ "$(q "SELECT count(*) FROM statemsg_unverified WHERE client = '$C3'")" = 1 ]
}
