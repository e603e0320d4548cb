#!/usr/bin/env bats
# The state message history by day of receipt (schema 009): partitions
# made ahead, retention that drops whole days, a missing partition that
# never stops the load. The day is the database's (UTC): the clock is moved
# by giving the partition functions another day, and by placing rows and
# partitions 100 days in the past before sitesys-statesys looks at them.

load helpers

C1=GUID:11111111-1111-4111-8111-111111111111

setup_file() {
	site_setup_file
	"$SITECTL" db init >/dev/null
	partitions >"$SITE_DIR/partitions.after-init"
	"$SITECTL" inbox init >/dev/null
	sed -i 's/^\[inbox\]$/[inbox]\nrescan_seconds = 1/' "$SITESYS_CONF"
	printf '[statesys]\nhistory_days = 90\n' >>"$SITESYS_CONF"
}
teardown_file() { site_teardown_file; }
setup() {
	q "TRUNCATE statemsg_history, client_state, client_message_stats, client_missing_range, inbox_ledger"
	q "SELECT statemsg_history_prepare($TODAY, 3)" >/dev/null
}
teardown() {
	[ -z "${SS_PID:-}" ] || { kill -TERM "$SS_PID" 2>/dev/null; wait "$SS_PID" 2>/dev/null; } || true
	site_teardown
}

q() { psql_site -c "$1"; }
TODAY="(now() AT TIME ZONE 'UTC')::date"
# day N: the name of the partition of today + N days (UTC)
day() { q "SELECT 'statemsg_history_' || to_char($TODAY + $1, 'YYYYMMDD')"; }
partitions() {
	q "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'statemsg_history'::regclass"
}
# where SERIAL: the partition that holds C1's message SERIAL
where() { q "SELECT tableoid::regclass FROM statemsg_history WHERE client = '$C1' AND serial = $1"; }

# one_message SERIAL: a batch of C1's message SERIAL into statsys.box
one_message() {
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":%s,"time":"2026-11-22T10:00:00Z","topic":{"type":500,"id":"KB%s","id_type":0},"state":{"id":2,"criticality":0}}]}\n' \
		"$C1" "$1" "$1" >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put statsys.box "$SITE_DIR/batch.smx" >/dev/null
}
backlog_zero() { [ "$(backlog_of statsys.box)" = 0 ]; }
logged() { grep -q -- "$1" "$SITE_DIR/statesys.log"; }

@test "db init makes today's partition and the next three days'; a message lands in its day" {
	local p
	p=$(cat "$SITE_DIR/partitions.after-init")
	for n in 0 1 2 3; do
		[[ " $p " == *" $(day $n) "* ]] || { echo "no $(day $n) in: $p"; false; }
	done
	[[ " $p " == *" statemsg_history_default "* ]]
	one_message 1
	start_statesys
	wait_for 20 backlog_zero
	stop_statesys
	[ "$(where 1)" = "$(day 0)" ]
}

@test "with the clock moved, a day is dropped whole only once it is more than history_days old" {
	one_message 1
	start_statesys
	wait_for 20 backlog_zero
	stop_statesys
	# 90 days on, today's messages are 90 days old: kept
	[ -z "$(q "SELECT part FROM statemsg_history_expire($TODAY + 90, 90)")" ]
	[ "$(where 1)" = "$(day 0)" ]
	# a day later they are older than 90 days: the whole day goes
	[ "$(q "SELECT part FROM statemsg_history_expire($TODAY + 91, 90)")" = "$(day 0)" ]
	[ -z "$(where 1)" ]
	[[ " $(partitions) " != *" $(day 0) "* ]]
}

