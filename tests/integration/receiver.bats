#!/usr/bin/env bats
# sitesys-receiver behind the packaged nginx site, and sitesys-sender: a
# site system on another host puts its files into the site server's
# inboxes over HTTPS with its site certificate (sitesys-receiver(8),
# sitesys-sender(8)). Needs no database: the files are what is checked.

load helpers

RECEIVER=$BUILD/sitesys-receiver
SENDER=$BUILD/sitesys-sender

setup_file() {
	SITE_DIR=$(mktemp -d /tmp/sitesys-test.XXXXXX)
	chmod 755 "$SITE_DIR"
	export SITE_DIR
	site_ca_init "$SITE_DIR"
	site_issue "$SITE_DIR" 127.0.0.1 site-server
	site_issue "$SITE_DIR" mp1.test mp
	site_issue "$SITE_DIR" fsp1.test fsp
	site_issue "$SITE_DIR" rev1.test mp
	# revoking drops the CA's copy of the key: the host keeps its own
	cp "$SITE_DIR/ca/issued/rev1.test.crt" "$SITE_DIR/ca/issued/rev1.test.key" "$SITE_DIR"
	"$SITECTL" -c "$SITE_DIR/ca.conf" ca revoke rev1.test >/dev/null
	# a certificate of another CA, naming a role all the same
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/OU=mp/CN=rogue.test" -days 2 -keyout "$SITE_DIR/rogue.key" \
		-out "$SITE_DIR/rogue.crt" 2>/dev/null
	local group=
	[ "$(id -u)" = 0 ] && group=$(site_web_user)
	cat >"$SITE_DIR/site.conf" <<-CONF
		[site]
		inbox_dir = $SITE_DIR/site
		fastcgi_group = $group
		[receiver]
		fastcgi_socket = $SITE_DIR/receiver.sock
		threads = 4
	CONF
	receiver_run
	RECV_PORT=$(site_free_port)
	export RECV_PORT
	site_receiver_nginx "$SITE_DIR" 127.0.0.1 "$RECV_PORT" \
		"$SITE_DIR/receiver.sock" 127.0.0.1
}

teardown_file() {
	stop_pid "$SITE_DIR/sender.pid"
	stop_pid "$SITE_DIR/receiver.pid"
	site_nginx_quit "$SITE_DIR/receiver-nginx/nginx.pid"
	site_keep_or_remove "$SITE_DIR"
}

# each test begins with the receiver running, whatever the last one did
setup() {
	kill -0 "$(cat "$SITE_DIR/receiver.pid" 2>/dev/null)" 2>/dev/null || receiver_run
}

teardown() {
	site_teardown
	stop_pid "$SITE_DIR/sender.pid"
}

# receiver_run: sitesys-receiver, as its unit starts it; pid in receiver.pid
receiver_run() {
	rm -f "$SITE_DIR/receiver.sock"
	"$RECEIVER" -f -c "$SITE_DIR/site.conf" 2>>"$SITE_DIR/receiver.log" &
	echo $! >"$SITE_DIR/receiver.pid"
	wait_for 10 test -S "$SITE_DIR/receiver.sock"
}

# name EXT [HOST]: a new file name of the inbox protocol
name() { echo "$(date +%s%6N).${2:-mp1}.$$.$RANDOM.$1"; }

# put AS PATH FILE: curl's PUT of FILE to PATH (with its query) as the
# site system AS (mp1.test, fsp1.test, rev1.test, rogue, none); prints
# the status, then the body
put() {
	local as=$1 path=$2 file=$3 id=()
	case "$as" in
	none) ;;
	rogue | rev1.test) id=(--cert "$SITE_DIR/$as.crt" --key "$SITE_DIR/$as.key") ;;
	*) id=(--cert "$SITE_DIR/ca/issued/$as.crt" --key "$SITE_DIR/ca/issued/$as.key") ;;
	esac
	curl -sS --noproxy '*' --cacert "$SITE_DIR/ca/ca.crt" "${id[@]}" \
		-X PUT --data-binary "@$file" -w '\n%{http_code}\n' \
		"https://127.0.0.1:$RECV_PORT$path" | tac
}

