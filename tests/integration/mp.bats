#!/usr/bin/env bats
# sitesys-mp behind the real nginx, over HTTPS with client certificates:
# state messages, registration and approval, policy, and the attacks that
# used to work with nothing but curl.

load helpers

C1=GUID:44444444-4444-4444-8444-444444444444
C2=GUID:45454545-4545-4545-8545-454545454545
C3=GUID:46464646-4646-4646-8646-464646464646

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" site add MPS --name "MP test" >/dev/null
	"$SITECTL" inbox init >/dev/null
	mp_start
	register_client $C1 pc-001 >/dev/null
}
teardown_file() {
	stop_pid "$SITE_DIR/mp.pid"
	site_teardown_file
}
teardown() { site_teardown; }

url() { echo "https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/$1"; }

# post PATH BODY [GUID]: as GUID (C1), prints "STATUS BODY"
post() {
	as_client "${3:-$C1}" -sS -o "$SITE_DIR/answer" -w '%{http_code}' \
		-X POST -H 'Content-Type: application/json' --data-binary "$2" \
		"$(url "$1")"
	printf ' %s' "$(cat "$SITE_DIR/answer")"
}

# get PATH [GUID]: as GUID (C1), prints "BODY STATUS"
get() { as_client "${2:-$C1}" -sS -w ' %{http_code}' "$(url "$1")"; }

regdoc() {
	printf '{"format":"sitesys.register/1","client":"%s","name":"%s","addresses":["192.0.2.5/24","2001:db8::5/64"]}' "$1" "$2"
}

batch() {
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":%s,"time":"2026-11-22T10:00:00Z","topic":{"type":500,"id":"KB1"},"state":{"id":2}}]}' "$1" "$2"
}

