#!/usr/bin/env bats
# sitectl db, site and config against a real PostgreSQL cluster.

load helpers

setup_file() { site_setup_file; }
teardown_file() { site_teardown_file; }
teardown() { site_teardown; }

# the newest migration in schema/, as sitectl must know it
latest() { ls "$TOP"/schema/[0-9][0-9][0-9]_*.sql | wc -l; }

@test "db status on an empty database says uninitialized and what is pending" {
	run "$SITECTL" db status
	[ "$status" -eq 0 ]
	[[ "$output" == *"state:     uninitialized"* ]]
	[[ "$output" == *"pending:   001_base"* ]]
}

@test "db upgrade refuses an uninitialized database" {
	run "$SITECTL" db upgrade
	[ "$status" -eq 1 ]
	[[ "$output" == *'not initialized: run "sitectl db init"'* ]]
	run psql_site -c "SELECT to_regclass('site') IS NULL"
	[ "$output" = t ]
}

@test "db init applies every migration and is idempotent" {
	run "$SITECTL" db init
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied 001_base"* ]]
	run "$SITECTL" db init
	[ "$status" -eq 0 ]
	[[ "$output" == *"schema is up to date at version $(latest)"* ]]
	run "$SITECTL" db upgrade
	[ "$status" -eq 0 ]
	[ "$(psql_site -c 'SELECT count(*) FROM schema_version')" = "$(latest)" ]
	run "$SITECTL" db status --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .state)" = "up to date" ]
	[ "$(echo "$output" | jq -r .version)" = "$(latest)" ]
}

@test "a database newer than sitectl is refused and left alone" {
	psql_site -c "INSERT INTO schema_version VALUES (999, 'future')"
	run "$SITECTL" db upgrade
	[ "$status" -eq 1 ]
	[[ "$output" == *"schema is at version 999, newer than this sitectl knows ($(latest))"* ]]
	run "$SITECTL" db status
	[ "$status" -eq 1 ]
	[[ "$output" == *"newer than this sitectl"* ]]
	psql_site -c "DELETE FROM schema_version WHERE version = 999"
}

@test "site add makes the site and its default boundary group" {
	run "$SITECTL" site add ps1 --name "Primary site"
	[ "$status" -eq 0 ]
	[[ "$output" == *"added site PS1"* ]]
	run psql_site -c "SELECT name, site_code FROM boundary_group WHERE default_of_site = 'PS1'"
	[ "$output" = "Default-Site-Boundary-Group<PS1>|PS1" ]
	run "$SITECTL" site list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].code')" = PS1 ]
	[ "$(echo "$output" | jq -r '.[0].default_boundary_group')" = 'Default-Site-Boundary-Group<PS1>' ]
	run "$SITECTL" site list
	[[ "$output" == *"PS1   Primary site"* ]]
}

@test "site add refuses a duplicate, a bad code and a reserved code, changing nothing" {
	run "$SITECTL" site add PS1 --name again
	[ "$status" -eq 1 ]
	[[ "$output" == *"site PS1 already exists"* ]]
	for code in AB ABCD 'A-1' 'ÄBC' ''; do
		run "$SITECTL" site add "$code" --name x
		[ "$status" -eq 2 ]
		[[ "$output" == *"a site code is exactly three letters (A-Z) or digits (0-9)"* ]]
	done
	run "$SITECTL" site add con --name x
	[ "$status" -eq 2 ]
	[[ "$output" == *'site code "CON" is reserved'* ]]
	run "$SITECTL" site add XYZ
	[ "$status" -eq 2 ]
	[ "$(psql_site -c 'SELECT count(*) FROM site')" = 1 ]
	[ "$(psql_site -c 'SELECT count(*) FROM boundary_group')" = 1 ]
}

@test "an unreachable database is named in the error, exit 1" {
	mkdir -p "$SITE_DIR/nowhere"
	sed "s|host=$SITE_PGHOST port=$SITE_PGPORT|host=$SITE_DIR/nowhere port=5999|" \
		"$SITESYS_CONF" >"$SITE_DIR/down.conf"
	run "$SITECTL" -c "$SITE_DIR/down.conf" db status
	[ "$status" -eq 1 ]
	[[ "$output" == *"could not connect to database \"sitesys\" as user \"postgres\" at $SITE_DIR/nowhere port 5999"* ]]
}

@test "a bad config file stops sitectl with file:line: reason, exit 2" {
	printf '[site]\ninbox_dir = /x\n[inbox]\nbatch_files = 0\n' >"$SITE_DIR/bad.conf"
	run "$SITECTL" -c "$SITE_DIR/bad.conf" site list
	[ "$status" -eq 2 ]
	[ "$output" = "$SITE_DIR/bad.conf:4: batch_files: 0 is out of range (1..100000)" ]
	printf '[site]\ninbox_dri = /x\n' >"$SITE_DIR/bad.conf"
	SITESYS_CONF=$SITE_DIR/bad.conf run "$SITECTL" status
	[ "$status" -eq 2 ]
	[ "$output" = "$SITE_DIR/bad.conf:2: unknown key \"inbox_dri\" in section [site]" ]
	run "$SITECTL" -c "$SITE_DIR/missing.conf" status
	[ "$status" -eq 2 ]
	[[ "$output" == "$SITE_DIR/missing.conf:0: could not open config file: No such file or directory" ]]
}

@test "config show lists every setting with its value" {
	run "$SITECTL" config show --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .site.inbox_dir)" = "$SITE_DIR/inbox" ]
	[ "$(echo "$output" | jq -r .inbox.batch_files)" = 256 ]
	run "$SITECTL" config check
	[ "$output" = "$SITESYS_CONF: configuration ok" ]
}

@test "usage errors exit 2 and say what is expected" {
	run "$SITECTL" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown command "frobnicate"'* ]]
	run "$SITECTL" db
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: sitectl [-c file] db init|upgrade|status"* ]]
}

@test "LISTEN/NOTIFY: a listener wakes for each notification" {
	"$BUILD/tests/db-listen" model_changed 2 20 >"$SITE_DIR/listen.out" &
	pid=$!
	wait_for 10 grep -q listening "$SITE_DIR/listen.out"
	psql_site -c "NOTIFY model_changed"
	psql_site -c "NOTIFY other_channel"
	psql_site -c "SELECT pg_notify('model_changed', 'x')" >/dev/null
	wait $pid
	[ "$(grep -c 'notified on model_changed' "$SITE_DIR/listen.out")" = 2 ]
	! grep -q other_channel "$SITE_DIR/listen.out" || false
}
