#!/usr/bin/env bats
# The HTTP fallback of client notification: a client whose TCP port 10123
# is blocked long-polls POST /notify/v1/poll over HTTPS through nginx,
# which passes its certificate to sitesys-notifyd on a unix socket. curl
# plays the client; tasks are released by psql as notifymgr would. Polls
# held and answered by a release, receipts and results in .bts files,
# presence "via http" in .bos files, and every refusal with its reason.
# All traffic stays on 127.0.0.1.

load helpers

NOTIFYD=$BUILD/sitesys-notifyd
C1=GUID:00000000-0000-4000-8000-00000000a001
C2=GUID:00000000-0000-4000-8000-00000000a002
C3=GUID:00000000-0000-4000-8000-00000000a003

setup_file() {
	site_setup_file
	chmod 755 "$SITE_DIR" # the daemons run as [site] user when root
	"$SITECTL" db init >/dev/null
	"$SITECTL" inbox init >/dev/null
	local c
	for c in $C1 $C2; do register_direct $c; done
	client_identity $C3 # never registered
	NPORT=$(site_free_port)
	export NPORT
	cat >>"$SITESYS_CONF" <<-CONF
		[notifyd]
		listen = 127.0.0.1:$NPORT
		cert = $SITE_DIR/ca/issued/127.0.0.1.crt
		key = $SITE_DIR/ca/issued/127.0.0.1.key
		server_name = mp1.test
		http_socket = $SITE_DIR/notifyd-http.sock
		poll_seconds = 2
		grace_seconds = 3
		status_seconds = 1
		[log]
		level = debug
	CONF
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
	"$NOTIFYD" -f 2>>"$SITE_DIR/notifyd.log" &
	echo $! >"$SITE_DIR/notifyd.pid"
	wait_for 20 grep -q "serving the HTTP fallback" "$SITE_DIR/notifyd.log"
	wait_for 20 accepted
	site_nginx_poll "$SITE_DIR" "$SITE_DIR/notifyd-http.sock"
}

teardown_file() {
	stop_pid "$SITE_DIR/notifyd.pid"
	site_teardown_file
}

