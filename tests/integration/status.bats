#!/usr/bin/env bats
# sitectl inbox and status: backlogs as an administrator sees them, files
# dropped by hand, through nginx, and components that report.

load helpers

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
}
teardown_file() { site_teardown_file; }
teardown() { site_teardown; }

@test "inbox init makes the site's inboxes and status shows them empty" {
	run "$SITECTL" inbox init
	[ "$status" -eq 0 ]
	for box in statsys.box bgb.box fsp.box; do
		[ -d "$SITE_DIR/inbox/$box/tmp" ]
		[ -d "$SITE_DIR/inbox/$box/incoming" ]
		[ -d "$SITE_DIR/inbox/$box/corrupt" ]
	done
	[ "$(stat -c %U "$SITE_DIR/inbox/fsp.box/incoming")" = sitesys ]
	run "$SITECTL" status
	[ "$status" -eq 0 ]
	[[ "$output" =~ statsys\.box\ +0\ +-\ +0\ +0 ]]
	[[ "$output" == *"(no component has reported yet)"* ]]
}

@test "inbox put writes by the protocol and status counts it" {
	test_doc hello >"$SITE_DIR/doc.smx"
	run "$SITECTL" inbox put statsys "$SITE_DIR/doc.smx"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^statsys.box/incoming/[0-9]{16}\.[^.]+\.[0-9]+\.0\.smx$ ]]
	[ -f "$SITE_DIR/inbox/$output" ]
	cmp "$SITE_DIR/doc.smx" "$SITE_DIR/inbox/$output"
	[ -z "$(ls "$SITE_DIR/inbox/statsys.box/tmp")" ]
	run "$SITECTL" status --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq '.inboxes[] | select(.name=="statsys.box") | .files')" = 1 ]
}

@test "inbox put refuses what is not an inbox document and writes nothing" {
	echo 'not json' >"$SITE_DIR/junk.txt"
	run "$SITECTL" inbox put bgb.box "$SITE_DIR/junk.txt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"junk.txt is not an inbox document: invalid JSON at line 1"* ]]
	echo '{"a":1}' >"$SITE_DIR/noformat.json"
	run "$SITECTL" inbox put bgb.box "$SITE_DIR/noformat.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *'missing member "format"'* ]]
	run "$SITECTL" inbox put nosuch.box "$SITE_DIR/doc.smx"
	[ "$status" -eq 1 ]
	[[ "$output" == *'no inbox "nosuch.box"'* ]]
	[ "$(backlog_of bgb.box)" = 0 ]
}

@test "inbox put: a write, fsync or rename that fails is an error and leaves incoming/ as it was" {
	local spec before box=$SITE_DIR/inbox/statsys.box
	"$SITECTL" inbox init >/dev/null
	test_doc failing >"$SITE_DIR/fail.smx"
	before=$(ls "$box/incoming")
	for spec in write:1:ENOSPC fsync:1:EIO rename:1:EIO; do
		SITESYS_FAIL_AT=$spec run "$SITECTL" inbox put statsys "$SITE_DIR/fail.smx"
		[ "$status" -eq 1 ] || { echo "$spec: status $status"; false; }
		[[ "$output" == *"could not write $box/tmp/"* ]]
		[ "$(ls "$box/incoming")" = "$before" ]
		[ -z "$(ls "$box/tmp")" ]
	done
}

@test "a file copied in by hand and one put with sitectl are both seen, oldest age shown" {
	test_doc byhand >"$SITE_DIR/inbox/bgb.box/incoming/byhand.bos"
	touch -d '-2 hours' "$SITE_DIR/inbox/bgb.box/incoming/byhand.bos"
	run "$SITECTL" inbox put bgb "$SITE_DIR/doc.smx"
	[ "$status" -eq 0 ]
	[ -z "$(ls "$SITE_DIR/inbox/bgb.box/tmp")" ]
	run "$SITECTL" status --json
	[ "$(echo "$output" | jq '.inboxes[] | select(.name=="bgb.box") | .files')" = 2 ]
	age=$(echo "$output" | jq '.inboxes[] | select(.name=="bgb.box") | .oldest_age_seconds')
	[ "$age" -ge 7190 ]
	run "$SITECTL" status
	[[ "$output" =~ bgb\.box\ +2\ +2h00m ]]
}

@test "status shows a component that reports, and exits 1 naming an unreachable database" {
	mkdir -p "$SITE_DIR/inbox/test.box"
	chown sitesys: "$SITE_DIR/inbox/test.box" 2>/dev/null || true
	"$DRAIN" -f 2>"$SITE_DIR/drain.log" &
	pid=$!
	wait_for 10 bash -c "'$SITECTL' status | grep -q 'inbox-drain .* running'"
	kill -TERM $pid
	wait $pid
	run "$SITECTL" status --json
	[ "$(echo "$output" | jq -r '.components[] | select(.name=="inbox-drain") | .state')" = stopped ]
	mkdir -p "$SITE_DIR/nowhere"
	sed "s|host=$SITE_PGHOST|host=$SITE_DIR/nowhere|" "$SITESYS_CONF" >"$SITE_DIR/down.conf"
	run "$SITECTL" -c "$SITE_DIR/down.conf" status
	[ "$status" -eq 1 ]
	[[ "$output" == *"statsys.box"* ]]
	[[ "$output" == *"components: could not connect to database \"sitesys\""* ]]
}
