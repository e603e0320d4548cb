#!/usr/bin/env bats
# sitesys-notifymgr and the console's side of client notification:
# collections and their rules, approved scripts, sitectl notify and
# operations; tasks expanded into pushes, released at their rate, stopped
# after their failures, expired at their validity; bgb.box (.bts task
# status, .bos presence) loaded exactly once. The notification servers are
# stood in for by the files they would write. Each test starts from no
# task and an empty bgb.box, so that it passes alone (bats -f NAME).

load helpers

NOTIFYMGR=$BUILD/sitesys-notifymgr
BOX=bgb.box
# five clients: pc1..pc3 in the lab (10.1.0.0/24, site S01), pc4 and
# srv1 elsewhere (site S02)
C1=GUID:a1111111-1111-4111-8111-111111111111
C2=GUID:a2222222-2222-4222-8222-222222222222
C3=GUID:a3333333-3333-4333-8333-333333333333
C4=GUID:a4444444-4444-4444-8444-444444444444
C5=GUID:a5555555-5555-4555-8555-555555555555

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" inbox init >/dev/null
	sed -i 's/^\[inbox\]$/[inbox]\nrescan_seconds = 1/' "$SITESYS_CONF"
	"$SITECTL" site add S01 --name Lab >/dev/null
	"$SITECTL" site add S02 --name Office >/dev/null
	"$SITECTL" boundary add lab-net --type subnet --value 10.1.0.0/24 >/dev/null
	"$SITECTL" bg add Lab >/dev/null
	"$SITECTL" bg add-boundary Lab lab-net >/dev/null
	local c n site addr
	for n in 1 2 3 4 5; do
		c=$(eval echo "\$C$n")
		site=S01 addr=10.1.0.$n/24
		[ $n -le 3 ] || site=S02 addr=10.2.0.$n/24
		name=pc$n
		[ $n != 5 ] || name=srv1
		psql_site -c "INSERT INTO client (guid, name, addresses, site_code, approved)
			VALUES ('$(lower "$c")', '$name', '{$addr}', '$site', true)"
	done
}
teardown_file() { site_teardown_file; }
setup() {
	psql_site -c "TRUNCATE notify_task, notify_task_client, notify_push, client_online,
		collection, collection_rule, script CASCADE; DELETE FROM inbox_ledger WHERE box = '$BOX'"
	rm -f "$SITE_DIR"/inbox/$BOX/incoming/* "$SITE_DIR"/inbox/$BOX/corrupt/*
}
teardown() {
	[ -z "${NM_PID:-}" ] || { kill -TERM "$NM_PID" 2>/dev/null; wait "$NM_PID" 2>/dev/null; } || true
	NM_PID=
	site_teardown
}

lower() { echo "GUID:$(echo "${1#GUID:}" | tr A-F a-f)"; }
start_notifymgr() {
	"$NOTIFYMGR" -f 2>>"$SITE_DIR/notifymgr.log" &
	NM_PID=$!
}

# put NAME JSON: drop a file into bgb.box by the inbox protocol
put() {
	printf '%s\n' "$2" >"$SITE_DIR/$1"
	"$SITECTL" inbox put $BOX "$SITE_DIR/$1" >/dev/null
}

# bos SERVER GUID...: a presence snapshot of SERVER with GUIDs online
bos() {
	local server=$1 first=1 g list=
	shift
	for g in "$@"; do
		[ $first = 1 ] || list="$list,"
		first=0
		list="$list{\"client\":\"$(lower "$g")\",\"since\":\"2026-11-29T10:00:00Z\",\"via\":\"tcp\"}"
	done
	put "p$RANDOM.bos" "{\"format\":\"sitesys.bos/1\",\"server\":\"$server\",\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ | cut -c1-23)Z\",\"online\":[$list]}"
}

# ev TASK GUID EVENT [STATUS EXIT]: one .bts event
ev() {
	local x=
	[ -z "${4:-}" ] || x=",\"status\":\"$4\",\"exit\":$5,\"output\":\"out of $2\""
	printf '{"task":%s,"client":"%s","event":"%s","at":"2026-11-29T10:00:0%sZ"%s}' \
		"$1" "$(lower "$2")" "$3" "$((RANDOM % 10))" "$x"
}
# bts EVENT...: a task status file of mp1
bts() {
	local IFS=,
	put "s$RANDOM.bts" "{\"format\":\"sitesys.bts/1\",\"server\":\"mp1.example\",\"events\":[$*]}"
}

backlog_zero() { [ "$(backlog_of $BOX)" = 0 ]; }
task_state_is() { [ "$(psql_site -c "SELECT state FROM notify_task WHERE id = $1")" = "$2" ]; }
released() { psql_site -c "SELECT count(release_seq) FROM notify_push WHERE task = $1"; }
# ops TASK: the counts sitectl operations shows for TASK, as a line
ops() {
	"$SITECTL" operations "$1" --json | jq -r '.[0] | [.state, .targeted, .online,
		.pushed, .received, .succeeded, .failed, .unsupported, .expired] | join(" ")'
}
ops_is() { [ "$(ops "$1")" = "$2" ]; }
task_id() { sed -n 's/^task \([0-9]*\):.*/\1/p' <<<"$1"; }

@test "a collection's members by name, pattern, site and boundary group" {
	run "$SITECTL" collection add lab --pattern 'pc*' --site S01
	[ "$status" -eq 0 ]
	[ "$output" = "added collection lab" ]
	run "$SITECTL" collection show lab --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.members[].name] | join(" ")' <<<"$output")" = "pc1 pc2 pc3 pc4" ]
	"$SITECTL" collection add by-group --boundary-group Lab >/dev/null
	"$SITECTL" collection add-rule by-group --name SRV1 >/dev/null
	run "$SITECTL" collection show by-group --json
	[ "$(jq -r '[.members[].name] | join(" ")' <<<"$output")" = "pc1 pc2 pc3 srv1" ]
	[ "$(jq -r '[.rules[] | .kind + "=" + .value] | join(" ")' <<<"$output")" = "boundary-group=Lab name=SRV1" ]
	"$SITECTL" collection remove-rule by-group --boundary-group Lab >/dev/null
	run "$SITECTL" collection show by-group --json
	[ "$(jq -r '[.members[].name] | join(" ")' <<<"$output")" = "srv1" ]
	# a pattern's other characters are literal: "pc_" is not "pc1"
	"$SITECTL" collection add literal --pattern 'pc_' >/dev/null
	run "$SITECTL" collection show literal --json
	[ "$(jq '.members | length' <<<"$output")" = 0 ]
	run "$SITECTL" collection list --json
	[ "$(jq -r '[.[] | .name + ":" + (.rules | tostring)] | join(" ")' <<<"$output")" = "by-group:1 lab:2 literal:1" ]
	run "$SITECTL" collection remove literal
	[ "$status" -eq 0 ]
	[ "$output" = "removed collection literal" ]
}