incoming() { ls "$SITE_DIR/site/$1/incoming" 2>/dev/null; }

@test "a management point's PUT is written under its own name, durably, and a repeat is harmless" {
	local n f=$BATS_TEST_TMPDIR/batch
	n=$(name smx)
	echo '{"format":"sitesys.statemsg/1","client":"x"}' >"$f"
	run put mp1.test "/inbox/v1/statsys.box?name=$n" "$f"
	[ "${lines[0]}" = 201 ]
	jq_true -e ".format == \"sitesys.put/1\" and .file == \"$n\" and .inbox == \"statsys.box\"" <<<"${lines[1]}"
	cmp "$f" "$SITE_DIR/site/statsys.box/incoming/$n"
	before=$(incoming statsys.box | wc -l)
	run put mp1.test "/inbox/v1/statsys.box?name=$n" "$f"
	[ "${lines[0]}" = 201 ]
	[ "$(incoming statsys.box | wc -l)" = "$before" ]
	[ -z "$(ls "$SITE_DIR/site/statsys.box/tmp")" ]
	# what a receiver that died while writing left in tmp/ does not
	# block its name
	n=$(name smx)
	echo partial >"$SITE_DIR/site/statsys.box/tmp/$n"
	run put mp1.test "/inbox/v1/statsys.box?name=$n" "$f"
	[ "${lines[0]}" = 201 ]
	cmp "$f" "$SITE_DIR/site/statsys.box/incoming/$n"
	grep -q "removed .*/tmp/$n, left by a write that did not finish" "$SITE_DIR/receiver.log"
	# the names of notification servers' files, into bgb.box
	n=$(name bts)
	run put mp1.test "/inbox/v1/bgb.box?name=$n" "$f"
	[ "${lines[0]}" = 201 ]
	cmp "$f" "$SITE_DIR/site/bgb.box/incoming/$n"
}

@test "a PUT without a certificate, with a revoked one or with another CA's is refused with the reason, and nothing is written" {
	local f=$BATS_TEST_TMPDIR/batch before
	echo '{}' >"$f"
	before=$(incoming statsys.box | wc -l)
	run put none "/inbox/v1/statsys.box?name=$(name smx)" "$f"
	[ "${lines[0]}" = 401 ]
	[[ "${lines[1]}" == *"a site system certificate is required"* ]]
	run put rev1.test "/inbox/v1/statsys.box?name=$(name smx)" "$f"
	[ "${lines[0]}" = 403 ]
	[[ "${lines[1]}" == *"the certificate was refused"*"revoked"* ]]
	run put rogue "/inbox/v1/statsys.box?name=$(name smx)" "$f"
	[ "${lines[0]}" = 403 ]
	[[ "${lines[1]}" == *"the certificate was refused"* ]]
	[ "$(incoming statsys.box | wc -l)" = "$before" ]
}

@test "each role puts only where it may: a fallback status point into statsys.box, not bgb.box" {
	local f=$BATS_TEST_TMPDIR/batch n
	echo '{}' >"$f"
	n=$(name smx fsp1)
	run put fsp1.test "/inbox/v1/statsys.box?name=$n" "$f"
	[ "${lines[0]}" = 201 ]
	# the FSP forwards a batch's file of its client address in parts
	n=$(name s7f000001.p2.smx fsp1)
	run put fsp1.test "/inbox/v1/statsys.box?name=$n" "$f"
	[ "${lines[0]}" = 201 ]
	n=$(name bts fsp1)
	run put fsp1.test "/inbox/v1/bgb.box?name=$n" "$f"
	[ "${lines[0]}" = 403 ]
	[[ "${lines[1]}" == *"fsp1.test (role fsp): only a management point (mp)"*"may put files into bgb.box"* ]]
	refute test -e "$SITE_DIR/site/bgb.box/incoming/$n"
}

