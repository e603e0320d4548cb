#!/usr/bin/env bats
# sitesys-fsp behind the real nginx: state messages spooled durably into
# fsp.box, refused with the reason, forwarded into statsys.box no faster
# than the throttle, each batch whole, and exactly once across kill -9 at
# every step.

load helpers

FSP=$BUILD/sitesys-fsp

setup_file() {
	site_setup_file
	SPOOL=$SITE_DIR/inbox/fsp.box
	OUT=$SITE_DIR/inbox/statsys.box
	export SPOOL OUT
	"$SITECTL" inbox init >/dev/null
	site_nginx_fcgi "$SITE_DIR" /fsp/v1/ "$SITE_DIR/fsp.sock"
}
teardown_file() { site_teardown_file; }
# each test begins with a fresh throttle
setup() { rm -f "$SPOOL/forward.state"; }
teardown() {
	[ -z "${NGINX_PID:-}" ] || { kill -QUIT "$NGINX_PID"; wait "$NGINX_PID"; } || true
	[ -z "${FSP_PID:-}" ] || { kill -TERM "$FSP_PID" 2>/dev/null; wait "$FSP_PID" 2>/dev/null; } || true
	site_teardown
}

# fsp_conf NAME MESSAGES SECONDS [CAP]: a config with that throttle (and
# source_max_messages = CAP); prints its path
fsp_conf() {
	local conf=$SITE_DIR/$1.conf
	cp "$SITESYS_CONF" "$conf"
	printf '[fsp]\nfastcgi_socket = %s\nthreads = 4\nthrottle_messages = %s\nthrottle_seconds = %s\n' \
		"$SITE_DIR/fsp.sock" "$2" "$3" >>"$conf"
	[ -z "${4:-}" ] || printf 'source_max_messages = %s\n' "$4" >>"$conf"
	echo "$conf"
}

# GET answers 405 once sitesys-fsp listens behind nginx (502 before).
fsp_ready() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$(url)")" = 405 ]
}

# start_fsp CONF: run it in the foreground, logging to fsp.log
start_fsp() {
	"$FSP" -f -c "$1" 2>>"$SITE_DIR/fsp.log" &
	FSP_PID=$!
	wait_for 10 fsp_ready
}

stop_fsp() {
	kill -TERM "$FSP_PID"
	wait "$FSP_PID"
	local rc=$?
	FSP_PID=
	return $rc
}

url() { echo "http://127.0.0.1:$SITE_HTTP_PORT/fsp/v1/${1:-statemsg}"; }

# post BODY: prints "STATUS BODY" (several may run at once); from the
# loopback address $FROM if set, a source of its own to the FSP
post() {
	local answer=$SITE_DIR/answer.$BASHPID
	curl -sS -m 30 ${FROM:+--interface "$FROM"} -o "$answer" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$1" "$(url)"
	printf ' %s' "$(cat "$answer")"
	rm -f "$answer"
}

# batch CLIENT N FIRST: a batch of N messages, serials FIRST, FIRST+1, ...
batch() {
	local i
	printf '{"format":"sitesys.statemsg/1","client":"%s","messages":[' "$1"
	for i in $(seq "$3" $(($3 + $2 - 1))); do
		[ "$i" = "$3" ] || printf ,
		printf '{"serial":%d,"time":"2026-11-22T10:00:00Z","topic":{"type":800,"id":"install"},"state":{"id":400}}' "$i"
	done
	printf ']}'
}

# client N: a GUID of its own for each test or round
client() { printf 'GUID:00000000-0000-4000-8000-%012d' "$1"; }