@test "collection refuses what it cannot keep, with the reason, changing nothing" {
	run "$SITECTL" collection add lab --boundary-group Nowhere
	[ "$status" -eq 1 ]
	[[ "$output" == *'no boundary group "Nowhere"'* ]]
	run "$SITECTL" collection add lab --site S99
	[ "$status" -eq 1 ]
	[[ "$output" == *'no site "S99"'* ]]
	[ "$(psql_site -c 'SELECT count(*) FROM collection')" = 0 ]
	run "$SITECTL" collection add $'bad\ename'
	[ "$status" -eq 2 ]
	[[ "$output" == *"may not hold control characters"* ]]
	run "$SITECTL" collection add '   '
	[ "$status" -eq 2 ]
	[[ "$output" == *"may not be only blanks"* ]]
	"$SITECTL" collection add lab >/dev/null
	run "$SITECTL" collection add lab
	[ "$status" -eq 1 ]
	[[ "$output" == *'collection "lab" already exists'* ]]
	run "$SITECTL" collection show nope
	[ "$status" -eq 1 ]
	[[ "$output" == *'no collection "nope"'* ]]
	run "$SITECTL" collection add-rule lab
	[ "$status" -eq 2 ]
}

@test "scripts: added by file, known by SHA-256, run only once approved" {
	printf '#!/bin/sh\necho cleaned\n' >"$SITE_DIR/clean.sh"
	local sha
	sha=$(sha256sum "$SITE_DIR/clean.sh" | cut -d' ' -f1)
	run "$SITECTL" script add "$SITE_DIR/clean.sh"
	[ "$status" -eq 0 ]
	[ "$output" = "added script $sha clean.sh (not approved)" ]
	"$SITECTL" collection add lab --site S01 >/dev/null
	run "$SITECTL" notify run-script --collection lab --script clean.sh
	[ "$status" -eq 1 ]
	[[ "$output" == *"script $sha is not approved (sitectl script approve)"* ]]
	run "$SITECTL" script approve clean.sh
	[ "$status" -eq 0 ]
	[ "$output" = "approved script $sha" ]
	run "$SITECTL" notify run-script --collection lab --script "$sha"
	[ "$status" -eq 0 ]
	[[ "$output" == "task "*": run-script to collection lab: 3 clients"* ]]
	[ "$(psql_site -c "SELECT script FROM notify_task")" = "$sha" ]
	printf 'a\0b' >"$SITE_DIR/nul.sh"
	run "$SITECTL" script add "$SITE_DIR/nul.sh"
	[ "$status" -eq 1 ]
	[[ "$output" == *"holds a NUL byte"* ]]
	head -c 50000 /dev/zero | tr '\0' x >"$SITE_DIR/big.sh"
	run "$SITECTL" script add "$SITE_DIR/big.sh"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is larger than 48 KiB"* ]]
	run "$SITECTL" script list --json
	[ "$(jq -r '[.[] | .name + ":" + (.approved | tostring)] | join(" ")' <<<"$output")" = "clean.sh:true" ]
}

