# helpers.bash - loaded by every integration test: one private site (a
# PostgreSQL cluster and nginx) per test file, kept on failure.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
SITECTL=$BUILD/sitectl
DRAIN=$BUILD/tests/inbox-drain
. "$TOP/tests/lib/site.bash"

site_setup_file() {
	SITE_DIR=$(mktemp -d /tmp/sitesys-test.XXXXXX)
	export SITE_DIR
	site_pg_start "$SITE_DIR" || return 1
	site_nginx_start "$SITE_DIR" || return 1
	site_conf "$SITE_DIR"
	export SITE_PGHOST SITE_PGPORT SITE_HTTP_PORT SITE_HTTPS_PORT SITE_CA SITESYS_CONF
}

site_teardown_file() {
	site_nginx_stop "$SITE_DIR"
	site_pg_stop "$SITE_DIR"
	site_keep_or_remove "$SITE_DIR"
}

# site_keep_or_remove DIR: DIR removed, or kept (and said) when a test of
# the file failed (site_teardown marked it)
site_keep_or_remove() {
	if [ -e "$1/.failed" ]; then
		echo "# kept $1 for inspection" >&3
	else
		rm -rf "$1"
	fi
}

# Call from teardown: remember that a test of this file failed.
site_teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || touch "$SITE_DIR/.failed"
}

psql_site() {
	psql -X -q -A -t -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres \
		-d sitesys -v ON_ERROR_STOP=1 "$@"
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_for() {
	local limit=$(($1 * 10)) i=0
	shift
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "timed out after $((limit / 10)) s waiting for: $*" >&2
	return 1
}

backlog_of() {
	"$SITECTL" inbox list --json | jq -r ".[] | select(.name == \"$1\") | .files"
}

# refute COMMAND...: COMMAND fails ("! COMMAND" alone never fails a test:
# errexit ignores it; "! PIPELINE || false" does the same for a pipeline)
refute() {
	if "$@"; then
		echo "unexpectedly true: $*" >&2
		return 1
	fi
}

# jq_true JQ-ARGS...: jq's last output is neither false nor null, and
# there is one ("jq -e" alone succeeds on no input or no match at all)
jq_true() {
	local out
	out=$(jq -c "$@") || return 1
	[ -n "$out" ] || return 1
	out=$(tail -1 <<<"$out")
	[ "$out" != false ] && [ "$out" != null ]
}

# A test document for test.box (format sitesys.test/1).
test_doc() {
	printf '{"format":"sitesys.test/1","body":"%s"}\n' "$1"
}

# stop_pid FILE: TERM the process whose pid FILE holds, and wait for it
stop_pid() {
	local pid
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
	rm -f "$1"
}

# mp_start [THREADS]: sitesys-mp on SITE_DIR/mp.sock, its boundary model
# loaded, behind nginx's /mp/v1/; its pid in mp.pid, its log mp.log
mp_start() {
	printf '[mp]\nfastcgi_socket = %s/mp.sock\nthreads = %s\n' \
		"$SITE_DIR" "${1:-4}" >>"$SITESYS_CONF"
	mp_run
	site_nginx_fcgi "$SITE_DIR" /mp/v1/ "$SITE_DIR/mp.sock"
}

# mp_run: start sitesys-mp again, as mp_start set it up, in this shell's
# environment; wait until it listens with its boundary model loaded
mp_run() {
	local loaded
	loaded=$(grep -c "boundary model loaded" "$SITE_DIR/mp.log" 2>/dev/null) || true
	rm -f "$SITE_DIR/mp.sock"
	"$BUILD/sitesys-mp" -f 2>>"$SITE_DIR/mp.log" &
	echo $! >"$SITE_DIR/mp.pid"
	wait_for 10 test -S "$SITE_DIR/mp.sock"
	wait_for 10 bash -c "[ \$(grep -c 'boundary model loaded' '$SITE_DIR/mp.log') -gt ${loaded:-0} ]"
}

# client_identity GUID: a key and a self-signed certificate naming GUID,
# as an agent makes them, in SITE_DIR/clients/ (named without "GUID:",
# which curl would read as a password separator)
client_identity() {
	local f=$SITE_DIR/clients/${1#GUID:}
	[ -f "$f.crt" ] && return 0
	mkdir -p "$SITE_DIR/clients"
	(umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$f.key") &&
		openssl req -x509 -new -key "$f.key" -subj "/OU=sitesys-agent/CN=$1" \
			-days 30 -out "$f.crt" 2>/dev/null
}

# as_client GUID CURL-ARGS...: curl over HTTPS, trusting the site CA
# alone, presenting GUID's certificate
as_client() {
	local g=$1 f
	shift
	client_identity "$g" || return 1
	f=$SITE_DIR/clients/${g#GUID:}
	curl --cacert "$SITE_CA" --cert "$f.crt" --key "$f.key" "$@"
}

# register_direct GUID: a client row bound to GUID's certificate,
# approved, written as the administrator (for tests without an MP)
register_direct() {
	local f=$SITE_DIR/clients/${1#GUID:} fp
	client_identity "$1"
	fp=$(openssl x509 -in "$f.crt" -outform DER | sha256sum | cut -d' ' -f1)
	psql_site -c "INSERT INTO client (guid, name, fingerprint, certificate, approved)
		VALUES ('$1', 'pc', '$fp', \$\$$(cat "$f.crt")\$\$, true)"
}

# register_client GUID [NAME]: register GUID with the MP as its agent
# would; prints the HTTP status and the answer
register_client() {
	as_client "$1" -sS -o "$SITE_DIR/answer" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary \
		"{\"format\":\"sitesys.register/1\",\"client\":\"$1\",\"name\":\"${2:-pc}\",\"addresses\":[\"192.0.2.5/24\"]}" \
		"https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/register"
	printf ' %s' "$(cat "$SITE_DIR/answer")"
}

# as_client_status PATH GUID: the status of a one-message batch of GUID's
# posted by GUID to the MP's PATH (serials from a counter in SITE_DIR)
as_client_status() {
	local n
	n=$(($(cat "$SITE_DIR/serial-$2" 2>/dev/null || echo 100) + 1))
	echo $n >"$SITE_DIR/serial-$2"
	as_client "$2" -s -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary \
		"{\"format\":\"sitesys.statemsg/1\",\"client\":\"$2\",\"messages\":[{\"serial\":$n,\"time\":\"2026-11-22T10:00:00Z\",\"topic\":{\"type\":500,\"id\":\"KB1\"},\"state\":{\"id\":2}}]}" \
		"https://127.0.0.1:$SITE_HTTPS_PORT/mp/v1/$1"
}

# client_status_is STATUS PATH GUID: as_client_status gives STATUS
client_status_is() { [ "$(as_client_status "$2" "$3")" = "$1" ]; }

# start_statesys: sitesys-statesys in the background (SS_PID), its log
# SITE_DIR/statesys.log begun anew; stop_statesys: SIGTERM, wait, its
# exit status
start_statesys() {
	: >"$SITE_DIR/statesys.log"
	"$BUILD/sitesys-statesys" -f 2>>"$SITE_DIR/statesys.log" 3>&- &
	SS_PID=$!
}
stop_statesys() {
	kill -TERM "$SS_PID"
	wait "$SS_PID"
	local rc=$?
	SS_PID=
	return $rc
}
