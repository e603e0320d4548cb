#!/usr/bin/env bats
# Least privilege in PostgreSQL: sitectl db init makes a role per program
# with only the grants it needs and a password in [database] passfile; the
# cluster trusts no one; a daemon refuses to work as a superuser.

load helpers

setup_file() {
	site_setup_file
	"$SITECTL" db init >"$SITE_DIR/init.out"
	"$SITECTL" site add PS1 --name "Primary site" >/dev/null
}
teardown_file() { site_teardown_file; }
teardown() {
	[ -z "${DAEMON_PID:-}" ] || { kill -TERM "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; } || true
	site_teardown
}

PASSFILE_ROLES="sitesys_console sitesys_mp sitesys_notifyd sitesys_notifymgr sitesys_statesys"
GUID=GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff

# psql_as ROLE [PASSFILE] ARGS...: psql as psql_site runs it, as ROLE, with
# the password from PASSFILE ($SITE_DIR/pgpass unless given)
psql_as() {
	local role=$1 passfile=$SITE_DIR/pgpass
	shift
	case "${1:-}" in /*) passfile=$1; shift ;; esac
	psql -X -q -A -t -v ON_ERROR_STOP=1 \
		"host=$SITE_PGHOST port=$SITE_PGPORT dbname=sitesys user=$role passfile=$passfile" "$@"
}

# denied ROLE TABLE SQL: ROLE may not run SQL, refused on TABLE
denied() {
	run psql_as "$1" -c "$3"
	[ "$status" -ne 0 ] || { echo "$1 may: $3"; return 1; }
	[[ "$output" == *"permission denied for table $2"* ]] ||
		{ echo "$1: $3: $output"; return 1; }
}

# allowed ROLE SQL: ROLE may run SQL (in a transaction rolled back)
allowed() {
	run psql_as "$1" -c "BEGIN" -c "$2" -c "ROLLBACK"
	[ "$status" -eq 0 ] || { echo "$1 may not: $2: $output"; return 1; }
}

@test "db init makes a role per program, each with its password in a 0600 passfile" {
	grep -qx "roles $(echo $PASSFILE_ROLES | sed 's/ /, /g'): passwords in $SITE_DIR/pgpass (5 new)" "$SITE_DIR/init.out"
	[ "$(stat -c %a "$SITE_DIR/pgpass")" = 600 ]
	local owner=$(id -un)
	[ "$owner" != root ] || owner=sitesys
	[ "$(stat -c %U "$SITE_DIR/pgpass")" = "$owner" ]
	for role in $PASSFILE_ROLES; do
		grep -q "^\*:\*:\*:$role:[0-9a-f]\{32\}$" "$SITE_DIR/pgpass"
		[ "$(psql_as "$role" -c 'SELECT current_user')" = "$role" ]
	done
	# no program's role may do more than log in
	[ "$(psql_site -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'sitesys\_%'
		AND NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication
		OR rolbypassrls)")" = 5 ]
	# the server keeps SCRAM verifiers
	[ "$(psql_site -c "SELECT count(*) FROM pg_authid WHERE rolname LIKE 'sitesys\_%'
		AND rolpassword LIKE 'SCRAM-SHA-256\$%'")" = 5 ]
}

@test "db init again keeps the passwords and the other lines of the file, and restores one changed" {
	local before pw
	echo 'db.example.org:5432:other:someone:s3cret' >>"$SITE_DIR/pgpass"
	before=$(cat "$SITE_DIR/pgpass")
	psql_site -c "ALTER ROLE sitesys_mp PASSWORD 'changed behind its back'"
	run psql_as sitesys_mp -c 'SELECT 1'
	[ "$status" -ne 0 ]
	run "$SITECTL" db init
	[ "$status" -eq 0 ]
	[[ "$output" == *"passwords in $SITE_DIR/pgpass (0 new)"* ]]
	[ "$(cat "$SITE_DIR/pgpass")" = "$before" ]
	[ "$(stat -c %a "$SITE_DIR/pgpass")" = 600 ]
	[ "$(psql_as sitesys_mp -c 'SELECT current_user')" = sitesys_mp ]
	# a role the file lacks gets a new password there, upgrade does it
	# too, and the server, logging every statement, never sees it in clear
	sed -i '/:sitesys_statesys:/d' "$SITE_DIR/pgpass"
	psql_site -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()"
	run "$SITECTL" db upgrade
	psql_site -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()"
	[ "$status" -eq 0 ]
	[[ "$output" == *"passwords in $SITE_DIR/pgpass (1 new)"* ]]
	[ "$(psql_as sitesys_statesys -c 'SELECT current_user')" = sitesys_statesys ]
	grep -qx 'db.example.org:5432:other:someone:s3cret' "$SITE_DIR/pgpass"
	pw=$(sed -n 's/^\*:\*:\*:sitesys_statesys://p' "$SITE_DIR/pgpass")
	[ ${#pw} = 32 ]
	grep -q "ALTER ROLE \"sitesys_statesys\" PASSWORD 'SCRAM-SHA-256\\$" "$SITE_DIR/pg/server.log"
	! grep -q "$pw" "$SITE_DIR/pg/server.log" || false
}

@test "a role without its password is refused: the cluster trusts no one" {
	run psql_as sitesys_console "$SITE_DIR/no-such-passfile" -c 'SELECT 1'
	[ "$status" -ne 0 ]
	[[ "$output" == *"no password supplied"* ]]
	PGPASSWORD=wrong run psql_as sitesys_console "$SITE_DIR/no-such-passfile" -c 'SELECT 1'
	[ "$status" -ne 0 ]
	[[ "$output" == *'password authentication failed for user "sitesys_console"'* ]]
	# the superuser only through the map of peer authentication
	if [ "$(id -u)" = 0 ]; then
		run runuser -u sitesys -- psql -X -h "$SITE_PGHOST" -p "$SITE_PGPORT" \
			-U postgres -d sitesys -c 'SELECT 1'
		[ "$status" -ne 0 ]
		[[ "$output" == *'Peer authentication failed for user "postgres"'* ]]
	fi
	! grep -q trust "$SITE_DIR/pg/data/pg_hba.conf" || false
}

@test "the MP's role cannot write what clients report, nor change the model" {
	allowed sitesys_mp "INSERT INTO client (guid, name) VALUES ('$GUID', 'pc1')
		ON CONFLICT (guid) DO UPDATE SET name = EXCLUDED.name, last_seen = now()"
	allowed sitesys_mp "SELECT count(*) FROM boundary_group JOIN boundary_group_member m ON m.group_id = id"
	allowed sitesys_mp "SELECT * FROM client_message_stats"
	denied sitesys_mp client_state "INSERT INTO client_state VALUES ('$GUID', 500, 'KB1', 2, 0, now(), 1)"
	denied sitesys_mp client_state "UPDATE client_state SET state_id = 3"
	denied sitesys_mp statemsg_history "DELETE FROM statemsg_history"
	denied sitesys_mp client_message_stats "UPDATE client_message_stats SET messages = 0"
	denied sitesys_mp boundary "INSERT INTO boundary (name, type, match_text) VALUES ('x', 'adsite', 'X')"
	denied sitesys_mp boundary_group "UPDATE boundary_group SET site_code = NULL"
	denied sitesys_mp client "UPDATE client SET blocked = false"
}

@test "statesys's role cannot change boundaries, boundary groups or a client's identity" {
	psql_site -c "INSERT INTO client (guid) VALUES ('$GUID') ON CONFLICT DO NOTHING"
	allowed sitesys_statesys "INSERT INTO client_state VALUES ('$GUID', 500, 'KB1', 2, 0, now(), 1)"
	allowed sitesys_statesys "UPDATE client SET forged_batches = forged_batches + 1, last_forged = now() WHERE guid = '$GUID'"
	denied sitesys_statesys boundary "INSERT INTO boundary (name, type, match_text) VALUES ('x', 'adsite', 'X')"
	denied sitesys_statesys boundary "DELETE FROM boundary"
	denied sitesys_statesys boundary_group "INSERT INTO boundary_group (name) VALUES ('BG_X')"
	denied sitesys_statesys boundary_group "UPDATE boundary_group SET description = 'x'"
	denied sitesys_statesys boundary_group_link "DELETE FROM boundary_group_link"
	denied sitesys_statesys hierarchy_setting "UPDATE hierarchy_setting SET prefer_bg_mps = true"
	denied sitesys_statesys client "UPDATE client SET approved = true"
	denied sitesys_statesys client "UPDATE client SET fingerprint = NULL, certificate = NULL"
	denied sitesys_statesys statemsg_history "DELETE FROM statemsg_history"
	# the history's upkeep on the database's own day only, never another
	allowed sitesys_statesys "SELECT statemsg_history_make_ahead()"
	allowed sitesys_statesys "SELECT * FROM statemsg_history_drop_older(90)"
	run psql_as sitesys_statesys -c "SELECT * FROM statemsg_history_drop_older(0)"
	[[ "$output" == *"keep_days must be 1 or more, not 0"* ]]
	run psql_as sitesys_statesys -c "SELECT statemsg_history_expire('infinity', 1)"
	[[ "$output" == *"permission denied for function statemsg_history_expire"* ]]
	run psql_as sitesys_statesys -c "SELECT statemsg_history_prepare(current_date, 1000)"
	[[ "$output" == *"permission denied for function statemsg_history_prepare"* ]]
	run psql_as sitesys_mp -c "SELECT statemsg_history_make_ahead()"
	[[ "$output" == *"permission denied for function statemsg_history_make_ahead"* ]]
}

@test "the console's role changes the model but creates no table and no role" {
	allowed sitesys_console "INSERT INTO boundary_group (name, site_code) VALUES ('BG_T', 'PS1')"
	allowed sitesys_console "UPDATE client SET approved = true, blocked = false"
	run psql_as sitesys_console -c "CREATE TABLE sneaky (x int)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied for schema public"* ]]
	run psql_as sitesys_console -c "CREATE ROLE sneaky LOGIN"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied to create role"* ]]
	denied sitesys_console client_state "DELETE FROM client_state"
	denied sitesys_console component "DELETE FROM component"
	denied sitesys_console schema_version "DELETE FROM schema_version"
	denied sitesys_console client "UPDATE client SET forged_batches = 0"
}

# each table of the schema that no program's role holds any privilege on
ungranted() {
	psql_site -c "SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'p') AND NOT c.relispartition
		AND NOT EXISTS (SELECT 1 FROM unnest(ARRAY['sitesys_mp',
			'sitesys_statesys', 'sitesys_console']) AS r (name)
			WHERE has_table_privilege(r.name, c.oid,
				'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
			OR has_any_column_privilege(r.name, c.oid, 'SELECT, INSERT, UPDATE'))
		ORDER BY 1"
}

@test "every table is some program's; a table made later is no one's until schema/roles.sql names it" {
	# a migration that adds a table without its grants fails here
	[ "$(ungranted)" = schema_version ]
	psql_site -c "CREATE TABLE made_later (x int); GRANT SELECT ON made_later TO sitesys_console"
	"$SITECTL" db upgrade >/dev/null
	[ "$(ungranted | paste -sd' ')" = "made_later schema_version" ]
	psql_site -c "DROP TABLE made_later"
}

# daemon_conf SECTION ROLE PASSWORD: a copy of the config in which SECTION
# connects as ROLE with PASSWORD
daemon_conf() {
	sed "/^\[$1\]\$/,/^\[/ s|^conninfo = .*|conninfo = host=$SITE_PGHOST port=$SITE_PGPORT dbname=sitesys user=$2 password=$3|" \
		"$SITESYS_CONF" >"$SITE_DIR/$1-as-$2.conf"
	printf '[mp]\nfastcgi_socket = %s/mp.sock\nthreads = 2\n' "$SITE_DIR" \
		>>"$SITE_DIR/$1-as-$2.conf"
	echo "$SITE_DIR/$1-as-$2.conf"
}

statsys_empty() { [ "$(backlog_of statsys.box)" = 0 ]; }

# a_batch: a state message batch of one message into statsys.box
a_batch() {
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[{"serial":1,"time":"2026-11-22T10:00:00Z","topic":{"type":500,"id":"KB1","id_type":0},"state":{"id":2,"criticality":0}}]}\n' \
		"$GUID" >"$SITE_DIR/batch.smx"
	"$SITECTL" inbox put statsys "$SITE_DIR/batch.smx" >/dev/null
}

@test "a daemon given a superuser's conninfo refuses to start and says why" {
	local conf why
	psql_site -c "CREATE ROLE test_super LOGIN SUPERUSER PASSWORD 'super'"
	"$SITECTL" inbox init >/dev/null
	a_batch
	conf=$(daemon_conf statesys test_super super)
	run timeout 30 "$BUILD/sitesys-statesys" -f -c "$conf"
	[ "$status" -eq 1 ]
	why='connected to the site database as superuser "test_super"; give [statesys] conninfo a role that sitectl db init made'
	[[ "$output" == *"error: $why"* ]]
	[ "$(echo "$output" | grep -c superuser)" = 1 ]
	[[ "$output" == *"stopped with an error"* ]]
	# it did not run: the batch waits, nothing was reported
	[ "$(backlog_of statsys.box)" = 1 ]
	[ "$(psql_site -c "SELECT count(*) FROM component")" = 0 ]
	conf=$(daemon_conf mp test_super super)
	run timeout 30 "$BUILD/sitesys-mp" -f -c "$conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *'connected to the site database as superuser "test_super"; give [mp] conninfo a role that sitectl db init made'* ]]
	# said once, though its threads each tried to connect
	[ "$(echo "$output" | grep -c superuser)" = 1 ]
	[ "$(psql_site -c "SELECT count(*) FROM component")" = 0 ]
	psql_site -c "DROP ROLE test_super"
	# as its own role, the same daemon loads the batch
	"$BUILD/sitesys-statesys" -f 2>"$SITE_DIR/statesys.log" &
	DAEMON_PID=$!
	wait_for 20 statsys_empty
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	DAEMON_PID=
	[ "$(psql_site -c "SELECT count(*) FROM statemsg_history WHERE client = '$GUID'")" = 1 ]
}