@test "notify refuses an unknown action, collection or client, with the reason" {
	run "$SITECTL" notify scan-everything --client $C1
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown action "scan-everything"'* ]]
	[[ "$output" == *"quick-scan"*"endpoint protection quick scan"* ]]
	run "$SITECTL" notify quick-scan --collection nope
	[ "$status" -eq 1 ]
	[[ "$output" == *'no collection "nope"'* ]]
	run "$SITECTL" notify quick-scan --client GUID:b0000000-0000-4000-8000-000000000000
	[ "$status" -eq 1 ]
	[[ "$output" == *"no client GUID:b0000000-0000-4000-8000-000000000000"* ]]
	run "$SITECTL" notify quick-scan --client pc1
	[ "$status" -eq 2 ]
	[[ "$output" == *'"pc1" is not a client id'* ]]
	run "$SITECTL" notify quick-scan --client $C1 --rate fast
	[ "$status" -eq 2 ]
	[[ "$output" == *'--rate: "fast" is not a number'* ]]
	run "$SITECTL" notify quick-scan --client $C1 --script x
	[ "$status" -eq 2 ]
	[[ "$output" == *"--script goes with the run-script action only"* ]]
	run "$SITECTL" notify quick-scan
	[ "$status" -eq 2 ]
	[[ "$output" == *"give either --collection or --client"* ]]
	[ "$(psql_site -c 'SELECT count(*) FROM notify_task')" = 0 ]
}

@test "a task is expanded, released and its results counted as the servers report them" {
	start_notifymgr
	bos mp1.example $C1 $C2
	wait_for 15 backlog_zero
	"$SITECTL" collection add lab --site S01 >/dev/null
	run "$SITECTL" notify quick-scan --collection lab
	[ "$status" -eq 0 ]
	[[ "$output" == *": quick-scan to collection lab: 3 clients, about 2 online; valid 60 minutes" ]]
	local t
	t=$(task_id "$output")
	wait_for 15 task_state_is "$t" pushing
	[ "$(released "$t")" = 3 ]
	# without a rate, released by the transaction that expanded it
	[ "$(psql_site -c "SELECT count(*) FROM notify_push p JOIN notify_task t ON t.id = p.task WHERE t.id = $t AND p.released_at = t.expanded_at")" = 3 ]
	ops_is "$t" "pushing 3 2 0 0 0 0 0 0"
	bts "$(ev "$t" $C1 pushed)" "$(ev "$t" $C2 pushed)" "$(ev "$t" $C1 received)" \
		"$(ev "$t" $C1 result succeeded 0)" "$(ev "$t" $C2 received)" "$(ev "$t" $C2 result failed 3)"
	wait_for 15 ops_is "$t" "pushing 3 2 2 2 1 1 0 0"
	[ "$(psql_site -c "SELECT exit_code, output FROM notify_push WHERE task = $t AND status = 'failed'")" = "3|out of $C2" ]
	# the third comes online later and answers unsupported: every
	# client has answered, the task is done
	bts "$(ev "$t" $C3 pushed)" "$(ev "$t" $C3 received)" "$(ev "$t" $C3 result unsupported 0)"
	wait_for 15 ops_is "$t" "done 3 2 3 3 1 1 1 0"
	# the table a person reads has the same counts
	run "$SITECTL" operations
	[[ "${lines[0]}" == *TASK*ACTION*TARGET*STATE*TARGETED*ONLINE*PUSHED*RECEIVED*SUCCEEDED*FAILED*UNSUPPORTED*EXPIRED* ]]
	[[ "${lines[1]}" == *quick-scan*lab*done* ]]
}

