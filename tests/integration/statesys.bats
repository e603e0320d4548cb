#!/usr/bin/env bats
# sitesys-statesys against a real PostgreSQL: serial tracking, current
# state, resynchronization (seed 001), corrupt files, kill -9. Each test
# starts from an empty database and inbox and makes what it needs, so
# that it passes alone (bats -f NAME).

load helpers

STATESYS=$BUILD/sitesys-statesys
C1=GUID:11111111-1111-4111-8111-111111111111
C2=GUID:22222222-2222-4222-8222-222222222222

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	"$SITECTL" inbox init >/dev/null
	sed -i 's/^\[inbox\]$/[inbox]\nbatch_files = 4\nrescan_seconds = 1/' "$SITESYS_CONF"
	printf '[statesys]\nresync_min_age_minutes = 60\nresync_check_minutes = 1\n' >>"$SITESYS_CONF"
}
teardown_file() { site_teardown_file; }
setup() {
	q "TRUNCATE statemsg_history, client_state, client_message_stats, client_missing_range, inbox_ledger"
	rm -f "$SITE_DIR"/inbox/statsys.box/incoming/* "$SITE_DIR"/inbox/statsys.box/corrupt/*
}
teardown() {
	[ -z "${SS_PID:-}" ] || { kill -TERM "$SS_PID" 2>/dev/null; wait "$SS_PID" 2>/dev/null; } || true
	[ ! -f "$SITESYS_CONF.orig" ] || mv "$SITESYS_CONF.orig" "$SITESYS_CONF"
	site_teardown
}

# msg SERIAL TOPIC_TYPE TOPIC_ID STATE [TIME]
msg() {
	printf '{"serial":%s,"time":"%s","topic":{"type":%s,"id":"%s","id_type":0},"state":{"id":%s,"criticality":0},"params":["p1","p\\\\2"]}' \
		"$1" "${5:-2026-11-22T10:00:00Z}" "$2" "$3" "$4"
}

# batch CLIENT MSG...: drop one batch into statsys.box
batch() {
	local client=$1 first=1 m
	shift
	{
		printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[' "$client"
		for m in "$@"; do
			[ $first = 1 ] || printf ','
			first=0
			printf '%s' "$m"
		done
		printf ']}\n'
	} >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put statsys.box "$SITE_DIR/batch.smx" >/dev/null
}

backlog_zero() { [ "$(backlog_of statsys.box)" = 0 ]; }
drain() {
	start_statesys
	wait_for 20 backlog_zero
	stop_statesys
}
q() { psql_site -c "$1"; }

# C1 sends 1 to 3 in order; then 7, which leaves the gap 4-6; then 5 and a
# repeat of 2, which leave the gaps 4 and 6, with 8 expected next.
c1_in_order() {
	batch "$C1" "$(msg 1 500 KB1 1)" "$(msg 2 500 KB2 2)" "$(msg 3 300 A1 1)"
	drain
}
c1_gap() {
	batch "$C1" "$(msg 7 500 KB3 2)"
	drain
}
c1_late() {
	batch "$C1" "$(msg 5 500 KB4 2)" "$(msg 2 500 KB2 3)"
	drain
}

# C2 sends 2, then a late, older 1 about the same topic
c2_late_older() {
	batch "$C2" "$(msg 2 500 KB9 3 2026-11-22T12:00:00Z)"
	drain
	batch "$C2" "$(msg 1 500 KB9 2 2026-11-22T11:00:00Z)"
	drain
}

# resync_issued CLIENT: make CLIENT's gaps older than the minimum age, start
# statesys and wait until it has asked CLIENT to resynchronize
resync_issued() {
	q "UPDATE client_missing_range SET detected = now() - interval '2 hours' WHERE client = '$1'"
	start_statesys
	wait_for 20 bash -c "[ \"\$(psql -X -A -t -h '$SITE_PGHOST' -p '$SITE_PGPORT' -U postgres sitesys -c \"SELECT last_resync_issued_time IS NOT NULL FROM client_message_stats WHERE client = '$1'\")\" = t ]"
}

# c1_resync_answer: C1 answers as the agent does, its cache renumbered from
# its current serial, then 700/2; the running statesys loads it and stops
c1_resync_answer() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	batch "$C1" "$(msg 8 500 KB1 1 "$now")" "$(msg 9 500 KB3 2 "$now")" "$(msg 10 700 resync 2 "$now")"
	wait_for 20 backlog_zero
	stop_statesys
}

@test "messages in order: history, current state and the next expected serial" {
	c1_in_order
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C1'")" = 3 ]
	[ "$(q "SELECT state_id FROM client_state WHERE client = '$C1' AND topic_id = 'KB2'")" = 2 ]
	[ "$(q "SELECT next_expected_serial, highest_serial, messages FROM client_message_stats WHERE client = '$C1'")" = "4|3|3" ]
	[ "$(q "SELECT params[2] FROM statemsg_history WHERE client = '$C1' AND serial = 1")" = 'p\2' ]
	[ "$(q "SELECT count(*) FROM client_missing_range WHERE client = '$C1'")" = 0 ]
}

@test "a gap is recorded, a late message fills it, a repeat is counted and not applied twice" {
	c1_in_order
	c1_gap
	[ "$(q "SELECT first_serial, last_serial FROM client_missing_range WHERE client = '$C1'")" = "4|6" ]
	c1_late
	[ "$(q "SELECT string_agg(first_serial || '-' || last_serial, ',' ORDER BY first_serial) FROM client_missing_range WHERE client = '$C1'")" = "4-4,6-6" ]
	[ "$(q "SELECT duplicates FROM client_message_stats WHERE client = '$C1'")" = 1 ]
	# the repeat of serial 2 (state 3) changed nothing
	[ "$(q "SELECT state_id FROM client_state WHERE client = '$C1' AND topic_id = 'KB2'")" = 2 ]
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C1' AND serial = 2")" = 1 ]
	[ "$(q "SELECT next_expected_serial FROM client_message_stats WHERE client = '$C1'")" = 8 ]
}

@test "a late, older message never overwrites a newer state" {
	c2_late_older
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C2' AND topic_id = 'KB9'")" = "3|2" ]
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C2'")" = 2 ]
	[ "$(q "SELECT count(*) FROM client_missing_range WHERE client = '$C2'")" = 0 ]
}

# Finding 3 of issue 10: the client's clock must not decide its state; its
# serial numbers do, within a window of the next expected one.

@test "a message dated 2999 is kept in history only; the client's later serials replace the state" {
	batch "$C1" "$(msg 1 500 KB1 1)" "$(msg 2 500 KB5 4 2999-01-01T00:00:00Z)"
	drain
	batch "$C1" "$(msg 3 500 KB1 5 2999-01-01T00:00:00Z)"
	drain
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C1'")" = 3 ]
	# neither pinned anything: KB1 is still serial 1's, KB5 has no state
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C1' AND topic_id = 'KB1'")" = "1|1" ]
	[ "$(q "SELECT count(*) FROM client_state WHERE client = '$C1' AND topic_id = 'KB5'")" = 0 ]
	[ "$(q "SELECT last_message_time < now() + interval '1 day' FROM client_message_stats WHERE client = '$C1'")" = t ]
	grep -q "1 state message dated more than 1440 minutes ahead kept in history only: $C1 serial 3" "$SITE_DIR/statesys.log"
	"$SITECTL" status | grep -q "sitesys-statesys .*, 1 dated ahead"
	# the client's genuine later report, dated by a clock set right
	batch "$C1" "$(msg 4 500 KB1 2 2026-11-22T11:00:00Z)" "$(msg 5 500 KB5 3 2026-11-22T11:00:00Z)"
	drain
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C1' AND topic_id = 'KB1'")" = "2|4" ]
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C1' AND topic_id = 'KB5'")" = "3|5" ]
}

@test "the higher serial is the current state, whatever the times and the order of arrival" {
	# a later file brings an older serial with a later time
	batch "$C2" "$(msg 5 500 KB9 3 2026-11-22T10:00:00Z)"
	drain
	batch "$C2" "$(msg 4 500 KB9 2 2026-11-22T12:00:00Z)"
	drain
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C2' AND topic_id = 'KB9'")" = "3|5" ]
	# and so within one batch, for a topic new to the client and for one
	# it has already
	batch "$C2" "$(msg 7 500 KB8 7 2026-11-22T09:00:00Z)" "$(msg 6 500 KB8 6 2026-11-22T13:00:00Z)" \
		"$(msg 9 500 KB9 9 2026-11-22T09:00:00Z)" "$(msg 8 500 KB9 8 2026-11-22T13:00:00Z)"
	drain
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C2' AND topic_id = 'KB8'")" = "7|7" ]
	[ "$(q "SELECT state_id, serial FROM client_state WHERE client = '$C2' AND topic_id = 'KB9'")" = "9|9" ]
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C2'")" = 6 ]
}

@test "a serial of 2^53-1 or beyond the window is refused, logged and counted, and opens no gap" {
	local c3=GUID:33333333-3333-4333-8333-333333333333 c4=GUID:44444444-4444-4444-8444-444444444444
	# next expected 2 after serial 1: 2 + 10000000 is the last in the window
	batch "$C1" "$(msg 1 500 KB1 1)" "$(msg 9007199254740991 500 KB2 6)" "$(msg 10000003 500 KB3 6)"
	# a client first heard of expects 1: 10000001 is in, 10000002 is not
	batch "$c3" "$(msg 10000001 500 KB1 1)"
	batch "$c4" "$(msg 10000002 500 KB1 1)"
	drain
	[ "$(q "SELECT string_agg(serial::text, ',' ORDER BY serial) FROM statemsg_history WHERE client IN ('$C1', '$c4')")" = 1 ]
	[ "$(q "SELECT count(*) FROM client_state WHERE client IN ('$C1', '$c4')")" = 1 ]
	[ "$(q "SELECT next_expected_serial, highest_serial, messages FROM client_message_stats WHERE client = '$C1'")" = "2|1|1" ]
	[ "$(q "SELECT count(*) FROM client_message_stats WHERE client = '$c4'")" = 0 ]
	[ "$(q "SELECT count(*) FROM client_missing_range WHERE client IN ('$C1', '$c4')")" = 0 ]
	[ "$(q "SELECT next_expected_serial FROM client_message_stats WHERE client = '$c3'")" = 10000002 ]
	grep -q "refused 2 state messages of $C1: serial 10000003 is more than serial_window (10000000) beyond the next expected serial 2" "$SITE_DIR/statesys.log"
	grep -q "refused 1 state message of $c4: serial 10000002 is more than serial_window (10000000) beyond the next expected serial 1" "$SITE_DIR/statesys.log"
	"$SITECTL" status | grep -q "sitesys-statesys .*, 3 refused"
	[ "$(backlog_of statsys.box)" = 0 ]
	[ -z "$(ls "$SITE_DIR/inbox/statsys.box/corrupt")" ]
	# the client goes on from where it is, no gap behind it
	batch "$C1" "$(msg 2 500 KB2 2)"
	drain
	[ "$(q "SELECT next_expected_serial, highest_serial, messages FROM client_message_stats WHERE client = '$C1'")" = "3|2|2" ]
	[ "$(q "SELECT count(*) FROM client_missing_range WHERE client = '$C1'")" = 0 ]
}

@test "[statesys] serial_window and future_minutes are settings" {
	local soon
	cp "$SITESYS_CONF" "$SITESYS_CONF.orig" # teardown puts it back
	printf '[statesys]\nserial_window = 1000\nfuture_minutes = 1\n' >>"$SITESYS_CONF"
	soon=$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)
	batch "$C1" "$(msg 1 500 KB1 1)" "$(msg 1003 500 KB3 3)"
	drain
	grep -q "refused 1 state message of $C1: serial 1003 is more than serial_window (1000) beyond the next expected serial 2" "$SITE_DIR/statesys.log"
	batch "$C1" "$(msg 1002 500 KB2 2 "$soon")"
	drain
	grep -q "1 state message dated more than 1 minutes ahead kept in history only: $C1 serial 1002" "$SITE_DIR/statesys.log"
	[ "$(q "SELECT string_agg(serial::text, ',' ORDER BY serial) FROM statemsg_history WHERE client = '$C1'")" = "1,1002" ]
	[ "$(q "SELECT count(*) FROM client_state WHERE client = '$C1'")" = 1 ]
	[ "$(q "SELECT first_serial, last_serial FROM client_missing_range WHERE client = '$C1'")" = "2|1001" ]
}


@test "an old gap leads to a resync request; 700/2 completes it; the seed's queries see it" {
	c1_in_order
	c1_gap
	c1_late
	c2_late_older # no gap: not asked
	resync_issued "$C1"
	grep -q "resync requested from $C1" "$SITE_DIR/statesys.log"
	[ "$(q "select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and (LastResyncIssuedTime > LastResyncClientCompletedTime)")" = 0 ]
	[ "$(q "select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and LastResyncClientCompletedTime is null")" = 1 ]
	[ "$(q "SELECT last_resync_issued_time IS NOT NULL FROM client_message_stats WHERE client = '$C2'")" = f ]
	c1_resync_answer
	[ "$(q "SELECT count(*) FROM client_missing_range WHERE client = '$C1'")" = 0 ]
	[ "$(q "SELECT last_resync_client_completed_time >= last_resync_issued_time FROM client_message_stats WHERE client = '$C1'")" = t ]
	[ "$(q "select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and (LastResyncIssuedTime > LastResyncClientCompletedTime)")" = 0 ]
	[ "$(q "select count(*) from SR_ClientMessageStats where LastResyncIssuedTime is not null and LastResyncClientCompletedTime is null")" = 0 ]
}

@test "a request not completed in 3 days is issued again, and not before" {
	c2_late_older
	batch "$C2" "$(msg 9 500 KB9 3 2026-11-22T13:00:00Z)"
	drain
	q "UPDATE client_missing_range SET detected = now() - interval '2 hours' WHERE client = '$C2'"
	q "UPDATE client_message_stats SET last_resync_issued_time = now() - interval '2 days' WHERE client = '$C2'"
	drain
	[ "$(q "SELECT last_resync_issued_time < now() - interval '1 day' FROM client_message_stats WHERE client = '$C2'")" = t ]
	q "UPDATE client_message_stats SET last_resync_issued_time = now() - interval '4 days' WHERE client = '$C2'"
	start_statesys
	wait_for 20 grep -q "resync requested from $C2" "$SITE_DIR/statesys.log"
	stop_statesys
	[ "$(q "SELECT last_resync_issued_time > now() - interval '1 hour' FROM client_message_stats WHERE client = '$C2'")" = t ]
}

@test "a bad file goes to corrupt/ with its reason and the rest of the batch is loaded" {
	batch "$C2" "$(msg 20 500 KB20 1)"
	printf '{"format":"sitesys.statemsg/1","client":"GUID:nope","messages":[]}' \
		>"$SITE_DIR/inbox/statsys.box/incoming/badguid.smx"
	batch "$C2" '{"serial":21,"time":"yesterday","topic":{"type":1,"id":"x"},"state":{"id":1}}'
	batch "$C2" "$(msg 22 500 KB22 1)"
	drain
	grep -q 'reason: member "client" is not "GUID:" and a UUID' "$SITE_DIR/inbox/statsys.box/corrupt/badguid.smx.why"
	grep -q 'reason: messages\[0\]: member "time" is not an RFC 3339 UTC time' "$SITE_DIR"/inbox/statsys.box/corrupt/*.vm.*.why ||
		grep -q 'reason: messages\[0\]: member "time" is not an RFC 3339 UTC time' "$SITE_DIR"/inbox/statsys.box/corrupt/*.why
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C2' AND serial IN (20, 22)")" = 2 ]
}

@test "status shows statesys's rate" {
	start_statesys
	wait_for 10 bash -c "'$SITECTL' status | grep -q 'sitesys-statesys .* running'"
	stop_statesys
	"$SITECTL" status --json | jq_true '.components[] | select(.name=="sitesys-statesys") | .detail | test("messages/s")'
}

@test "a client whose tracking was deleted by hand still gets its state updated" {
	local c=GUID:66666666-6666-4666-8666-666666666666 corrupt
	corrupt=$(ls "$SITE_DIR/inbox/statsys.box/corrupt" | wc -l)
	batch "$c" "$(msg 1 500 KB1 1 2026-11-22T10:00:00Z)"
	drain
	q "DELETE FROM client_message_stats WHERE client = '$c'"
	# KB1 exists, unknown to statesys; KB2 is new, and must not be lost
	batch "$c" "$(msg 2 500 KB1 3 2026-11-22T11:00:00Z)" "$(msg 3 500 KB2 1 2026-11-22T11:00:00Z)"
	drain
	grep -q "rows thought new exist already" "$SITE_DIR/statesys.log"
	[ "$(q "SELECT string_agg(topic_id || '=' || state_id, ' ' ORDER BY topic_id) FROM client_state WHERE client = '$c'")" = "KB1=3 KB2=1" ]
	[ "$(backlog_of statsys.box)" = 0 ]
	[ "$(ls "$SITE_DIR/inbox/statsys.box/corrupt" | wc -l)" = "$corrupt" ]
}

# put_batches CLIENT N: N files of two messages each, serials 1 to 2N
put_batches() {
	local i
	for i in $(seq 1 "$2"); do
		batch "$1" "$(msg $((2 * i - 1)) 500 T$((i % 7)) 1)" "$(msg $((2 * i)) 500 U 1)"
	done
}

# applied_once CLIENT N: the messages 1 to N were each applied once
applied_once() {
	local got
	got=$(q "SELECT count(*), count(DISTINCT serial), min(serial), max(serial) FROM statemsg_history WHERE client = '$1'")
	[ "$got" = "$2|$2|1|$2" ] || { echo "$1: count, distinct, min, max: $got"; return 1; }
	got=$(q "SELECT messages, duplicates FROM client_message_stats WHERE client = '$1'")
	[ "$got" = "$2|0" ] || { echo "$1: messages, duplicates: $got"; return 1; }
}

# crash_statesys POINT: run statesys until it kills itself at POINT (crash
# points of util/crash.h), within 30 s
crash_statesys() {
	SITESYS_CRASH_AT=$1 run timeout 30 "$STATESYS" -f
	[ "$status" -eq 137 ] || { echo "no crash at $1 ($status)"; return 1; }
}

# 6 files make two batches (of 4, then 2): each step at its 1st and 2nd
# pass; then, with a corrupt file among them, between its .why and its move
@test "killed at every step of a batch, each message is applied exactly once" {
	local n=0 point nth c
	for point in batch.listed batch.parsed batch.begun batch.processed \
		batch.recorded batch.committed batch.unlinked_one batch.unlinked \
		reject.why; do
		for nth in 1 2; do
			[ "$point:$nth" != reject.why:2 ] || continue
			n=$((n + 1))
			c=$(printf 'GUID:33333333-3333-4333-8333-%012d' $n)
			put_batches "$c" 6
			[ "$point" != reject.why ] ||
				printf '{"format":"sitesys.statemsg/1","client":"GUID:nope","messages":[]}' \
					>"$SITE_DIR/inbox/statsys.box/incoming/bad.smx"
			crash_statesys "$point:$nth"
			drain
			applied_once "$c" 12 || { echo "after a crash at $point:$nth"; false; }
			# a repeat is removed, not set aside
			[ -z "$(ls "$SITE_DIR/inbox/statsys.box/corrupt" | grep -v '^bad\.smx')" ] ||
				{ echo "$point:$nth: a file went to corrupt/"; false; }
		done
	done
	[ "$(ls "$SITE_DIR/inbox/statsys.box/corrupt")" = "$(printf 'bad.smx\nbad.smx.why')" ]
}

@test "kill -9 at random moments: each message is applied exactly once" {
	local c=GUID:33333333-3333-4333-8333-333333333333 seed=${SEED:-$RANDOM} round rc delay
	RANDOM=$seed
	echo "# seed $seed (SEED=$seed replays these kills)" >&3
	put_batches "$c" 150
	for round in 1 2 3 4 5 6 7 8; do
		# killed by timeout after a random 1 to 599 ms (0 would be never)
		printf -v delay '0.%03d' $((1 + RANDOM % 599))
		timeout -s KILL "$delay" \
			"$STATESYS" -f 2>>"$SITE_DIR/statesys.log" && rc=0 || rc=$?
		[ "$rc" = 137 ] || { echo "round $round: statesys exited $rc"; false; }
	done
	drain
	applied_once "$c" 300
}

@test "sitectl client list|show and report show what statesys recorded" {
	# C1 resynchronized and complete; C2 asked to resynchronize, no answer
	c1_in_order
	c1_gap
	c1_late
	resync_issued "$C1"
	c1_resync_answer
	c2_late_older
	batch "$C2" "$(msg 9 500 KB9 3 2026-11-22T13:00:00Z)"
	drain
	resync_issued "$C2"
	stop_statesys
	run "$SITECTL" client list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r ".[] | select(.client==\"$C2\") | .resync")" = outstanding ]
	[ "$(echo "$output" | jq -r ".[] | select(.client==\"$C1\") | .next_expected_serial")" = 11 ]
	run "$SITECTL" client show "$C1" --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.serials[0].highest_serial')" = 10 ]
	[ "$(echo "$output" | jq -r '.states[] | select(.topic_id=="KB3") | .state_id')" = 2 ]
	[ "$(echo "$output" | jq -r '.missing_ranges | length')" = 0 ]
	run "$SITECTL" client show "$C2"
	[[ "$output" == *"missing_ranges:"*"first_serial="* ]]
	run "$SITECTL" client show GUID:99999999-9999-4999-8999-999999999999
	[ "$status" -eq 1 ]
	[[ "$output" == *"no client GUID:99999999-9999-4999-8999-999999999999 is known"* ]]
	run "$SITECTL" client show bogus
	[ "$status" -eq 2 ]
	run "$SITECTL" report resync-outstanding --json
	[ "$(echo "$output" | jq .issued_never_completed)" = 1 ]
	[ "$(echo "$output" | jq .issued_after_last_completion)" = 0 ]
	run "$SITECTL" report state --topic-type 500 --topic-id KB3
	[ "$status" -eq 0 ]
	[[ "$output" =~ KB3\ +2\ required\ +1 ]]
	run "$SITECTL" report state --topic-type 500 --json
	[ "$(echo "$output" | jq '[.[] | .clients] | add')" -ge 5 ]
	run "$SITECTL" report state --topic-type x
	[ "$status" -eq 2 ]
}
