#!/usr/bin/env bats
# sitesys-mp behind the real nginx: state messages, registration, policy.

load helpers

C1=GUID:44444444-4444-4444-8444-444444444444

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add MPS --name "MP test" >/dev/null
	"$SITECTL" inbox init >/dev/null
	mp_start
}
teardown_file() {
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}
teardown() { site_teardown; }

url() { echo "http://127.0.0.1:$SITE_HTTP_PORT/mp/v1/$1"; }

# post PATH BODY: prints "STATUS BODY"
post() {
	curl -sS -o "$SITE_DIR/answer" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$2" "$(url "$1")"
	printf ' %s' "$(cat "$SITE_DIR/answer")"
}

batch() {
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":%s,"time":"2026-11-22T10:00:00Z","topic":{"type":500,"id":"KB1"},"state":{"id":2}}]}' "$1" "$2"
}

@test "register records the client; a bad registration is refused with the reason" {
	run post register "{\"format\":\"sitesys.register/1\",\"client\":\"$C1\",\"name\":\"pc-001\",\"addresses\":[\"192.0.2.5/24\",\"2001:db8::5/64\"]}"
	[ "$output" = "200 {\"format\":\"sitesys.registered/1\",\"client\":\"$C1\"}" ]
	[ "$(psql_site -c "SELECT name, array_to_string(addresses, ' ') FROM client WHERE guid = '$C1'")" = "pc-001|192.0.2.5/24 2001:db8::5/64" ]
	run post register "{\"format\":\"sitesys.register/1\",\"client\":\"$C1\",\"name\":\"pc-001\",\"addresses\":[\"192.0.2.500/24\"]}"
	[[ "$output" == '400 {"error":"\"192.0.2.500/24\" is not an address with its prefix length'* ]]
	run post register "{\"format\":\"sitesys.register/1\",\"client\":\"GUID:x\",\"name\":\"a\"}"
	[[ "$output" == '400 {"error":"member \"client\" is not \"GUID:\" and a UUID'* ]]
	run post register 'not json'
	[[ "$output" == '400 {"error":"invalid JSON at line 1'* ]]
}

@test "policy answers a registered client, 404 for an unknown one, 400 for a bad query" {
	run curl -sS -w ' %{http_code}' "$(url "policy?client=$C1")"
	[ "$(echo "${output% *}" | jq -r .format)" = sitesys.policy/1 ]
	[ "$(echo "${output% *}" | jq -r .statemsg_send_minutes)" = 15 ]
	[ "$(echo "${output% *}" | jq -r .policy_poll_minutes)" = 60 ]
	[ "$(echo "${output% *}" | jq -r .resync)" = null ]
	[ "${output##* }" = 200 ]
	run curl -sS -w ' %{http_code}' "$(url 'policy?client=GUID:55555555-5555-4555-8555-555555555555')"
	[ "${output##* }" = 404 ]
	[[ "$output" == *"is not registered"* ]]
	run curl -sS -w ' %{http_code}' "$(url 'policy?client=nobody')"
	[ "${output##* }" = 400 ]
}

@test "a pending resync request is in the client's policy until it is completed" {
	psql_site -c "INSERT INTO client_message_stats (client, next_expected_serial, highest_serial, last_resync_issued_time) VALUES ('$C1', 5, 4, '2026-11-22 10:00:00+00')"
	run curl -sS "$(url "policy?client=$C1")"
	[ "$(echo "$output" | jq -r .resync.requested)" = 2026-11-22T10:00:00.000000Z ]
	psql_site -c "UPDATE client_message_stats SET last_resync_client_completed_time = '2026-11-22 10:05:00+00' WHERE client = '$C1'"
	run curl -sS "$(url "policy?client=$C1")"
	[ "$(echo "$output" | jq -r .resync)" = null ]
}

@test "statemsg: 202 only once the batch is in statsys.box, byte for byte" {
	body=$(batch "$C1" 1)
	run post statemsg "$body"
	[ "${output%% *}" = 202 ]
	file=$(echo "${output#* }" | jq -r .file)
	[ "$(echo "${output#* }" | jq -r .accepted)" = 1 ]
	[ "$(cat "$SITE_DIR/inbox/statsys.box/incoming/$file")" = "$body" ]
}

@test "statemsg: malformed, wrongly typed or oversized batches are refused and write nothing" {
	before=$(backlog_of statsys.box)
	run post statemsg '{"format":"sitesys.statemsg/1","client":"'"$C1"'","messages":[{"serial":"one"}]}'
	[[ "$output" == '400 {"error":"messages[0]: member \"serial\" is not an integer"}' ]]
	run post statemsg '{"format":"sitesys.statemsg/1","client":"'"$C1"'","messages":[]}'
	[[ "$output" == '400 {"error":"member \"messages\" is empty"}' ]]
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$SITE_DIR/big"
	run curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$SITE_DIR/big" "$(url statemsg)"
	[ "$output" = 413 ]
	[ "$(backlog_of statsys.box)" = "$before" ]
}

# acked_intact: statsys.box holds exactly the files acknowledged so far
# (listed with their sums in acked.sum), unchanged, and nothing in tmp/
acked_intact() {
	local box=$SITE_DIR/inbox/statsys.box
	[ -z "$(ls "$box/tmp")" ] || { echo "tmp/: $(ls "$box/tmp")"; return 1; }
	[ "$(ls "$box/incoming")" = "$(awk '{print $2}' "$SITE_DIR/acked.sum" | sort)" ] ||
		{ echo "incoming/: $(ls "$box/incoming")"; return 1; }
	(cd "$box/incoming" && sha256sum --quiet -c "$SITE_DIR/acked.sum")
}

@test "statemsg: a write, flush or rename that fails is a 503; nothing half-written, nothing acknowledged lost" {
	local spec serial=100 file body incoming=$SITE_DIR/inbox/statsys.box/incoming
	: >"$SITE_DIR/acked.sum"
	[ -z "$(ls "$incoming")" ] || (cd "$incoming" && sha256sum -- *) >"$SITE_DIR/acked.sum"
	for spec in write:1:ENOSPC fdatasync:1:EIO rename:1:EIO fsync:1:EIO; do
		stop_pid "$SITE_DIR/mp.pid"
		SITESYS_FAIL_AT=$spec mp_run
		run post statemsg "$(batch "$C1" $((serial += 1)))"
		[[ "$output" == '503 {"error":"could not store the batch: '* ]] || { echo "$spec: $output"; false; }
		grep -q "failing ${spec%%:*} with ${spec##*:}" "$SITE_DIR/mp.log"
		acked_intact
		# the disk works again: the next batch is served
		body=$(batch "$C1" $((serial += 1)))
		run post statemsg "$body"
		[ "${output%% *}" = 202 ] || { echo "$spec, then: $output"; false; }
		file=$(echo "${output#* }" | jq -r .file)
		[ "$(cat "$incoming/$file")" = "$body" ]
		(cd "$incoming" && sha256sum "$file") >>"$SITE_DIR/acked.sum"
		acked_intact
	done
	stop_pid "$SITE_DIR/mp.pid"
	mp_run
}

@test "wrong method 405 with Allow, unknown endpoint 404" {
	run curl -sS -i "$(url statemsg)"
	[[ "$output" == *"405"* ]]
	[[ "$output" == *"Allow: POST"* ]]
	run curl -sS -o /dev/null -w '%{http_code}' "$(url nothing)"
	[ "$output" = 404 ]
}

@test "the MP reports to sitectl status" {
	wait_for 10 bash -c "'$SITECTL' status | grep -q 'sitesys-mp .* running'"
}