@test "statesys drops the days older than history_days and deletes as old rows of the default partition" {
	# 100 days ago statesys made that day's partitions; rows came on day
	# -100 (its partition), -95 and -89 (none: the default partition)
	q "SELECT statemsg_history_prepare($TODAY - 100, 3)" >/dev/null
	for d in 100 95 89; do
		q "INSERT INTO statemsg_history (client, serial, msg_time, topic_type, topic_id, topic_id_type, state_id, criticality, received)
			VALUES ('$C1', $d, now(), 500, 'KB', 0, 2, 0, now() - make_interval(days => $d))"
	done
	[ "$(where 100)" = "$(day -100)" ]
	[ "$(where 95)" = statemsg_history_default ]
	start_statesys
	wait_for 20 logged "expired statemsg_history_default"
	stop_statesys
	for n in -100 -99 -98 -97; do
		logged "expired $(day $n): about [0-9]* state messages received more than 90 days ago"
		[[ " $(partitions) " != *" $(day $n) "* ]]
	done
	logged "expired statemsg_history_default: 1 state messages"
	[ -z "$(where 100)" ]
	[ -z "$(where 95)" ]
	[ "$(where 89)" = statemsg_history_default ]
	[[ " $(partitions) " == *" $(day 0) "* ]]
}

@test "a missing partition never stops the load; made later, it takes its day's rows" {
	start_statesys
	wait_for 20 logged "connected to database"
	q "DROP TABLE $(day 0)"
	one_message 1
	wait_for 20 backlog_zero
	stop_statesys
	[ "$(where 1)" = statemsg_history_default ]
	start_statesys
	wait_for 20 logged "made partition $(day 0) of the state message history"
	stop_statesys
	[ "$(where 1)" = "$(day 0)" ]
	[ "$(q "SELECT count(*) FROM statemsg_history WHERE client = '$C1'")" = 1 ]
}

@test "one clock: a resync's completion and a gap's detection are the database's time of the batch" {
	# serial 1, then 3 (a gap: 2), then a completion (700/2): each in a
	# batch of its own, stamped with its transaction's now()
	one_message 1
	start_statesys
	wait_for 20 backlog_zero
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":3,"time":"2020-01-01T00:00:00Z","topic":{"type":500,"id":"KB3","id_type":0},"state":{"id":2,"criticality":0}}]}\n' \
		"$C1" >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put statsys.box "$SITE_DIR/batch.smx" >/dev/null
	wait_for 20 backlog_zero
	[ "$(q "SELECT r.detected = h.received FROM client_missing_range r
		JOIN statemsg_history h USING (client) WHERE h.serial = 3")" = t ]
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":4,"time":"2020-01-01T00:00:00Z","topic":{"type":700,"id":"resync","id_type":0},"state":{"id":2,"criticality":0}}]}\n' \
		"$C1" >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put statsys.box "$SITE_DIR/batch.smx" >/dev/null
	wait_for 20 backlog_zero
	stop_statesys
	# the client's own (far off) clock is recorded, never compared
	[ "$(q "SELECT s.last_resync_client_completed_time = h.received
		FROM client_message_stats s JOIN statemsg_history h USING (client)
		WHERE s.client = '$C1' AND h.serial = 4")" = t ]
	[ "$(q "SELECT count(*) FROM client_missing_range")" = 0 ]
}

@test "the history and the current state keep every member as sent" {
	printf '%s\n' '{"format":"sitesys.statemsg/1","client":"'"$C1"'","messages":[
		{"serial":1,"time":"2026-11-22T10:00:00.123456Z","topic":{"type":500,"id":"KB\tü","id_type":7},"state":{"id":3,"criticality":2},"details":"line 1\nline\\2 ü","params":["a","\u00fc",""]},
		{"serial":2,"time":"2026-11-22T10:00:01Z","topic":{"type":401,"id":"x"},"state":{"id":1},"params":[]}]}' >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put statsys.box "$SITE_DIR/batch.smx" >/dev/null
	start_statesys
	wait_for 20 backlog_zero
	stop_statesys
	[ "$(q "SELECT to_char(msg_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '|' || topic_type || '|' || topic_id || '|' ||
		topic_id_type || '|' || state_id || '|' || criticality || '|' || details || '|' || array_to_json(params)
		FROM statemsg_history WHERE serial = 1")" = "$(printf '2026-11-22 10:00:00.123456|500|KB\tü|7|3|2|line 1\nline\\2 ü|["a","ü",""]')" ]
	[ "$(q "SELECT coalesce(details, 'NULL') || '|' || (array_length(params, 1) IS NULL) || '|' || cardinality(params) FROM statemsg_history WHERE serial = 2")" = 'NULL|true|0' ]
	[ "$(q "SELECT topic_id || '|' || state_id || '|' || criticality || '|' || serial || '|' || to_char(msg_time AT TIME ZONE 'UTC', 'SS.US')
		FROM client_state WHERE topic_type = 500")" = "$(printf 'KB\tü|3|2|1|00.123456')" ]
}