@test "notify on named clients pushes to them alone; the first answer of each kind wins" {
	start_notifymgr
	run "$SITECTL" notify policy --client $C4 --client "$(lower $C5)"
	[ "$status" -eq 0 ]
	[[ "$output" == *": policy to named clients: 2 clients, about 0 online"* ]]
	local t
	t=$(task_id "$output")
	wait_for 15 task_state_is "$t" pushing
	[ "$(psql_site -c "SELECT string_agg(guid, ' ' ORDER BY guid) FROM notify_push WHERE task = $t")" = "$(lower $C4) $(lower $C5)" ]
	bts "$(ev "$t" $C4 result succeeded 0)"
	wait_for 15 ops_is "$t" "pushing 2 0 0 0 1 0 0 0"
	# pushed twice, answered twice: counted once, the first result kept
	bts "$(ev "$t" $C4 result failed 1)" "$(ev "$t" $C1 result failed 1)"
	wait_for 15 backlog_zero
	ops_is "$t" "pushing 2 0 0 0 1 0 0 0"
}

@test "a rate-limited rollout keeps its rate and stops after its failures" {
	start_notifymgr
	"$SITECTL" collection add all --pattern '*' >/dev/null
	run "$SITECTL" notify quick-scan --collection all --rate 60/min --stop-after-failures 2
	[ "$status" -eq 0 ]
	local t start now n
	t=$(task_id "$output")
	wait_for 15 task_state_is "$t" pushing
	start=$(psql_site -c "SELECT extract(epoch FROM expanded_at) FROM notify_task WHERE id = $t")
	# at 60 a minute: never more out than one a second since it began,
	# and the first at once
	for _ in $(seq 30); do
		read -r n now < <(psql_site -F ' ' -c "SELECT count(release_seq), extract(epoch FROM now()) FROM notify_push WHERE task = $t")
		awk -v n="$n" -v s="$start" -v t="$now" 'BEGIN { exit !(n <= int(t - s) + 1) }' ||
			{ echo "$n released after $(awk -v s="$start" -v t="$now" 'BEGIN { print t - s }') s"; false; }
		[ "$n" -lt 3 ] || break
		sleep 0.2
	done
	[ "$n" -ge 3 ]
	# two failures stop it: nothing more is released
	bts "$(ev "$t" $C1 result failed 1)" "$(ev "$t" $C2 result failed 2)"
	wait_for 15 task_state_is "$t" stopped
	grep -q "task $t stopped: 2 results failed" "$SITE_DIR/notifymgr.log"
	n=$(released "$t")
	sleep 2.5 # twice the release interval: a running rollout would release more
	[ "$(released "$t")" = "$n" ]
	[ "$n" -lt 5 ]
}

@test "a task expires at its validity: what has no result is counted expired" {
	start_notifymgr
	run "$SITECTL" notify full-scan --client $C1,$C2
	local t
	t=$(task_id "$output")
	wait_for 15 task_state_is "$t" pushing
	bts "$(ev "$t" $C1 result succeeded 0)"
	wait_for 15 ops_is "$t" "pushing 2 0 0 0 1 0 0 0"
	psql_site -c "UPDATE notify_task SET valid_until = now() WHERE id = $t"
	wait_for 15 ops_is "$t" "expired 2 0 0 0 1 0 0 1"
	grep -q "task $t expired" "$SITE_DIR/notifymgr.log"
	# a result that comes late still counts: the client did run it
	bts "$(ev "$t" $C2 result succeeded 0)"
	wait_for 15 ops_is "$t" "expired 2 0 0 0 2 0 0 0"
}

@test "presence: each server's latest snapshot says who is online, shown by sitectl status" {
	start_notifymgr
	bos mp1.example $C1 $C2 $C3
	bos mp2.example $C4
	wait_for 15 backlog_zero
	run "$SITECTL" status --json
	[ "$(jq -r '[.notification_servers[] | .server + ":" + (.online | tostring)] | join(" ")' <<<"$output")" = "mp1.example:3 mp2.example:1" ]
	# C3 moved to mp2, C2 went offline
	bos mp2.example $C4 $C3
	bos mp1.example $C1
	wait_for 15 backlog_zero
	run "$SITECTL" status
	[[ "$output" == *"NOTIFICATION SERVER"*"ONLINE"* ]]
	[[ "$output" =~ mp1\.example\ +1\ +1\ +0 ]]
	[[ "$output" =~ mp2\.example\ +2\ +2\ +0 ]]
	[ "$(psql_site -c "SELECT online FROM client_online WHERE guid = '$(lower $C2)'")" = f ]
	# a server's workers each report their own clients
	put w1.bos "{\"format\":\"sitesys.bos/1\",\"server\":\"mp2.example\",\"worker\":1,\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ | cut -c1-23)Z\",\"online\":[{\"client\":\"$(lower $C5)\",\"since\":\"2026-11-29T10:00:00Z\",\"via\":\"http\"}]}"
	wait_for 15 backlog_zero
	run "$SITECTL" status --json
	[ "$(jq -r '.notification_servers[] | select(.server == "mp2.example") | [.online, .tcp, .http] | map(tostring) | join(" ")' <<<"$output")" = "3 2 1" ]
}

