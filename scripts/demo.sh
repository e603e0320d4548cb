#!/bin/bash
# demo.sh start|stop - a private sitesys site under ./run/: its own
# PostgreSQL cluster, nginx on a loopback port, the inboxes; then the flows
# that work today, shown on the terminal.
set -eu
cd "$(dirname "$0")/.."
TOP=$PWD
BUILD=${BUILD:-build}
SITECTL=$TOP/$BUILD/sitectl
. tests/lib/site.bash

# PostgreSQL (as postgres) and nginx's workers (as sitesys) must reach the
# run directory; a checkout under /root is out of their reach, so the site
# then lives in /var/tmp and ./run points there.
run_dir() {
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$TOP"; then
		echo /var/tmp/sitesys-demo
	else
		echo "$TOP/run"
	fi
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
	printf '$'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

stop() {
	local dir
	dir=$(run_dir)
	[ -d "$dir" ] || { echo "demo: not running"; return 0; }
	site_nginx_stop "$dir"
	site_pg_stop "$dir"
	echo "demo: stopped (its files stay in $dir until the next make demo)"
}

start() {
	local dir
	dir=$(run_dir)
	[ ! -d "$dir" ] || stop >/dev/null
	rm -rf "$dir" "$TOP/run"
	mkdir -p "$dir"
	[ "$dir" = "$TOP/run" ] || ln -s "$dir" "$TOP/run"

	step "a private site under ./run/"
	site_pg_start "$dir"
	echo "PostgreSQL: database sitesys on unix socket $dir/pgsock, port $SITE_PGPORT"
	site_nginx_start "$dir"
	echo "nginx:      http://127.0.0.1:$SITE_HTTP_PORT/ (inbox PUT for remote roles)"
	site_conf "$dir"
	cd "$dir"
	echo "config:     $SITESYS_CONF"

	step "the site database migrates itself"
	show "$SITECTL" db init
	show "$SITECTL" db status

	step "a site, and its default boundary group"
	show "$SITECTL" site add DEM --name "Demo primary site"
	show "$SITECTL" site list

	step "the site server's inboxes"
	show "$SITECTL" inbox init

	step "an administrator drops a state message batch into statsys.box"
	cat >batch.smx <<-JSON
		{"format": "sitesys.statemsg/1",
		 "client": "GUID:4f1c2a7e-9a8b-4c3d-8e2f-0a1b2c3d4e5f",
		 "messages": [{"serial": 1, "time": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
		   "topic": {"type": 500, "id": "KB5031356", "id_type": 0},
		   "state": {"id": 2, "criticality": 0}}]}
	JSON
	show "$SITECTL" inbox put statsys.box batch.smx

	step "a management point on another host hands in a file through nginx"
	local name
	name=$(date +%s%6N).mp01.4242.0.smx
	show curl -sS -o /dev/null -w 'HTTP %{http_code}\n' -X PUT \
		--data-binary @batch.smx \
		"http://127.0.0.1:$SITE_HTTP_PORT/inbox/statsys.box/$name"

	step "one that is not JSON is refused before it reaches the inbox"
	echo "garbage" >garbage.smx
	show "$SITECTL" inbox put statsys.box garbage.smx || true

	step "sitectl status sees the backlog (no state message processor yet)"
	show "$SITECTL" status

	cat <<-EOF

		The site keeps running. Look around:
		  export SITESYS_CONF=$SITESYS_CONF
		  $BUILD/sitectl status --json
		  psql -h $dir/pgsock -p $SITE_PGPORT -U postgres sitesys
		make demo-stop ends it.
	EOF
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