@test "a name outside the protocol, or of another inbox's files, is refused with the reason" {
	local f=$BATS_TEST_TMPDIR/batch before
	echo '{}' >"$f"
	before=$(incoming statsys.box | wc -l)
	for q in "name=..%2Fevil.smx" "name=1.mp1.1.1.smx" "name=$(name bts)" \
		"name=$(name smx)%00x" "other=1" ""; do
		run put mp1.test "/inbox/v1/statsys.box?$q" "$f"
		[ "${lines[0]}" = 400 ] || { echo "$q: $output"; false; }
	done
	run put mp1.test "/inbox/v1/statsys.box?name=$(name bts)" "$f"
	[[ "${lines[1]}" == *"not one of the protocol's for statsys.box"*"ext smx"* ]]
	run put mp1.test "/inbox/v1/statsys.box" "$f"
	[[ "${lines[1]}" == *"the query must name the file"* ]]
	: >"$f"
	run put mp1.test "/inbox/v1/statsys.box?name=$(name smx)" "$f"
	[ "${lines[0]}" = 400 ]
	[[ "${lines[1]}" == *"the file is empty"* ]]
	[ "$(incoming statsys.box | wc -l)" = "$before" ]
}

@test "a PUT outside the inbox paths is 404, another method 405, a file over the limit 413" {
	local f=$BATS_TEST_TMPDIR/batch
	echo '{}' >"$f"
	for p in /inbox/v1/fsp.box /inbox/v1/statsys.box/x /inbox/v1/ /etc/passwd /inbox/v1/../../etc; do
		run put mp1.test "$p?name=$(name smx)" "$f"
		[ "${lines[0]}" = 404 ] || { echo "$p: $output"; false; }
	done
	run curl -sS --noproxy '*' --cacert "$SITE_DIR/ca/ca.crt" \
		--cert "$SITE_DIR/ca/issued/mp1.test.crt" --key "$SITE_DIR/ca/issued/mp1.test.key" \
		-w '\n%{http_code}' "https://127.0.0.1:$RECV_PORT/inbox/v1/statsys.box?name=$(name smx)"
	[ "${lines[-1]}" = 405 ]
	head -c $((64 * 1024 * 1024 + 1)) /dev/zero >"$f"
	run put mp1.test "/inbox/v1/statsys.box?name=$(name smx)" "$f"
	[ "${lines[0]}" = 413 ]
	[[ "${lines[1]}" == *"larger than the limit of 67108864 bytes"* ]]
}

# sender_run: sitesys-sender of the host "mp1" (its inboxes under
# SITE_DIR/mp1/inbox) as its unit starts it, with a copy of mp1.test's
# key that [site] user can read; pid in sender.pid
sender_run() {
	local d=$SITE_DIR/mp1
	site_sender_tls "$SITE_DIR" "$d" mp1.test
	[ "$(id -u)" != 0 ] || chown "$(site_web_user)" "$d"
	{
		printf '[site]\ninbox_dir = %s/inbox\n[inbox]\nsettle_seconds = 0\n' "$d"
		site_sender_conf "$d" "https://127.0.0.1:$RECV_PORT/" mp1.test "$d/sender.json"
		echo "retry_max_seconds = 1"
	} >"$SITE_DIR/mp1.conf"
	"$SENDER" -f -c "$SITE_DIR/mp1.conf" 2>>"$SITE_DIR/sender.log" &
	echo $! >"$SITE_DIR/sender.pid"
	wait_for 10 test -f "$d/sender.json"
}

# outbox_put BOX NAME TEXT: a file written into mp1's BOX as its roles
# write them (tmp/, then renamed into incoming/)
outbox_put() {
	local b=$SITE_DIR/mp1/inbox/$1
	echo "$3" >"$b/tmp/$2"
	mv "$b/tmp/$2" "$b/incoming/$2"
}

outbox_empty() { [ -z "$(ls "$SITE_DIR/mp1/inbox/$1/incoming")" ]; }

# put_order NAME...: the names were PUT with a 201, each once, in this
# order (nginx logs a request after its answer: wait for the last)
put_order() {
	[ "$(grep -o "statsys.box?name=[^ ]* HTTP/1.1\" 201" "$SITE_DIR/receiver-nginx/logs/access.log" |
		sed 's/.*name=//; s/ .*//' | grep -F -x -f <(printf '%s\n' "$@") | paste -sd' ')" = "$*" ]
}