setup() {
	psql_site -c "TRUNCATE notify_task, notify_push CASCADE"
	rm -f "$SITE_DIR"/inbox/bgb.box/incoming/*
}
teardown() {
	[ -z "${POLL_PID:-}" ] || kill "$POLL_PID" 2>/dev/null || true
	site_teardown
}

accepted() { grep -q "accepting 2 client certificates\|2 clients accepted\|accept" "$SITE_DIR/notifyd.log"; }

# poll GUID [FRAMES] [NAME]: one poll as GUID, in its own name (or NAME's);
# the status, then the answer, in SITE_DIR/poll.out
poll() {
	as_client "$1" -sS -o "$SITE_DIR/poll.out" -w '%{http_code}' -X POST \
		--max-time 20 --data-binary \
		"{\"format\":\"sitesys.notify-poll/1\",\"client\":\"${3:-$1}\",\"frames\":[${2:-}]}" \
		"https://127.0.0.1:$SITE_HTTPS_PORT/notify/v1/poll"
}

# release GUID ACTION: a task for GUID, released as notifymgr would
release() {
	local task
	task=$(psql_site -c "WITH t AS (INSERT INTO notify_task (action, valid_until, state)
		VALUES ('$2', now() + interval '1 hour', 'pushing') RETURNING id)
		INSERT INTO notify_push (task, guid) SELECT id, '$1' FROM t RETURNING task")
	psql_site -c "UPDATE notify_push SET release_seq = nextval('notify_release_seq'),
		released_at = now() WHERE task = $task" >/dev/null
	echo "$task"
}

bts_has() { cat "$SITE_DIR"/inbox/bgb.box/incoming/*.bts 2>/dev/null | jq_true "$1" >/dev/null 2>&1; }
bos_has() { cat "$SITE_DIR"/inbox/bgb.box/incoming/*.bos 2>/dev/null | jq_true "$1" >/dev/null 2>&1; }

@test "a held poll is answered at once by a task released for its client" {
	poll $C1 >/dev/null # the first poll: nothing waits, answered after 2 s
	[ "$(jq -r '.format + " " + .server + " " + (.frames | length | tostring)' "$SITE_DIR/poll.out")" = "sitesys.notify-poll/1 mp1.test 0" ]
	local start task
	start=$(date +%s%N)
	poll $C1 >"$SITE_DIR/status" &
	POLL_PID=$!
	wait_for 10 bash -c "[ \$(grep -c 'holding the poll of $C1' '$SITE_DIR/notifyd.log') -ge 2 ]"
	task=$(release $C1 quick-scan)
	wait "$POLL_PID"
	POLL_PID=
	[ "$(cat "$SITE_DIR/status")" = 200 ]
	# answered on the release, well before poll_seconds ran out
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1900 ]
	[ "$(jq -r ".frames[0] | .type + \" \" + (.task | tostring) + \" \" + .action" "$SITE_DIR/poll.out")" = "task $task quick-scan" ]
	wait_for 10 bts_has ".events[] | select(.task == $task and .event == \"pushed\" and .client == \"$C1\")"
	# the receipt and the result come with the next poll
	run poll $C1 "{\"type\":\"received\",\"task\":$task},{\"type\":\"result\",\"task\":$task,\"status\":\"succeeded\",\"exit\":0,\"output\":\"clean\"}"
	[ "$output" = 200 ]
	wait_for 10 bts_has ".events[] | select(.task == $task and .event == \"received\")"
	wait_for 10 bts_has ".events[] | select(.task == $task and .event == \"result\" and .status == \"succeeded\" and .output == \"clean\")"
	# received: not pushed again
	run poll $C1
	[ "$(jq '.frames | length' "$SITE_DIR/poll.out")" = 0 ]
}

@test "a task released while no poll is held waits for the next poll" {
	local task
	task=$(release $C2 policy)
	run poll $C2
	[ "$output" = 200 ]
	[ "$(jq -r '.frames[0].action' "$SITE_DIR/poll.out")" = policy ]
	# not acknowledged: pushed again at the next poll
	run poll $C2
	[ "$(jq -r '.frames[0].task' "$SITE_DIR/poll.out")" = "$task" ]
}

@test "a client polling counts online via http in the presence files" {
	poll $C1 >/dev/null
	kill -USR1 "$(cat "$SITE_DIR/notifyd.pid")"
	wait_for 10 bos_has ".online[] | select(.client == \"$C1\" and .via == \"http\")"
}

@test "polls without a valid certificate, in another's name or malformed are refused with the reason" {
	local url=https://127.0.0.1:$SITE_HTTPS_PORT/notify/v1/poll body='{"format":"sitesys.notify-poll/1","client":"'$C1'","frames":[]}'
	run curl -sS --cacert "$SITE_CA" -X POST --data-binary "$body" -w ' %{http_code}' "$url"
	[[ "$output" == *'"code":"no-certificate"'*' 401' ]]
	# a header of the client's own is never taken for nginx's
	run curl -sS --cacert "$SITE_CA" -X POST -H "X-Client-Cert: $(jq -rn --arg c "$(cat "$SITE_DIR/clients/${C1#GUID:}.crt")" '$c | @uri')" \
		--data-binary "$body" -w ' %{http_code}' "$url"
	[[ "$output" == *' 401' ]]
	run poll $C3
	[ "$output" = 403 ]
	grep -q '"code":"unregistered"' "$SITE_DIR/poll.out"
	run poll $C2 "" $C1
	[ "$output" = 403 ]
	grep -q '"code":"not-yours"' "$SITE_DIR/poll.out"
	run poll $C1 '{"type":"task","task":1}'
	[ "$output" = 400 ]
	grep -q 'frames\[0\]' "$SITE_DIR/poll.out"
	run as_client $C1 -sS -X POST --data-binary 'nonsense' -w ' %{http_code}' "$url"
	[[ "$output" == *'"code":"bad-request"'*' 400' ]]
	run as_client $C1 -sS -w ' %{http_code}' "$url"
	[[ "$output" == *' 405' ]]
	grep -q "the certificate is not that of a registered" "$SITE_DIR/notifyd.log"
}