@test "a bad .bts or .bos goes to corrupt/ with its reason; the rest is loaded" {
	start_notifymgr
	run "$SITECTL" notify policy --client $C1
	local t
	t=$(task_id "$output")
	wait_for 15 task_state_is "$t" pushing
	put bad1.bts '{"format":"sitesys.bts/1","server":"mp1","events":[{"task":1,"client":"GUID:x","event":"pushed","at":"2026-11-29T10:00:00Z"}]}'
	put bad2.bts "{\"format\":\"sitesys.bts/1\",\"server\":\"mp1\",\"events\":[$(ev "$t" $C1 result maybe 0)]}"
	put bad3.bos '{"format":"sitesys.bos/1","server":"mp\u001b]0;x","at":"2026-11-29T10:00:00Z","online":[]}'
	put bad4.bts '{"format":"sitesys.bts/9","server":"mp1","events":[]}'
	bts "$(ev "$t" $C1 result succeeded 0)"
	wait_for 15 backlog_zero
	ops_is "$t" "done 1 0 0 0 1 0 0 0"
	local c=$SITE_DIR/inbox/$BOX/corrupt
	[ "$(ls "$c" | grep -c '\.why$')" = 4 ]
	grep -q 'reason: events\[0\]: client: "GUID:x" is not GUID: and a UUID' "$c"/*.why
	grep -q 'reason: events\[0\]: status: "maybe" is not succeeded, failed or unsupported' "$c"/*.why
	grep -q 'reason: server may not hold control characters' "$c"/*.why
	grep -q 'reason: format: "sitesys.bts/9" is not sitesys.bts/1 or sitesys.bos/1' "$c"/*.why
}

# 6 files: at each step of a batch, killed once; every file is loaded
# once (recorded once in the ledger) and none is lost or set aside
@test "killed at every step of a batch, each .bts and .bos is loaded exactly once" {
	run "$SITECTL" notify policy --client $C1,$C2,$C3
	local t point n=0
	t=$(task_id "$output")
	start_notifymgr
	wait_for 15 task_state_is "$t" pushing
	kill -TERM "$NM_PID" && wait "$NM_PID" || true
	NM_PID=
	sed -i 's/^\[inbox\]$/[inbox]\nbatch_files = 4/' "$SITESYS_CONF"
	for point in batch.parsed batch.begun batch.processed batch.recorded \
		batch.committed batch.unlinked_one batch.unlinked; do
		n=$((n + 1))
		bts "$(ev "$t" $C1 pushed)"
		bts "$(ev "$t" $C2 pushed)"
		bos mp1.example $C1
		bts "$(ev "$t" $C3 received)"
		bos mp1.example $C1 $C2
		bts "$(ev "$t" $C1 received)"
		SITESYS_CRASH_AT=$point:1 run timeout 30 "$NOTIFYMGR" -f
		[ "$status" -eq 137 ] || { echo "no crash at $point ($status)"; false; }
		start_notifymgr
		wait_for 15 backlog_zero
		kill -TERM "$NM_PID" && wait "$NM_PID" || true
		NM_PID=
		[ "$(psql_site -c "SELECT count(*), count(DISTINCT name) FROM inbox_ledger WHERE box = '$BOX'")" = "$((n * 6))|$((n * 6))" ] ||
			{ echo "after a crash at $point"; false; }
		[ -z "$(ls "$SITE_DIR/inbox/$BOX/corrupt")" ]
	done
	ops_is "$t" "pushing 3 0 2 2 0 0 0 0"
	[ "$(psql_site -c "SELECT count(*) FILTER (WHERE online) FROM client_online")" = 2 ]
	sed -i '/^batch_files = 4$/d' "$SITESYS_CONF"
}