# serials CLIENT: every serial of CLIENT in statsys.box (in its batches and
# in the batches of its sets), sorted, one a line; a serial in two files of
# different names appears twice
serials() {
	local f
	for f in "$OUT"/incoming/*; do
		[ -f "$f" ] || continue
		jq -r --arg c "$1" '(if has("batches") then .batches[] else . end)
			| select(.client == $c) | .messages[].serial' "$f"
	done | sort -n
}

spool_empty() { [ -z "$(ls -A "$SPOOL/incoming")" ]; }
# has_serials CLIENT N: statsys.box holds N messages of CLIENT
has_serials() { [ "$(serials "$1" | wc -l)" = "$2" ]; }
files_in() { ls -A "$1" | wc -l; }

@test "-n checks the config, -h and a bad option print the usage" {
	run "$FSP" -n -c "$(fsp_conf options 5 2)"
	[ "$status" -eq 0 ]
	[ "$output" = "$SITE_DIR/options.conf: configuration ok" ]
	printf '[fsp]\nthrottle_seconds = 0\n' >"$SITE_DIR/bad.conf"
	run "$FSP" -n -c "$SITE_DIR/bad.conf"
	[ "$status" -eq 2 ]
	[[ "$output" == "$SITE_DIR/bad.conf:2: throttle_seconds: "* ]]
	run "$FSP" -h
	[ "$status" -eq 0 ]
	[ "$output" = "usage: sitesys-fsp [-fhn] [-c file]" ]
	run "$FSP" -x
	[ "$status" -eq 2 ]
}

@test "a batch is answered 202 only once it is durable in fsp.box" {
	start_fsp "$(fsp_conf big 100000 3600)"
	run post "$(batch "$(client 1)" 3 1)"
	[ "${output%% *}" = 202 ]
	ack=${output#* }
	[ "$(echo "$ack" | jq -r .format)" = sitesys.ack/1 ]
	[ "$(echo "$ack" | jq -r .accepted)" = 3 ]
	name=$(echo "$ack" | jq -r .file)
	# named by the client address it came from, 127.0.0.1
	[[ "$name" =~ ^[0-9]{16}\.[^.]+\.$FSP_PID\.[0-9]+\.s47f000001\.smx$ ]]
	# forwarded at once (the throttle has room) under the same name
	wait_for 10 test -f "$OUT/incoming/$name"
	[ "$(serials "$(client 1)" | tr '\n' ' ')" = "1 2 3 " ]
	# a set of one, marked as the FSP's, for statesys to check
	[ "$(jq -r '.format, .via, (.batches | length), .batches[0].client' "$OUT/incoming/$name" | tr '\n' ' ')" = "sitesys.statemsg-set/1 fsp 1 $(client 1) " ]
	wait_for 10 spool_empty
	[ "$(files_in "$SPOOL/tmp")" = 0 ]
	grep -q "forwarded $name into statsys.box as $name (messages: 3)" "$SITE_DIR/fsp.log"
	stop_fsp
}

@test "what is not a well-formed batch is refused with the reason and nothing is written" {
	start_fsp "$(fsp_conf refuse 100000 3600)"
	local before
	before=$(files_in "$OUT/incoming")
	run post 'not json'
	[[ "$output" == '400 {"error":"invalid JSON at line 1, column 3: '* ]]
	run post '{"format":"sitesys.statemsg/1","client":"'"$(client 2)"'","messages":[{"serial":"1","time":"2026-11-22T10:00:00Z","topic":{"type":800,"id":"x"},"state":{"id":1}}]}'
	[ "$output" = '400 {"error":"messages[0]: member \"serial\" is not an integer"}' ]
	run post "$(batch GUID:not-a-guid 1 1)"
	[ "$output" = '400 {"error":"member \"client\" is not \"GUID:\" and a UUID: \"GUID:not-a-guid\""}' ]
	run post '{"format":"sitesys.statemsg/2","client":"'"$(client 2)"'","messages":[]}'
	[ "$output" = '400 {"error":"format is \"sitesys.statemsg/2\", expected \"sitesys.statemsg/1\""}' ]
	run post '{"format":"sitesys.statemsg/1","client":"'"$(client 2)"'","messages":[]}'
	[ "$output" = '400 {"error":"member \"messages\" is empty"}' ]
	# over the limit of 1 MiB: nginx refuses it before sitesys-fsp sees it
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$SITE_DIR/big.json"
	run curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$SITE_DIR/big.json" "$(url)"
	[ "$output" = 413 ]
	# other methods and paths
	run curl -sS -i "$(url)"
	[[ "$output" == *"HTTP/1.1 405 Method Not Allowed"* ]]
	[[ "$output" == *"Allow: POST"* ]]
	[[ "$output" == *'{"error":"/fsp/v1/statemsg takes POST only"}'* ]]
	run curl -sS -o "$SITE_DIR/answer" -w '%{http_code}' -X POST -d '{}' "$(url other)"
	[ "$output" = 404 ]
	[ "$(cat "$SITE_DIR/answer")" = '{"error":"no such endpoint: /fsp/v1/other"}' ]
	[ "$(files_in "$SPOOL/incoming")" = 0 ]
	[ "$(files_in "$SPOOL/tmp")" = 0 ]
	[ "$(files_in "$OUT/incoming")" = "$before" ]
	[ -z "$(serials "$(client 2)")" ]
	stop_fsp
}

# mtime_of FILE: its modification time in seconds, with the fraction
mtime_of() { stat -c %.9Y "$1"; }

# spool_set NAME CLIENT N...: put into fsp.box, as the intake makes it, a
# set of batches of CLIENT of N messages each, serials counting on from 1
# (saved as $SITE_DIR/NAME.smx); prints the stem of its spool name
spool_set() {
	local name=$1 client=$2 n first=1 sep=""
	shift 2
	{
		printf '{"format":"sitesys.statemsg-set/1","via":"fsp","batches":['
		for n in "$@"; do
			printf '%s%s' "$sep" "$(batch "$client" "$n" "$first")"
			sep=,
			first=$((first + n))
		done
		printf ']}'
	} >"$SITE_DIR/$name.smx"
	"$SITECTL" inbox put fsp.box "$SITE_DIR/$name.smx" >/dev/null
	ls "$SPOOL/incoming" | grep -v '\.r[0-9]*\.smx$' | tail -1 | sed 's/\.smx$//'
}

# sizes FILE...: the messages of each batch of each FILE, one file a line
sizes() {
	local f
	for f in "$@"; do
		jq -r '[.batches[] | .messages | length] | map(tostring) | join(" ")' "$f"
	done
}

# as_put NAME STEM: every batch forwarded for STEM is, member for member,
# a batch of the set NAME that was put into fsp.box, and each one is there
as_put() {
	diff <(jq -S -c '.batches[]' "$SITE_DIR/$1.smx") \
		<(cat "$OUT/incoming/$2".p*.smx | jq -S -c '.batches[]')
}

# windows FILE...: no interval of 2 s (less 0.1 s for writing) saw more
# than 5 messages forwarded, unless a batch larger than that went alone;
# and the files took at least two intervals
windows() {
	local f
	for f in "$@"; do
		echo "$(mtime_of "$f") $(jq '[.batches[].messages | length] | add' "$f")"
	done >"$SITE_DIR/parts"
	awk '{ t[NR] = $1; n[NR] = $2 }
		END { for (i = 1; i <= NR; i++) { s = 0; c = 0
			for (j = 1; j <= NR; j++) if (t[j] >= t[i] && t[j] < t[i] + 1.9) { s += n[j]; c++ }
			if (s > 5 && c > 1) { print "window at " t[i] " holds " s; exit 1 } }
			if (t[NR] - t[1] < 3.9) { print "all within " t[NR] - t[1] " s"; exit 1 } }' "$SITE_DIR/parts"
}

@test "the throttle: a set of 12 messages goes in parts of whole batches, at most 5 per 2-s interval" {
	local stem
	stem=$(spool_set throttle "$(client 3)" 2 3 4 3)
	start_fsp "$(fsp_conf throttle 5 2)"
	# held back: the rest waits in fsp.box, visible to sitectl
	wait_for 10 test -f "$OUT/incoming/$stem.p1.smx"
	[ "$(backlog_of fsp.box)" = 1 ]
	wait_for 10 grep -q "throttle holds back fsp.box (files: 1" "$SITE_DIR/fsp.log"
	wait_for 20 test -f "$OUT/incoming/$stem.p3.smx"
	wait_for 10 spool_empty
	stop_fsp
	[ "$(serials "$(client 3)" | tr '\n' ' ')" = "$(seq -s ' ' 1 12) " ]
	# 2 and 3 fill the first interval; 4 goes, and 3 would not fit beside it
	[ "$(sizes "$OUT/incoming/$stem".p{1,2,3}.smx | tr '\n' ,)" = "2 3,4,3," ]
	as_put throttle "$stem"
	[ "$(jq -r .via "$OUT/incoming/$stem".p{1,2,3}.smx | sort -u)" = fsp ]
	run windows "$OUT/incoming/$stem".p{1,2,3}.smx
	[ "$status" -eq 0 ]
	grep -q "forwarded $stem.smx into statsys.box as $stem.p1.smx (messages: 5 of 12; 7 wait in fsp.box)" "$SITE_DIR/fsp.log"
	grep -q "forwarded $stem.smx into statsys.box as $stem.p3.smx (messages: 3, the last of the file)" "$SITE_DIR/fsp.log"
}

@test "a batch larger than the whole limit goes alone, in an interval of its own" {
	local stem
	stem=$(spool_set large "$(client 8)" 2 7 1)
	start_fsp "$(fsp_conf large 5 2)"
	wait_for 20 test -f "$OUT/incoming/$stem.p3.smx"
	wait_for 10 spool_empty
	stop_fsp
	[ "$(sizes "$OUT/incoming/$stem".p{1,2,3}.smx | tr '\n' ,)" = "2,7,1," ]
	as_put large "$stem"
	run windows "$OUT/incoming/$stem".p{1,2,3}.smx
	[ "$status" -eq 0 ]
	# the 7 went only into an empty interval, and filled it
	awk 'NR > 1 && $1 - t < 1.9 { print "part " NR " only " $1 - t " s after"; exit 1 } { t = $1 }' "$SITE_DIR/parts"
}

@test "a lone batch put into fsp.box by hand is forwarded whole, marked as the FSP's" {
	start_fsp "$(fsp_conf lone 100000 3600)"
	batch "$(client 9)" 2 1 >"$SITE_DIR/lone.smx"
	"$SITECTL" inbox put fsp.box "$SITE_DIR/lone.smx" >/dev/null
	wait_for 10 has_serials "$(client 9)" 2
	wait_for 10 spool_empty
	stop_fsp
	f=$(grep -l "$(client 9)" "$OUT"/incoming/*)
	[ "$(jq -r '.format, .via' "$f" | tr '\n' ' ')" = "sitesys.statemsg-set/1 fsp " ]
	[ "$(jq -S -c '.batches[0]' "$f")" = "$(jq -S -c . "$SITE_DIR/lone.smx")" ]
}

@test "the throttle holds across a restart: a second full quota does not go in one interval" {
	conf=$(fsp_conf restart 5 30)
	stem=$(spool_set restart "$(client 4)" 3 3 2)
	start_fsp "$conf"
	wait_for 10 test -f "$OUT/incoming/$stem.p1.smx"
	stop_fsp
	# a batch of 1, spooled meanwhile, waits its turn behind the rest
	batch "$(client 5)" 1 1 >"$SITE_DIR/five.smx"
	"$SITECTL" inbox put fsp.box "$SITE_DIR/five.smx" >/dev/null
	start_fsp "$conf"
	# the restarted process finds this interval's quota spent but for 2,
	# too few for the next batch of 3, which goes first
	wait_for 10 grep -q "sitesys-fsp\[$FSP_PID\]: info: throttle holds back fsp.box (files: 2" "$SITE_DIR/fsp.log"
	# and a batch answered now waits too
	run post "$(batch "$(client 5)" 1 2)"
	[ "${output%% *}" = 202 ]
	stop_fsp
	[ "$(serials "$(client 4)" | tr '\n' ' ')" = "1 2 3 " ]
	[ -z "$(serials "$(client 5)")" ]
	[ "$(files_in "$SPOOL/incoming")" = 3 ]
	rm -f "$SPOOL"/incoming/* "$SPOOL/forward.state"
}

# holds FILE CLIENT SERIAL: FILE (a batch or a set) holds that message
holds() {
	jq -e --arg c "$2" --argjson s "$3" '[(if has("batches") then .batches[] else . end)
		| select(.client == $c) | .messages[].serial] | index($s) != null' "$1" >/dev/null
}

# term_posts FIRST LAST: post batch I of client 6 (one message, serial I)
# for I in FIRST..LAST at once, its answer in term.I; the pids in POSTS
term_posts() {
	local i
	POSTS=()
	for i in $(seq "$1" "$2"); do
		post "$(batch "$(client 6)" 1 "$i")" >"$SITE_DIR/term.$i" &
		POSTS+=($!)
	done
}

# any_acked FIRST LAST: one of the answers FIRST..LAST is in, a 202
any_acked() {
	local i
	for i in $(seq "$1" "$2"); do
		[[ "$(cat "$SITE_DIR/term.$i")" != 202* ]] || return 0
	done
	return 1
}

# term_acked I: 0 if answer I is 202 and the file it names, in fsp.box or
# statsys.box, holds message I; 1 if I was refused with 502; else 2,
# saying why
term_acked() {
	local answer name f
	answer=$(cat "$SITE_DIR/term.$1")
	case "$answer" in
	202*) ;;
	502*) return 1 ;;
	*) echo "request $1: $answer"; return 2 ;;
	esac
	name=$(echo "${answer#202 }" | jq -r .file)
	for f in "$SPOOL/incoming/$name" "$OUT/incoming/$name"; do
		[ -f "$f" ] && holds "$f" "$(client 6)" "$1" && return 0
	done
	echo "message $1 was acknowledged in $name but is not there"
	return 2
}

@test "SIGTERM stops it cleanly: what was acknowledged is durable, exit 0" {
	conf=$(fsp_conf term 100000 3600)
	start_fsp "$conf"
	local pid=$FSP_PID i rc acked=""
	# 8 requests answered before the signal: each must be acknowledged
	term_posts 1 8
	wait "${POSTS[@]}"
	for i in $(seq 1 8); do
		[[ "$(cat "$SITE_DIR/term.$i")" == 202* ]] ||
			{ echo "request $i: $(cat "$SITE_DIR/term.$i")"; false; }
	done
	# 24 more, and SIGTERM once the first of them is answered, while the
	# others are in flight: each is answered or, once the socket is shut,
	# refused by nginx
	term_posts 9 32
	wait_for 10 any_acked 9 32
	stop_fsp
	wait "${POSTS[@]}"
	for i in $(seq 1 32); do
		term_acked "$i" && rc=0 || rc=$?
		# a refusal only after the signal
		[ "$rc" = 0 ] || [ "$rc.$((i > 8))" = 1.1 ]
		[ "$rc" = 1 ] || acked="$acked $i"
	done
	# every batch it spooled was acknowledged, and no other
	grep -q "sitesys-fsp\[$pid\]: info: spooled $(echo $acked | wc -w) batches into [0-9]* files in [0-9]* group commits" "$SITE_DIR/fsp.log"
	tail -1 "$SITE_DIR/fsp.log" | grep -q "sitesys-fsp\[$pid\]: info: stopped$"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$(url)")" = 502 ]
	# restarted, it forwards what is left: each acknowledged message once
	start_fsp "$conf"
	wait_for 10 spool_empty
	stop_fsp
	[ "$(serials "$(client 6)" | tr '\n' ' ')" = "$(echo $acked | tr ' ' '\n' | sort -n | tr '\n' ' ')" ]
}

# crash_round N POINT: spool by hand a lone batch A of 3 messages and a set
# B of batches of 2, 4 and 6 (as the intake makes of batches posted
# together), run an FSP that dies at POINT, then run it cleanly until the
# spool is empty
crash_round() {
	local n=$1 point=$2 conf=$SITE_DIR/crash.conf pid rc
	batch "$(client $((100 + n)))" 3 1 >"$SITE_DIR/a.smx"
	"$SITECTL" inbox put fsp.box "$SITE_DIR/a.smx" >/dev/null
	spool_set b "$(client $((200 + n)))" 2 4 6 >/dev/null
	SITESYS_CRASH_AT=$point "$FSP" -f -c "$conf" 2>>"$SITE_DIR/fsp.log" &
	pid=$!
	wait_for 20 bash -c "! kill -0 $pid 2>/dev/null" || { kill -KILL $pid; return 1; }
	wait $pid && rc=0 || rc=$?
	[ "$rc" = 137 ] || { echo "no crash at $point ($rc)"; return 1; }
	start_fsp "$conf"
	wait_for 30 spool_empty
	stop_fsp
	[ "$(serials "$(client $((100 + n)))" | tr '\n' ' ')" = "1 2 3 " ] ||
		{ echo "$point: A: $(serials "$(client $((100 + n)))" | tr '\n' ' ')"; return 1; }
	[ "$(serials "$(client $((200 + n)))" | tr '\n' ' ')" = "$(seq -s ' ' 1 12) " ] ||
		{ echo "$point: B: $(serials "$(client $((200 + n)))" | tr '\n' ' ')"; return 1; }
}

# A step forwards batch A whole (3, marked as it goes) and the first batch
# of set B (2 of 12) as B.p1, leaving B as it is; the next step forwards
# B's second batch as B.p2 (4), and the last its third (6, more than a
# whole interval) alone as B.p3, and removes B; after each of the first
# two steps, forward.state records how far B went. Both were put by hand:
# one source, taken oldest first.
@test "killed at every step of forwarding, every message reaches statsys.box exactly once" {
	fsp_conf crash 5 1 >/dev/null
	local n=0
	for point in fwd.state:1 put.created:1 put.written:1 put.synced:1 \
		fwd.part:1 fwd.part:2 fwd.parts:1 fwd.unlinked:1 fwd.done:1 \
		fwd.progress:1 fwd.state:2 put.renamed:3 fwd.part:3 fwd.parts:2 \
		fwd.done:2 fwd.progress:2 fwd.state:3 fwd.part:4 fwd.parts:3 \
		fwd.unlinked:2 fwd.done:3; do
		n=$((n + 1))
		crash_round $n $point
	done
	[ "$(files_in "$SPOOL/incoming")" = 0 ]
}

@test "kill -9 from outside at random moments loses and repeats nothing" {
	conf=$(fsp_conf random 7 1 60)
	start_fsp "$conf"
	# posted together, they are spooled as sets, which the throttle cuts
	# between their batches: one batch of 6 goes per interval
	local pids=""
	for i in $(seq 1 10); do
		post "$(batch "$(client 300)" 6 $((i * 6 - 5)))" >"$SITE_DIR/random.$i" &
		pids="$pids $!"
	done
	wait $pids
	for i in $(seq 1 10); do
		[[ "$(cat "$SITE_DIR/random.$i")" == 202* ]]
	done
	for round in 1 2 3 4 5 6; do
		sleep "0.$((RANDOM % 10))"
		kill -KILL "$FSP_PID"
		wait "$FSP_PID" || true
		start_fsp "$conf"
	done
	wait_for 30 spool_empty
	stop_fsp
	[ "$(serials "$(client 300)" | tr '\n' ' ')" = "$(seq -s ' ' 1 60) " ]
}

@test "the packaged nginx snippet passes /fsp/v1/ to sitesys-fsp, refuses a big body and a flood in JSON" {
	local port dir=$SITE_DIR/snippet
	port=$(site_free_port)
	mkdir -p "$dir/tmp"
	sed -e "s/listen 80;/listen 127.0.0.1:$port;/" -e '/listen \[::\]:80;/d' \
		-e "s|unix:/run/sitesys/fsp.sock|unix:$SITE_DIR/fsp.sock|" \
		-e 's|include fastcgi_params;|include /etc/nginx/fastcgi_params;|' \
		"$TOP/packaging/nginx/sitesys-fsp.conf" >"$dir/fsp.conf"
	{
		echo "daemon off; pid $dir/nginx.pid; error_log $dir/error.log;"
		[ "$(id -u)" != 0 ] || echo "user sitesys;"
		echo "events {}"
		echo "http { access_log off; client_body_temp_path $dir/tmp;"
		echo "  include $TOP/packaging/nginx/sitesys-fsp-limit.conf;"
		echo "  include $dir/fsp.conf; }"
	} >"$dir/nginx.conf"
	start_fsp "$(fsp_conf snippet 100000 3600)"
	nginx -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >/dev/null 2>&1 &
	NGINX_PID=$!
	snippet_url="http://127.0.0.1:$port/fsp/v1/statemsg"
	wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $snippet_url)\" = 405 ]"
	run curl -sS -o /dev/null -w '%{http_code}' --data-binary "$(batch "$(client 7)" 1 1)" "$snippet_url"
	[ "$output" = 202 ]
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$dir/big.json"
	run curl -sS -w ' %{http_code}' --data-binary @"$dir/big.json" "$snippet_url"
	[ "$output" = '{"error":"request body is larger than the limit of 1048576 bytes"}
 413' ]
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/elsewhere"
	[ "$output" = 404 ]
	# one address's flood: 120 requests at once on one connection, far
	# beyond the rate and its burst; the rest is refused by nginx itself
	run curl -sS -o /dev/null -w '%{http_code}\n' $(printf "$snippet_url %.0s" $(seq 120))
	[ "$(echo "$output" | grep -c 429)" -ge 20 ]
	[ "$(echo "$output" | grep -c 405)" -ge 1 ]
	run curl -sS -i "$snippet_url"
	[[ "$output" == *"HTTP/1.1 429 "* ]]
	[[ "$output" == *"Retry-After: 1"* ]]
	echo "$output" | tail -1 | jq -e '.code == "throttled"'
	kill -QUIT "$NGINX_PID"
	wait "$NGINX_PID" || true
	NGINX_PID=
	stop_fsp
}

# forwarded_at CLIENT: the modification time of the statsys.box file that
# holds CLIENT's batch
forwarded_at() {
	mtime_of "$(grep -l "$1" "$OUT"/incoming/*)"
}

# The finding, scaled down: three posts of 10 messages from one address
# fill three intervals of 10 per 2 s; a batch from another address goes
# in the next interval, not behind all of them.
@test "a flooder's backlog delays another address's batch by at most one interval" {
	start_fsp "$(fsp_conf fair 10 2 100)"
	local i t0
	for i in 0 1 2; do
		FROM=127.0.0.2 run post "$(batch "$(client 400)" 10 $((i * 10 + 1)))"
		[ "${output%% *}" = 202 ]
	done
	t0=$(date +%s.%N)
	FROM=127.0.0.3 run post "$(batch "$(client 401)" 2 1)"
	[ "${output%% *}" = 202 ]
	wait_for 10 has_serials "$(client 401)" 2
	# within one interval of 2 s (and a second for a busy machine)
	awk -v a="$t0" -v b="$(forwarded_at "$(client 401)")" \
		'BEGIN { if (b - a >= 3) { print "forwarded " b - a " s after"; exit 1 } }'
	wait_for 20 has_serials "$(client 400)" 30
	wait_for 10 spool_empty
	stop_fsp
	[ "$(serials "$(client 400)" | tr '\n' ' ')" = "$(seq -s ' ' 1 30) " ]
	# each address's batches in files of its own, named by it
	[ "$(cat "$OUT"/incoming/*.s47f000002.smx | jq -r '.batches[].client' | sort -u)" = "$(client 400)" ]
	[ "$(cat "$OUT"/incoming/*.s47f000003.smx | jq -r '.batches[].client' | sort -u)" = "$(client 401)" ]
}

@test "an address over its spooled cap is answered 429 with Retry-After; nothing is written" {
	conf=$(fsp_conf cap 5 3600 8)
	start_fsp "$conf"
	FROM=127.0.0.4 run post "$(batch "$(client 410)" 3 1)"
	[ "${output%% *}" = 202 ]
	wait_for 10 has_serials "$(client 410)" 3
	# 2 left in this interval: these 3 wait, spooled
	FROM=127.0.0.4 run post "$(batch "$(client 410)" 3 4)"
	[ "${output%% *}" = 202 ]
	local files
	files=$(files_in "$SPOOL/incoming")
	# 3 waiting and 6 more is over 8
	run curl -sS -i --interface 127.0.0.4 --data-binary "$(batch "$(client 410)" 6 7)" "$(url)"
	[[ "$output" == *"HTTP/1.1 429 "* ]]
	[[ "$output" =~ Retry-After:\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -ge 1 ]
	[ "${BASH_REMATCH[1]}" -le 3600 ]
	echo "$output" | tail -1 | jq -e '.code == "throttled" and (.error | length > 0)'
	[ "$(files_in "$SPOOL/incoming")" = "$files" ]
	[ "$(files_in "$SPOOL/tmp")" = 0 ]
	# another address is not held by it
	FROM=127.0.0.5 run post "$(batch "$(client 411)" 6 1)"
	[ "${output%% *}" = 202 ]
	# the count is rebuilt from the spool at the start
	stop_fsp
	start_fsp "$conf"
	FROM=127.0.0.4 run post "$(batch "$(client 410)" 6 7)"
	[ "${output%% *}" = 429 ]
	FROM=127.0.0.4 run post "$(batch "$(client 410)" 5 7)"
	[ "${output%% *}" = 202 ]
	stop_fsp
	[ "$(serials "$(client 410)" | tr '\n' ' ')" = "1 2 3 " ]
	rm -f "$SPOOL"/incoming/* "$SPOOL/forward.state"
}

# inode_mtime FILE: what changes when a file is written again
inode_mtime() { stat -c '%i %.9Y' "$1"; }

@test "what stays behind in fsp.box is never rewritten" {
	local stem before
	stem=$(spool_set norewrite "$(client 12)" 2 3 4 3)
	before=$(inode_mtime "$SPOOL/incoming/$stem.smx")
	start_fsp "$(fsp_conf norewrite 5 2)"
	wait_for 10 test -f "$OUT/incoming/$stem.p1.smx"
	[ "$(inode_mtime "$SPOOL/incoming/$stem.smx")" = "$before" ]
	wait_for 10 test -f "$OUT/incoming/$stem.p2.smx"
	[ "$(inode_mtime "$SPOOL/incoming/$stem.smx")" = "$before" ]
	[ "$(ls "$SPOOL/incoming")" = "$stem.smx" ]
	wait_for 10 spool_empty
	stop_fsp
	[ "$(sizes "$OUT/incoming/$stem".p{1,2,3}.smx | tr '\n' ,)" = "2 3,4,3," ]
	as_put norewrite "$stem"
}