@test "the sender delivers its outbox oldest name first, and removes each file once the site server has it" {
	local names=() n i
	sender_run
	for i in 1 2 3 4 5; do
		n=$(name smx)
		names+=("$n")
		outbox_put statsys.box "$n" "batch $i"
	done
	n=$(name bos)
	outbox_put bgb.box "$n" presence
	wait_for 10 outbox_empty statsys.box
	wait_for 10 outbox_empty bgb.box
	for i in 1 2 3 4 5; do
		[ "$(cat "$SITE_DIR/site/statsys.box/incoming/${names[$((i - 1))]}")" = "batch $i" ]
	done
	[ "$(cat "$SITE_DIR/site/bgb.box/incoming/$n")" = presence ]
	# in the order of their names, one PUT each
	wait_for 5 put_order "${names[@]}"
	wait_for 5 jq_true -e '.boxes[] | select(.name == "statsys.box") | .sent == 5 and .files == 0 and .error == null' "$SITE_DIR/mp1/sender.json"
}

@test "while the site server cannot take files the sender keeps them and shows its backlog; it sends each once when it returns" {
	local names=() n i
	sender_run
	stop_pid "$SITE_DIR/receiver.pid"
	for i in 1 2 3; do
		n=$(name smx)
		names+=("$n")
		outbox_put statsys.box "$n" "kept $i"
	done
	wait_for 10 jq_true -e '.boxes[] | select(.name == "statsys.box") | .files == 3 and (.error | test("HTTP 502"))' "$SITE_DIR/mp1/sender.json"
	run "$SITECTL" -c "$SITE_DIR/mp1.conf" status
	[[ "$output" == *"sending to https://127.0.0.1:$RECV_PORT/"* ]]
	[[ "$output" =~ statsys.box\ +3\  ]]
	[[ "$output" == *"failing since "*"HTTP 502"* ]]
	"$SITECTL" -c "$SITE_DIR/mp1.conf" status --json 2>/dev/null >"$BATS_TEST_TMPDIR/status.json" || true
	jq_true -e '.sender.boxes[0].files == 3' "$BATS_TEST_TMPDIR/status.json"
	for n in "${names[@]}"; do
		refute test -e "$SITE_DIR/site/statsys.box/incoming/$n"
	done
	receiver_run
	wait_for 15 outbox_empty statsys.box
	for i in 1 2 3; do
		n=${names[$((i - 1))]}
		[ "$(cat "$SITE_DIR/site/statsys.box/incoming/$n")" = "kept $i" ]
	done
	wait_for 5 put_order "${names[@]}"
	wait_for 5 jq_true -e '.boxes[0].error == null' "$SITE_DIR/mp1/sender.json"
}

@test "a file the site server refuses for what it is goes to the sender's corrupt/ with the reason, and the rest go on" {
	local good
	sender_run
	outbox_put statsys.box 1.mp1.1.1.smx 'not of the protocol'
	good=$(name smx)
	outbox_put statsys.box "$good" fine
	wait_for 10 outbox_empty statsys.box
	[ "$(cat "$SITE_DIR/site/statsys.box/incoming/$good")" = fine ]
	[ "$(cat "$SITE_DIR/mp1/inbox/statsys.box/corrupt/1.mp1.1.1.smx")" = 'not of the protocol' ]
	grep -q "refused by the site server: HTTP 400: the file name is not one of the protocol's" \
		"$SITE_DIR/mp1/inbox/statsys.box/corrupt/1.mp1.1.1.smx.why"
}

@test "the sender will not start without the site server's address, its certificate or the site CA" {
	printf '[sender]\nurl = https://127.0.0.1:1\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$SENDER" -f -c "$BATS_TEST_TMPDIR/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"[sender] cert is not set"* ]]
	printf '[sender]\nurl = http://127.0.0.1:1\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$SENDER" -f -c "$BATS_TEST_TMPDIR/bad.conf"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad.conf:2:"* ]]
}