@test "register records the client and binds its certificate; a bad registration is refused with the reason" {
	run post register "$(regdoc $C1 pc-001)"
	[ "$output" = "200 {\"format\":\"sitesys.registered/1\",\"client\":\"$C1\",\"approval\":\"approved\"}" ]
	[ "$(psql_site -c "SELECT name, array_to_string(addresses, ' ') FROM client WHERE guid = '$C1'")" = "pc-001|192.0.2.5/24 2001:db8::5/64" ]
	fp=$(openssl x509 -in "$SITE_DIR/clients/${C1#GUID:}.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
	[ "$(psql_site -c "SELECT fingerprint FROM client WHERE guid = '$C1'")" = "$fp" ]
	run post register '{"format":"sitesys.register/1","client":"'"$C1"'","name":"pc-001","addresses":["192.0.2.500/24"]}'
	[[ "$output" == '400 {"error":"\"192.0.2.500/24\" is not an address with its prefix length'* ]]
	run post register "{\"format\":\"sitesys.register/1\",\"client\":\"GUID:x\",\"name\":\"a\"}"
	[[ "$output" == '400 {"error":"member \"client\" is not \"GUID:\" and a UUID'* ]]
	run post register 'not json'
	[[ "$output" == '400 {"error":"invalid JSON at line 1'* ]]
}

@test "no certificate: 401 with the reason, on every endpoint" {
	for path in register statemsg location; do
		run curl -sS --cacert "$SITE_CA" -o "$SITE_DIR/answer" -w '%{http_code}' -X POST --data-binary "$(regdoc $C1 x)" "$(url $path)"
		[ "$output" = 401 ] || { echo "$path: $output"; false; }
		[ "$(jq -r .code "$SITE_DIR/answer")" = no-certificate ]
		[[ "$(jq -r .error "$SITE_DIR/answer")" == "a client certificate is required: present the certificate the client registered with" ]]
	done
	run curl -sS --cacert "$SITE_CA" -w ' %{http_code}' "$(url "policy?client=$C1")"
	[ "${output##* }" = 401 ]
}

@test "registering in another client's name is refused and changes nothing" {
	# C2's certificate, C1's name: the certificate must name the client
	run post register "$(regdoc $C1 evil)" $C2
	[[ "$output" == '403 {"error":"the certificate names \"'"$C2"'\", not client '"$C1"* ]]
	[[ "$output" == *'"code":"certificate-name"}' ]]
	# a certificate naming C1 that is not C1's: the machine was re-keyed
	local key=$SITE_DIR/clients/${C1#GUID:}
	mkdir -p "$SITE_DIR/old" && mv "$key".* "$SITE_DIR/old/"
	run post register "$(regdoc $C1 evil)"
	[[ "$output" == "409 {\"error\":\"client $C1 is registered with another certificate; if the machine was installed again, the administrator runs \\\"sitectl client reset-identity $C1\\\"\",\"code\":\"identity-mismatch\"}" ]]
	[ "$(psql_site -c "SELECT name, array_to_string(addresses, ' ') FROM client WHERE guid = '$C1'")" = "pc-001|192.0.2.5/24 2001:db8::5/64" ]
	# the administrator resets the identity: the new key is bound
	run "$SITECTL" client reset-identity $C1
	[ "$output" = "client $C1 identity reset: its next registration binds the certificate it presents then" ]
	run post register "$(regdoc $C1 pc-001)"
	[ "${output%% *}" = 200 ]
	# and the old key is now the stranger
	mkdir -p "$SITE_DIR/new" && mv "$key".* "$SITE_DIR/new/" && cp "$SITE_DIR/old/"* "$SITE_DIR/clients/"
	run post register "$(regdoc $C1 pc-001)"
	[ "${output%% *}" = 409 ]
	run post statemsg "$(batch $C1 1)"
	[[ "$output" == *'"code":"unregistered"}' ]]
	cp "$SITE_DIR/new/"* "$SITE_DIR/clients/"
	run post register "$(regdoc $C1 pc-001)"
	[ "${output%% *}" = 200 ]
}

@test "policy answers the sender alone; nobody learns whether another GUID is registered" {
	run get "policy?client=$C1"
	[ "$(echo "${output% *}" | jq -r .format)" = sitesys.policy/1 ]
	[ "$(echo "${output% *}" | jq -r .statemsg_send_minutes)" = 15 ]
	[ "$(echo "${output% *}" | jq -r .policy_poll_minutes)" = 60 ]
	[ "$(echo "${output% *}" | jq -r .resync)" = null ]
	[ "${output##* }" = 200 ]
	# C1 asks for C2 (registered) and for an unknown GUID: the same 403
	register_client $C2 pc-002 >/dev/null
	run get "policy?client=$C2"
	[ "${output##* }" = 403 ]
	[ "$(echo "${output% *}" | jq -r .code)" = not-yours ]
	run get "policy?client=GUID:55555555-5555-4555-8555-555555555555"
	[ "${output##* }" = 403 ]
	[ "$(echo "${output% *}" | jq -r .code)" = not-yours ]
	# an unregistered certificate learns only that it is not registered
	run get "policy?client=$C2" $C3
	[ "${output##* }" = 403 ]
	[ "$(echo "${output% *}" | jq -r .code)" = unregistered ]
	run get "policy?client=GUID:55555555-5555-4555-8555-555555555555" $C3
	[ "$(echo "${output% *}" | jq -r .code)" = unregistered ]
	run get 'policy?client=nobody'
	[ "${output##* }" = 400 ]
}

@test "a location request in another client's name is refused and assigns nothing" {
	run post location "{\"format\":\"sitesys.location/1\",\"client\":\"$C2\",\"addresses\":[\"192.0.2.5/24\"],\"role\":\"mp\"}"
	[ "${output%% *}" = 403 ]
	[ "$(echo "${output#* }" | jq -r .code)" = not-yours ]
	[ "$(psql_site -c "SELECT coalesce(site_code, '-') FROM client WHERE guid = '$C2'")" = - ]
}

@test "manual approval: a new client waits, is approved, is blocked and unblocked" {
	"$SITECTL" setting set client-approval manual >/dev/null
	run post register "$(regdoc $C3 pc-003)" $C3
	[ "$(echo "${output#* }" | jq -r .approval)" = pending ]
	run post statemsg "$(batch $C3 1)" $C3
	echo "$output"
	[[ "$output" == "403 {\"error\":\"client $C3 is waiting for the site's approval\",\"code\":\"pending\"}" ]]
	[ "$(psql_site -c "SELECT count(*) FROM client_message_stats WHERE client = '$C3'")" = 0 ]
	run "$SITECTL" client list --json
	[ "$(echo "$output" | jq -r ".[] | select(.client == \"$C3\") | .approval")" = pending ]
	"$SITECTL" client approve $C3
	wait_for 5 client_status_is 202 statemsg $C3
	"$SITECTL" client block $C3
	run "$SITECTL" client show $C3 --json
	[ "$(echo "$output" | jq -r '.registration[0].approval')" = blocked ]
	wait_for 5 client_status_is 403 statemsg $C3
	run post statemsg "$(batch $C3 9)" $C3
	[[ "$output" == *'"code":"blocked"}' ]]
	run post register "$(regdoc $C3 pc-003)" $C3
	[[ "$output" == *'"code":"blocked"}' ]]
	"$SITECTL" client unblock $C3
	wait_for 5 client_status_is 202 statemsg $C3
	"$SITECTL" setting set client-approval auto >/dev/null
	run "$SITECTL" client approve GUID:99999999-9999-4999-8999-999999999999
	[ "$status" -ne 0 ]
	[[ "$output" == *"no client GUID:99999999-9999-4999-8999-999999999999 is registered with the site"* ]]
}

@test "a pending resync request is in the client's policy until it is completed" {
	psql_site -c "INSERT INTO client_message_stats (client, next_expected_serial, highest_serial, last_resync_issued_time) VALUES ('$C1', 5, 4, '2026-11-22 10:00:00+00')"
	run get "policy?client=$C1"
	[ "$(echo "${output% *}" | jq -r .resync.requested)" = 2026-11-22T10:00:00.000000Z ]
	psql_site -c "UPDATE client_message_stats SET last_resync_client_completed_time = '2026-11-22 10:05:00+00' WHERE client = '$C1'"
	run get "policy?client=$C1"
	[ "$(echo "${output% *}" | jq -r .resync)" = null ]
}

@test "statemsg: a batch naming another client is refused whole and writes nothing" {
	before=$(backlog_of statsys.box)
	# C1 posts C2's next serials: C2's genuine messages must not vanish
	run post statemsg "$(batch $C2 1)"
	[[ "$output" == "403 {\"error\":\"the batch is client $C2's; this certificate is client $C1's: nothing was written\",\"code\":\"not-yours\"}" ]]
	[ "$(backlog_of statsys.box)" = "$before" ]
	# an unregistered certificate writes nothing either
	run post statemsg "$(batch GUID:47474747-4747-4747-8747-474747474747 1)" GUID:47474747-4747-4747-8747-474747474747
	[ "${output%% *}" = 403 ]
	[ "$(backlog_of statsys.box)" = "$before" ]
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
	run as_client $C1 -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$SITE_DIR/big" "$(url statemsg)"
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
	run as_client $C1 -sS -i "$(url statemsg)"
	[[ "$output" == *"405"* ]]
	[[ "$output" == *"Allow: POST"* ]]
	run as_client $C1 -sS -o /dev/null -w '%{http_code}' "$(url nothing)"
	[ "$output" = 404 ]
}

@test "no inbox takes an anonymous PUT, over HTTPS or HTTP" {
	run curl -sS --cacert "$SITE_CA" -o /dev/null -w '%{http_code}' -X PUT --data-binary x "https://127.0.0.1:$SITE_HTTPS_PORT/inbox/statsys.box/x.smx"
	[ "$output" = 404 ]
	run curl -sS -o /dev/null -w '%{http_code}' -X PUT --data-binary x "http://127.0.0.1:$SITE_HTTP_PORT/inbox/statsys.box/x.smx"
	[ "$output" = 404 ]
	[ ! -e "$SITE_DIR/inbox/statsys.box/incoming/x.smx" ]
}

@test "the FastCGI socket is nginx's alone: another local user cannot speak FastCGI to the MP" {
	[ "$(id -u)" = 0 ] || skip "needs root to act as another user"
	[ "$(stat -c '%a %U %G' "$SITE_DIR/mp.sock")" = "660 sitesys sitesys" ]
	# nobody cannot connect (curl: 7); nginx's user can (the MP then
	# hangs up on what is not FastCGI: curl 52 or 56)
	run runuser -u nobody -- curl -sS --unix-socket "$SITE_DIR/mp.sock" http://mp/mp/v1/statemsg
	[ "$status" -eq 7 ]
	run runuser -u sitesys -- curl -sS -m 5 --unix-socket "$SITE_DIR/mp.sock" http://mp/mp/v1/statemsg
	[ "$status" -ne 7 ]
}

@test "the packaged nginx snippet serves the MP over HTTPS and hands it the client's certificate" {
	local port dir=$SITE_DIR/snippet url pid
	port=$(site_free_port)
	mkdir -p "$dir/tmp"
	sed -e "s/listen 443 ssl;/listen 127.0.0.1:$port ssl;/" -e '/listen \[::\]:443 ssl;/d' \
		-e "s|/etc/sitesys/tls/mp.crt|$SITE_DIR/ca/issued/127.0.0.1.crt|" \
		-e "s|/etc/sitesys/tls/mp.key|$SITE_DIR/ca/issued/127.0.0.1.key|" \
		-e "s|unix:/run/sitesys/mp.sock|unix:$SITE_DIR/mp.sock|" \
		-e 's|include fastcgi_params;|include /etc/nginx/fastcgi_params;|' \
		"$TOP/packaging/nginx/sitesys-mp.conf" >"$dir/mp.conf"
	{
		echo "daemon off; pid $dir/nginx.pid; error_log $dir/error.log;"
		[ "$(id -u)" != 0 ] || echo "user sitesys;"
		echo "events {}"
		echo "http { access_log off; client_body_temp_path $dir/tmp;"
		echo "  include $dir/mp.conf; }"
	} >"$dir/nginx.conf"
	nginx -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >/dev/null 2>&1 &
	pid=$!
	url=https://127.0.0.1:$port/mp/v1
	wait_for 10 bash -c "[ \"\$(curl -s --cacert '$SITE_CA' -o /dev/null -w '%{http_code}' $url/statemsg)\" = 405 ]"
	run as_client $C1 -sS -o /dev/null -w '%{http_code}' --data-binary "$(batch $C1 500)" "$url/statemsg"
	[ "$output" = 202 ]
	run curl -sS --cacert "$SITE_CA" -o /dev/null -w '%{http_code}' --data-binary "$(batch $C1 501)" "$url/statemsg"
	[ "$output" = 401 ]
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$dir/big.json"
	run as_client $C1 -sS -w ' %{http_code}' --data-binary @"$dir/big.json" "$url/statemsg"
	[ "$output" = '{"error":"request body is larger than the limit of 1048576 bytes"}
 413' ]
	run curl -sS --cacert "$SITE_CA" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/elsewhere"
	[ "$output" = 404 ]
	kill -QUIT "$pid"
	wait "$pid" || true
}

@test "the MP reports to sitectl status" {
	wait_for 10 bash -c "'$SITECTL' status | grep -q 'sitesys-mp .* running'"
}