@test "sitectl report history shows each day's partition, its messages and size, then the default" {
	one_message 1
	start_statesys
	wait_for 20 backlog_zero
	stop_statesys
	run "$SITECTL" report history --exact
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "DAY              MESSAGES       SIZE  PARTITION" ]
	[[ "${lines[1]}" == *" 1 "*" $(day 0)" ]]
	[[ "${lines[1]}" == "$(q "SELECT to_char($TODAY, 'YYYY-MM-DD')") "*" $(day 0)" ]]
	[[ "${lines[-1]}" == "default "*" statemsg_history_default" ]]
	# the statistics count today's message once they have it
	wait_for 10 bash -c "'$SITECTL' report history --json | jq -e '.[0].messages == 1 and .[0].day == \"$(q "SELECT to_char($TODAY, 'YYYY-MM-DD')")\"' >/dev/null"
	run "$SITECTL" report state --exact --topic-type 500
	[ "$status" -eq 2 ]
	"$SITECTL" report history --json | jq -e "length == $(partitions | wc -w) and .[-1].day == \"default\" and (.[0].bytes | type) == \"number\"" >/dev/null
}

@test "db upgrade of a version-8 site keeps every message: the old history becomes today's partition" {
	local conf=$SITE_DIR/upgrade.conf f n=0
	psql_site -c "CREATE DATABASE upgrade"
	for f in schema/00[1-8]_*.sql; do
		n=$((n + 1))
		psql -X -q -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d upgrade -v ON_ERROR_STOP=1 -f "$f" >/dev/null
		psql -X -q -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d upgrade -c "SET client_min_messages = warning" -c \
			"CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now());
			 INSERT INTO schema_version (version, name) VALUES ($n, '$(basename "$f" .sql | cut -c5-)')"
	done
	[ "$n" = 8 ]
	# messages received 40 days, a day and a moment ago
	psql -X -q -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d upgrade -c \
		"INSERT INTO statemsg_history (client, serial, msg_time, topic_type, topic_id, topic_id_type, state_id, criticality, received)
		 SELECT '$C1', d, now(), 500, 'KB', 0, 2, 0, now() - make_interval(days => d) FROM unnest(ARRAY[40, 1, 0]) AS d;
		 INSERT INTO client_message_stats (client, next_expected_serial, highest_serial) VALUES ('$C1', 41, 40)"
	sed "s/dbname=sitesys/dbname=upgrade/" "$SITESYS_CONF" >"$conf"
	run "$SITECTL" -c "$conf" db upgrade
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "schema is now at version $(ls schema/0*.sql | wc -l)" ] || { echo "$output"; false; }
	uq() { psql -X -q -A -t -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d upgrade -c "$1"; }
	[ "$(uq "SELECT string_agg(serial || '@' || tableoid::regclass, ' ' ORDER BY serial) FROM statemsg_history")" = \
		"0@$(day 0) 1@$(day 0) 40@$(day 0)" ]
	[ "$(uq "SELECT count(*) FROM pg_inherits WHERE inhparent = 'statemsg_history'::regclass")" = 5 ]
	[ "$(uq "SELECT clientid FROM sr_clientmessagestats")" = "$C1" ]
	# a message received tomorrow has its own partition; today's whole
	# partition goes once today is more than history_days old
	[ "$(uq "SELECT count(*) FROM statemsg_history_expire($TODAY + 90, 90)")" = 0 ]
	[ "$(uq "SELECT part FROM statemsg_history_expire($TODAY + 91, 90)")" = "$(day 0)" ]
	[ "$(uq "SELECT count(*) FROM statemsg_history")" = 0 ]
	psql_site -c "DROP DATABASE upgrade"
}
