#!/usr/bin/env bats
# sitesys-agent against a stand-in management point (HTTPS, a certificate
# of the site's CA) and fallback status point (plain HTTP) (nginx,
# tests/lib/site.bash site_fake_start) on loopback: serials that survive
# restarts, one batch per send, the FSP when the MP fails, nothing lost
# when both fail or the agent is killed, resync answers, registration and
# policy; the agent's identity (its key, its certificate, presented and
# signing every batch) and the management points it refuses to talk to.

load helpers

AGENT=$BUILD/sitesys-agent

setup_file() {
	SITE_DIR=$(mktemp -d /tmp/sitesys-test.XXXXXX)
	chmod 755 "$SITE_DIR" # the agent runs as [site] user when root
	export SITE_DIR
	site_fake_start "$SITE_DIR" mp || return 1
	MP_PORT=$SITE_FAKE_PORT
	site_fake_start "$SITE_DIR" fsp || return 1
	FSP_PORT=$SITE_FAKE_PORT
	# the site CA's certificate and revocation list, installed where the
	# agent (as [site] user when root) reads them; the CA's own directory
	# is its administrator's alone
	AGENT_CA=$SITE_DIR/site-ca.crt
	AGENT_CRL=$SITE_DIR/site-ca.crl
	cp "$SITE_CA" "$AGENT_CA"
	cp "$SITE_DIR/ca/ca.crl" "$AGENT_CRL"
	export MP_PORT FSP_PORT SITE_CA AGENT_CA AGENT_CRL
	# loopback only, whatever the environment says about proxies
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
}

teardown_file() {
	site_fake_stop "$SITE_DIR" mp
	site_fake_stop "$SITE_DIR" fsp
	if [ -e "$SITE_DIR/.failed" ]; then
		echo "# kept $SITE_DIR for inspection" >&3
	else
		rm -rf "$SITE_DIR"
	fi
}

# A fresh agent (state directory and configuration) for every test.
setup() {
	STATE=$SITE_DIR/agent-$BATS_TEST_NUMBER
	CONF=$SITE_DIR/agent-$BATS_TEST_NUMBER.conf
	LOG=$SITE_DIR/agent-$BATS_TEST_NUMBER.log
	cat >"$CONF" <<-CONF
		[agent]
		state_dir = $STATE
		mp_url = https://127.0.0.1:$MP_PORT/mp/v1
		site_ca = $AGENT_CA
		fsp_url = http://127.0.0.1:$FSP_PORT/fsp/v1
		name = pc-$BATS_TEST_NUMBER
		timeout_seconds = 5
	CONF
	rm -f "$SITE_DIR"/fake-*/statemsg/* "$SITE_DIR"/fake-*/register/* \
		"$SITE_DIR"/fake-*/down "$SITE_DIR"/fake-*/policy.json \
		"$SITE_DIR"/fake-*/registered.json
	: >"$LOG"
	AGENT_PID=
}

teardown() {
	[ -z "${AGENT_PID:-}" ] || { kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; } || true
	[ -z "${MP_SWAPPED:-}" ] || fake_mp_serves
	[ -n "${BATS_TEST_COMPLETED:-}" ] || touch "$SITE_DIR/.failed"
}

agent() { "$AGENT" -c "$CONF" "$@"; }
# The command's standard output only; its log lines go to $LOG.
quiet() { "$AGENT" -c "$CONF" "$@" 2>>"$LOG"; }
guid() { agent show --json | jq -r .client; }
show() { agent show --json | jq -r "$1"; }

raise() { # raise TYPE ID STATE: the serial it got
	agent state --topic-type "$1" --topic-id "$2" --state "$3" 2>>"$LOG"
}

# Every batch posted to mp or fsp, oldest first, one JSON per line.
posted() {
	local d=$SITE_DIR/fake-$1/statemsg f
	[ -d "$d" ] || return 0
	for f in $(ls -tr "$d"); do jq -c . "$d/$f"; done
}
nposted() { posted "$1" | wc -l; }
posted_are() { [ "$(nposted "$1")" = "$2" ]; }
registers_are() { [ "$(ls "$SITE_DIR/fake-mp/register" | wc -l)" = "$1" ]; }
shown_is() { [ "$(show "$1")" = "$2" ]; }
shown_not() { [ "$(show "$1")" != "$2" ]; }
# The serials of every message posted to mp and fsp, one per line.
serials_posted() { { posted mp; posted fsp; } | jq -r '.messages[].serial'; }
# The same for the topic ids.
topics_posted() { { posted mp; posted fsp; } | jq -r '.messages[].topic.id'; }
# times_posted SERIAL: how many times a message with that serial was posted
times_posted() { serials_posted | grep -cx "$1" || true; }
# crash_at POINT COMMAND...: run the agent's COMMAND, armed to kill itself
# at POINT (util/crash.h); fails unless it died there
crash_at() {
	local point=$1
	shift
	SITESYS_CRASH_AT=$point run agent "$@"
	[ "$status" -eq 137 ] || { echo "no crash at $point ($status): $output"; return 1; }
}

# The MP's answers for this agent: registered, and policy with a resync
# request at $1 (none when empty).
fake_policy() {
	local g resync=null
	g=$(guid)
	[ -z "${1:-}" ] || resync="{\"requested\":\"$1\"}"
	printf '{"format":"sitesys.registered/1","client":"%s","approval":"approved"}\n' "$g" \
		>"$SITE_DIR/fake-mp/registered.json"
	printf '{"format":"sitesys.policy/1","client":"%s","statemsg_send_minutes":15,"policy_poll_minutes":60,"resync":%s}\n' \
		"$g" "$resync" >"$SITE_DIR/fake-mp/policy.json"
}

daemon_is() { [ "$(show .daemon.pid)" = "$1" ]; }

start_agent() {
	"$AGENT" -c "$CONF" -f run 2>>"$LOG" &
	AGENT_PID=$!
	wait_for 10 daemon_is "$AGENT_PID"
}

stop_agent() {
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	local rc=$?
	AGENT_PID=
	return $rc
}

outbox_empty() { [ "$(show .outbox.messages)" = 0 ]; }

@test "usage, -n and bad arguments: exit 2 with a clear reason" {
	run "$AGENT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: sitesys-agent [-c file] state --topic-type type"* ]]
	run "$AGENT" -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"sitesys-agent [-c file] [-fn] run"* ]]
	run agent -n run
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: configuration ok" ]
	run agent state --topic-type 65536 --topic-id KB1 --state 1
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: --topic-type: 65536 is out of range (0..65535)" ]
	run agent state --topic-type 500 --topic-id "" --state 1
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: --topic-id must be 1 to 256 bytes long, not 0" ]
	run agent state --topic-type 500 --topic-id "$(printf 'x%.0s' $(seq 257))" --state 1
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: --topic-id must be 1 to 256 bytes long, not 257" ]
	run agent state --topic-type 500 --topic-id KB1
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: --topic-type, --topic-id and --state are required" ]
	run agent state --topic-type 500 --topic-id KB1 --state 1 --state 2
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: --state is given twice" ]
	run agent state --topic-type 500 --topic-id KB1 --state 1 --criticality x
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: --criticality: \"x\" is not a whole number" ]
	run agent state --topic-type 500 --topic-id KB1 --state 1 extra
	[ "$status" -eq 2 ]
	[ "$output" = "sitesys-agent: unexpected argument \"extra\"" ]
	run agent show --yaml
	[ "$status" -eq 2 ]
	printf '[agent]\nsend_minutes = 0\n' >"$SITE_DIR/bad.conf"
	run "$AGENT" -c "$SITE_DIR/bad.conf" show
	[ "$status" -eq 2 ]
	[ "$output" = "$SITE_DIR/bad.conf:2: send_minutes: 0 is out of range (1..1440)" ]
	# nothing was raised by any of that
	[ "$(show .serial)" = 0 ]
}

@test "state raises messages with increasing serials that survive a restart" {
	local g
	touch "$SITE_DIR/fake-mp/down" "$SITE_DIR/fake-fsp/down"
	[ "$(raise 500 KB1 1)" = 1 ]
	[ "$(raise 500 KB2 1)" = 2 ]
	g=$(guid)
	[[ "$g" =~ ^GUID:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	[ "$(stat -c %a "$STATE")" = 700 ]
	start_agent
	wait_for 10 grep -q "could not send 2 state messages" "$LOG"
	stop_agent
	[ "$(raise 500 KB1 3)" = 3 ]
	[ "$(guid)" = "$g" ]
	[ "$(show .serial)" = 3 ]
	[ "$(show .outbox.messages)" = 3 ]
	[ "$(show '[.cache[] | .serial] | join(",")')" = "2,3" ]
	[ "$(nposted mp)" = 0 ]
}

@test "send delivers the outbox in one batch and empties it on 202" {
	agent state --topic-type 500 --topic-id KB1 --state 2 --criticality 1 \
		--details "needs a restart" --param KB1 --param "x y" >/dev/null
	raise 500 KB2 1 >/dev/null
	raise 401 CI1 5 >/dev/null
	run quiet send
	[ "$status" -eq 0 ]
	[ "$output" = "sent 3, left 0 via mp" ]
	[ "$(nposted mp)" = 1 ]
	[ "$(nposted fsp)" = 0 ]
	posted mp >"$SITE_DIR/batch.json"
	[ "$(jq -r .format "$SITE_DIR/batch.json")" = sitesys.statemsg/1 ]
	[ "$(jq -r .client "$SITE_DIR/batch.json")" = "$(guid)" ]
	[ "$(jq -r '[.messages[].serial] | join(",")' "$SITE_DIR/batch.json")" = 1,2,3 ]
	[ "$(jq -c '.messages[0] | [.topic, .state, .details, .params]' "$SITE_DIR/batch.json")" = \
		'[{"type":500,"id":"KB1","id_type":0},{"id":2,"criticality":1},"needs a restart",["KB1","x y"]]' ]
	jq -r '.messages[].time' "$SITE_DIR/batch.json" | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
	outbox_empty
	[ "$(show .last_send.result)" = ok ]
	agent show | grep -Eq '^outbox +0 messages in 0 files$'
	agent show | grep -Eq '^last send +[0-9T:.-]+Z ok, 3 sent, 0 left$'
	agent show | grep -Eq '^  topic 401 "CI1": state 5, criticality 0, serial 3, '
	agent show | grep -Eq '^daemon +not running$' 
	# nothing left: a second send posts nothing
	run quiet send
	[ "$output" = "sent 0, left 0" ]
	[ "$(nposted mp)" = 1 ]
}

@test "with the MP answering 503 the batch goes to the FSP" {
	touch "$SITE_DIR/fake-mp/down"
	raise 500 KB1 1 >/dev/null
	raise 500 KB2 1 >/dev/null
	run quiet send
	[ "$status" -eq 0 ]
	[ "$output" = "sent 2, left 0 via fsp" ]
	[ "$(nposted mp)" = 0 ]
	[ "$(nposted fsp)" = 1 ]
	[ "$(posted fsp | jq -r '[.messages[].serial] | join(",")')" = 1,2 ]
	grep -q "management point failed (https://127.0.0.1:$MP_PORT/mp/v1/statemsg answered HTTP 503); sent to the fallback status point" "$LOG"
	outbox_empty
}

@test "with the MP stopped and the FSP down nothing is lost and the next send delivers" {
	site_fake_stop "$SITE_DIR" mp
	touch "$SITE_DIR/fake-fsp/down"
	raise 500 KB1 1 >/dev/null
	raise 500 KB2 1 >/dev/null
	run agent send
	site_fake_start "$SITE_DIR" mp "$MP_PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"could not send 2 state messages, kept for the next attempt: management point: https://127.0.0.1:$MP_PORT/mp/v1/statemsg: Failed to connect"* ]]
	[[ "$output" == *"fallback status point: http://127.0.0.1:$FSP_PORT/fsp/v1/statemsg answered HTTP 503"* ]]
	[ "$(show .outbox.messages)" = 2 ]
	[ "$(show .last_send.result)" = failed ]
	raise 500 KB3 1 >/dev/null
	run quiet send
	[ "$status" -eq 0 ]
	[ "$output" = "sent 3, left 0 via mp" ]
	[ "$(posted mp | jq -r '[.messages[].serial] | join(",")')" = 1,2,3 ]
	outbox_empty
}

@test "the daemon registers, polls its policy and sends at once when asked" {
	local reg
	raise 500 KB1 1 >/dev/null # makes the identity the fake answers for
	fake_policy
	start_agent
	wait_for 10 registers_are 1
	reg=$(cat "$SITE_DIR"/fake-mp/register/*)
	[ "$(jq -r .format <<<"$reg")" = sitesys.register/1 ]
	[ "$(jq -r .client <<<"$reg")" = "$(guid)" ]
	[ "$(jq -r .name <<<"$reg")" = "pc-$BATS_TEST_NUMBER" ]
	# every address has its prefix length, none is loopback
	jq -r '.addresses | type' <<<"$reg" | grep -qx array
	! jq -r '.addresses[]' <<<"$reg" | grep -Ev '^[0-9a-f:.]+/[0-9]+$' || false
	! jq -r '.addresses[]' <<<"$reg" | grep -E '^(127\.|::1/)' || false
	# at start it sends what was waiting
	wait_for 10 outbox_empty
	[ "$(show .daemon.running)" = true ]
	[ "$(show .daemon.pid)" = "$AGENT_PID" ]
	[ "$(show .last_policy.result)" = ok ]
	raise 500 KB2 1 >/dev/null
	run quiet send
	[ "$output" = "asked the running agent (pid $AGENT_PID) to send" ]
	wait_for 10 outbox_empty
	[ "$(nposted mp)" = 2 ]
	stop_agent
	[ ! -e "$STATE/agent.pid" ]
	[ "$(show .daemon.running)" = false ]
}

@test "a policy answer 403 unregistered makes the daemon register again" {
	raise 500 KB1 1 >/dev/null
	fake_policy
	start_agent
	wait_for 10 registers_are 1
	wait_for 10 shown_is .last_policy.result ok
	[ "$(show .registration.state)" = approved ]
	rm "$SITE_DIR/fake-mp/policy.json"
	agent policy >/dev/null
	wait_for 10 registers_are 2
	wait_for 10 grep -q "does not know $(guid): registering again" "$LOG"
	# registered, and still unknown: said once, not at every poll
	wait_for 10 shown_is .registration.state unregistered
	[ "$(grep -c "refuses $(guid) (unregistered): this certificate is bound to no client" "$LOG")" = 1 ]
	[[ "$(show .last_policy.error)" == *"no policy for $(guid) even after registering"* ]]
	agent show | grep -Eq '^registration +unregistered since [0-9T:.-]+Z: this certificate is bound to no client$'
}

@test "a resync request: one batch of the whole cache renumbered, then 700/2, once" {
	local b
	raise 500 KB1 1 >/dev/null
	raise 500 KB2 1 >/dev/null
	raise 500 KB1 3 >/dev/null
	agent send >/dev/null
	[ "$(nposted mp)" = 1 ]
	fake_policy 2026-11-22T10:00:00.123456Z
	start_agent
	wait_for 10 posted_are mp 2
	b=$(posted mp | tail -1)
	# KB2 (serial 2) and KB1 in state 3 (serial 3), renumbered from 4
	[ "$(jq -c '[.messages[] | [.serial, .topic.type, .topic.id, .state.id]]' <<<"$b")" = \
		'[[4,500,"KB2",1],[5,500,"KB1",3],[6,700,"resync",2]]' ]
	[ "$(jq -r '.messages[2].topic.id_type' <<<"$b")" = 0 ]
	[ "$(show .resync_answered)" = 2026-11-22T10:00:00.123456Z ]
	outbox_empty
	# the same request again is not answered twice
	local before
	before=$(show .last_policy.time)
	agent policy >/dev/null
	wait_for 10 shown_not .last_policy.time "$before"
	before=$(show .last_send.time)
	agent send >/dev/null
	wait_for 10 shown_not .last_send.time "$before"
	[ "$(show .last_send.sent)" = 0 ]
	[ "$(nposted mp)" = 2 ]
	# a new request is
	fake_policy 2026-11-25T10:00:00.000000Z
	agent policy >/dev/null
	wait_for 10 posted_are mp 3
	[ "$(posted mp | tail -1 | jq -r '[.messages[].serial] | join(",")')" = 7,8,9 ]
}

@test "a resync answered while both servers are down is kept and sent later" {
	raise 500 KB1 1 >/dev/null
	fake_policy 2026-11-22T10:00:00Z
	touch "$SITE_DIR/fake-mp/down" "$SITE_DIR/fake-fsp/down"
	# one-shot: polls (the policy is served while statemsg is down)
	run quiet policy
	[ "$status" -eq 1 ]
	[ "$output" = "policy: send every 15 minutes, poll every 60 minutes, resync requested at 2026-11-22T10:00:00Z
sent 0, left 3" ]
	[ "$(show .outbox.messages)" = 3 ]
	[ "$(show .resync_answered)" = 2026-11-22T10:00:00Z ]
	rm "$SITE_DIR/fake-mp/down"
	run quiet send
	[ "$output" = "sent 3, left 0 via mp" ]
	[ "$(posted mp | jq -c '[.messages[] | [.serial, .topic.type]]')" = '[[1,500],[2,500],[3,700]]' ]
}

@test "kill -9 of the agent between raising and sending loses nothing" {
	local i round before s
	fake_policy
	touch "$SITE_DIR/fake-mp/down" "$SITE_DIR/fake-fsp/down"
	: >"$SITE_DIR/raised"
	for round in 1 2 3 4; do
		start_agent
		for i in 1 2 3; do
			s=$(raise 500 "KB$round-$i" 1) && echo "$s" >>"$SITE_DIR/raised"
		done
		# both down: the daemon tries to send, in vain, and is killed
		before=$(show .last_send.time)
		agent send >/dev/null
		wait_for 10 shown_not .last_send.time "$before"
		kill -KILL "$AGENT_PID"
		wait "$AGENT_PID" || true
		AGENT_PID=
	done
	[ "$(wc -l <"$SITE_DIR/raised")" = 12 ]
	rm "$SITE_DIR/fake-mp/down"
	start_agent
	wait_for 20 outbox_empty
	stop_agent
	# every serial raised was delivered, each once, in one batch
	[ "$(serials_posted | sort -n | paste -sd,)" = "$(sort -n "$SITE_DIR/raised" | paste -sd,)" ]
	[ "$(nposted mp)" = 1 ]
}

# The steps of raising a message (sitesys-agent(8), sitesys-inbox(5)); a
# message dead at the last three is in the outbox.
RAISE_POINTS="serial.saved raise.cached put.created put.written put.synced put.closed put.renamed sync.done raise.queued"

@test "killed at every step of raising: every message reported raised arrives once, no serial twice" {
	local p s last=0 want
	: >"$SITE_DIR/raised"
	for p in $RAISE_POINTS; do
		crash_at "$p" state --topic-type 500 --topic-id "dead-$p" --state 1
		[[ "$output" == *"crashing at $p"* ]]
		s=$(raise 500 "after-$p" 1)
		# the serial the dead one took is never used again
		[ "$s" = $((last + 2)) ] || { echo "$p: serial $s after $last"; false; }
		echo "$s" >>"$SITE_DIR/raised"
		last=$s
	done
	run quiet send
	[ "$status" -eq 0 ]
	for s in $(cat "$SITE_DIR/raised"); do
		[ "$(times_posted "$s")" = 1 ] || { echo "serial $s posted $(times_posted "$s") times"; false; }
	done
	for p in $RAISE_POINTS; do
		case $p in put.renamed | sync.done | raise.queued) want=1 ;; *) want=0 ;; esac
		[ "$(topics_posted | grep -cx "dead-$p")" = $want ] || { echo "dead-$p"; false; }
	done
	[ -z "$(serials_posted | sort | uniq -d)" ]
}

@test "killed after each file it removes once sent: the rest is sent again, the same, and nothing is lost" {
	local n first
	for n in 1 2 3; do
		rm -f "$SITE_DIR"/fake-mp/statemsg/*
		first=$(raise 500 "S$n-1" 1)
		raise 500 "S$n-2" 1 >/dev/null
		raise 500 "S$n-3" 1 >/dev/null
		# three files, posted as one batch (202); killed after removing n
		crash_at "outbox.unlinked_one:$n" send
		[ "$(nposted mp)" = 1 ]
		[ "$(show .outbox.messages)" = $((3 - n)) ]
		run quiet send
		[ "$status" -eq 0 ]
		[ "$(posted mp | head -1 | jq -r '[.messages[].serial] | join(",")')" = "$first,$((first + 1)),$((first + 2))" ]
		# the files not yet removed, sent again under the same serials
		[ "$(nposted mp)" = $((n < 3 ? 2 : 1)) ]
		[ "$(posted mp | jq -c '.messages[]' | sort | uniq -d)" = "$(posted mp | tail -n +2 | jq -c '.messages[]' | sort)" ]
		[ "$(posted mp | tail -n +2 | jq -r '.messages[].serial' | paste -sd,)" = "$(seq -s, $((first + n)) $((first + 2)))" ]
		outbox_empty
	done
}

@test "killed between the .why of a damaged outbox file and its move: it is set aside, the rest sent" {
	raise 500 KB1 1 >/dev/null
	printf '{"format":"sitesys.agent-outbox/1","messages":[{' \
		>"$STATE/outbox/incoming/0000000000000000.msg"
	crash_at reject.why send
	[ -f "$STATE/outbox/corrupt/0000000000000000.msg.why" ]
	run quiet send
	[ "$output" = "sent 1, left 0 via mp" ]
	[ -f "$STATE/outbox/corrupt/0000000000000000.msg" ]
	[ ! -e "$STATE/outbox/incoming/0000000000000000.msg" ]
	[ "$(serials_posted)" = 1 ]
}

# The steps of answering a resync request; a crash at any before the last
# makes the agent answer again, with new serials (sitesys-agent(8)), after
# the first answer if that reached the outbox.
RESYNC_POINTS="serial.saved put.created put.written put.synced put.closed put.renamed sync.done resync.queued resync.answered"

@test "killed at every step of answering a resync: answered and completed, no serial twice" {
	local p day=10 req want
	raise 500 KB1 1 >/dev/null
	raise 500 KB2 1 >/dev/null
	for p in $RESYNC_POINTS; do
		rm -f "$SITE_DIR"/fake-mp/statemsg/*
		req=2026-11-${day}T10:00:00Z
		day=$((day + 1))
		fake_policy "$req"
		crash_at "$p" policy
		run quiet policy
		[ "$status" -eq 0 ] || { echo "$p: $output"; false; }
		[ "$(show .resync_answered)" = "$req" ]
		# an answer remembered before the crash waits for the next send
		run quiet send
		outbox_empty
		# every answer ends with 700/2
		case $p in put.renamed | sync.done | resync.queued) want=2 ;; *) want=1 ;; esac
		[ "$(posted mp | jq -r '.messages[].topic.type' | grep -cx 700)" = $want ] || { echo "$p: $(posted mp)"; false; }
		[ "$(posted mp | tail -1 | jq -r '.messages[-1] | "\(.topic.type)/\(.state.id)"')" = 700/2 ]
		[ -z "$(serials_posted | sort | uniq -d)" ]
	done
}

@test "kill -9 at random moments while raising and sending: serials unique, none lost" {
	local seed=${SEED:-$RANDOM} round writer rc delay
	RANDOM=$seed
	echo "# seed $seed (SEED=$seed replays these kills)" >&3
	fake_policy
	: >"$SITE_DIR/raised"
	for round in 1 2 3 4 5; do
		(
			for i in 1 2 3 4 5; do
				s=$(raise 500 "R$round-$i" 1) && echo "$s" >>"$SITE_DIR/raised"
				"$AGENT" -c "$CONF" send >/dev/null 2>&1
			done
		) &
		writer=$!
		# killed by timeout after a random 1 to 499 ms (0 would be never)
		printf -v delay '0.%03d' $((1 + RANDOM % 499))
		timeout -s KILL "$delay" \
			"$AGENT" -c "$CONF" -f run 2>>"$LOG" && rc=0 || rc=$?
		[ "$rc" = 137 ] || { echo "round $round: the daemon exited $rc"; false; }
		wait "$writer"
	done
	start_agent
	wait_for 20 outbox_empty
	stop_agent
	# no serial was given twice; every one raised arrived (at least once)
	[ "$(sort "$SITE_DIR/raised" | uniq -d | wc -l)" = 0 ]
	[ "$(wc -l <"$SITE_DIR/raised")" = 25 ]
	serials_posted | sort -u >"$SITE_DIR/arrived"
	[ "$(comm -23 <(sort "$SITE_DIR/raised") "$SITE_DIR/arrived" | wc -l)" = 0 ]
	# a serial that arrived twice is the same message both times
	[ "$({ posted mp; posted fsp; } | jq -c '.messages[] | [.serial, .topic.id]' | sort -u | wc -l)" = \
		"$(wc -l <"$SITE_DIR/arrived")" ]
}

# fake_mp_serves [CRT KEY [HOST]]: the fake MP again on its port, with
# that certificate on that address (default: the site CA's for 127.0.0.1)
fake_mp_serves() {
	site_fake_stop "$SITE_DIR" mp
	SITE_FAKE_CERT=${1:-} SITE_FAKE_KEY=${2:-} SITE_FAKE_HOST=${3:-127.0.0.1} \
		site_fake_start "$SITE_DIR" mp "$MP_PORT"
	MP_SWAPPED=${1:-}
}

# server_cert NAME CA_CRT CA_KEY START END: a server certificate for
# 127.0.0.1 valid from START to END (YYYYMMDDHHMMSSZ), signed by that CA,
# into $SITE_DIR/certs/NAME.crt and .key, by the openssl CLI
server_cert() {
	local name=$1 d=$SITE_DIR/certs
	mkdir -p "$d/db"
	[ -f "$d/db/index.txt" ] || : >"$d/db/index.txt"
	cat >"$d/ca.cnf" <<-CNF
		[ca]
		default_ca = t
		[t]
		database = $d/db/index.txt
		new_certs_dir = $d/db
		serial = $d/db/serial
		default_md = sha256
		policy = any
		unique_subject = no
		x509_extensions = ext
		[any]
		commonName = supplied
		[ext]
		basicConstraints = critical,CA:FALSE
		keyUsage = critical,digitalSignature
		extendedKeyUsage = serverAuth
		subjectAltName = IP:127.0.0.1
	CNF
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/$name.key" -subj /CN=127.0.0.1 -out "$d/$name.csr" 2>/dev/null
	openssl ca -batch -notext -rand_serial -config "$d/ca.cnf" -cert "$2" \
		-keyfile "$3" -startdate "$4" -enddate "$5" -in "$d/$name.csr" \
		-out "$d/$name.crt" 2>/dev/null
}

# refused_with REASON: a send fails at the MP with REASON (curl's), logged
# and kept in status.json, and the batch goes to the FSP; the MP got none
refused_with() {
	raise 500 "KB-$BATS_TEST_NUMBER" 1 >/dev/null
	run quiet send
	[ "$status" -eq 0 ]
	[ "$output" = "sent 1, left 0 via fsp" ]
	grep -q "management point failed (https://127.0.0.1:$MP_PORT/mp/v1/statemsg: SSL.*$1.*); sent to the fallback status point" "$LOG" ||
		{ cat "$LOG"; return 1; }
	[ "$(nposted mp)" = 0 ]
	# the policy too, with the reason in status.json
	run quiet policy
	[ "$status" -eq 1 ]
	[[ "$(show .last_policy.error)" == *"$1"* ]]
}

@test "the first start makes a key (0600) and a certificate naming the GUID; show prints its fingerprint" {
	local g crt=$STATE/identity.crt owner
	raise 500 KB1 1 >/dev/null
	g=$(guid)
	[ "$(stat -c %a "$STATE/identity.key")" = 600 ]
	# as the user the agent runs as: [site] user when started as root
	owner=$(id -un)
	[ "$owner" = root ] && owner=sitesys
	[ "$(stat -c %U "$STATE/identity.key")" = "$owner" ]
	[ "$(stat -c %U "$crt")" = "$owner" ]
	[ "$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253)" = "subject=OU=sitesys-agent,CN=$g" ]
	# self-signed, for twenty years (7305 days)
	openssl verify -CAfile "$crt" "$crt" >/dev/null
	openssl x509 -in "$crt" -noout -checkend $((7304 * 86400)) >/dev/null
	openssl x509 -in "$crt" -noout -checkend $((7306 * 86400)) >/dev/null && false
	# its key is the certificate's
	[ "$(openssl pkey -in "$STATE/identity.key" -pubout)" = "$(openssl x509 -in "$crt" -noout -pubkey)" ]
	# show: the SHA-256 fingerprint of the certificate
	local fp
	fp=$(openssl x509 -in "$crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
	[ "$(show .identity.fingerprint)" = "$fp" ]
	agent show | grep -qx "fingerprint   $fp (SHA-256 of $crt)"
	# later starts load it: the same identity
	raise 500 KB2 1 >/dev/null
	[ "$(show .identity.fingerprint)" = "$fp" ]
	[ "$(grep -c 'made the key' "$LOG")" = 1 ]
}

@test "the agent presents its certificate to the MP and signs every batch with its key" {
	local crt=$STATE/identity.crt sha1 b text
	raise 500 KB1 1 >/dev/null
	raise 401 "CI-é" 2 >/dev/null
	run quiet send
	[ "$output" = "sent 2, left 0 via mp" ]
	sha1=$(openssl x509 -in "$crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f)
	grep -q "\"POST /mp/v1/statemsg HTTP/1.1\" 202 dn=\"OU=sitesys-agent,CN=$(guid)\" fp=$sha1" \
		"$SITE_DIR/fake-mp/logs/access.log"
	# the signature is the key's over the batch as sitesys-statemsg(5)
	# says: without "signature", client in lower case, sorted, compact,
	# non-ASCII escaped
	b=$(posted mp)
	text=$(jq -S -c -a 'del(.signature)' <<<"$b" |
		sed 's/\\u\([0-9a-f]\{4\}\)/\\u\U\1/g')
	jq -r .signature <<<"$b" | base64 -d >"$SITE_DIR/sig.der"
	openssl x509 -in "$crt" -noout -pubkey >"$SITE_DIR/pub.pem"
	printf '%s' "$text" | openssl dgst -sha256 -verify "$SITE_DIR/pub.pem" \
		-signature "$SITE_DIR/sig.der"
	# changed by one character, it does not verify
	printf '%s' "${text/KB1/KB2}" | openssl dgst -sha256 -verify "$SITE_DIR/pub.pem" \
		-signature "$SITE_DIR/sig.der" && false
	# the FSP gets the same signed batch, and no certificate
	touch "$SITE_DIR/fake-mp/down"
	raise 500 KB3 1 >/dev/null
	run quiet send
	[ "$output" = "sent 1, left 0 via fsp" ]
	[ "$(posted fsp | jq -r .signature | base64 -d | wc -c)" -ge 64 ]
}

@test "a corrupt or exposed key stops the agent with the file and the reason, and is kept as it was" {
	local key=$STATE/identity.key sum
	raise 500 KB1 1 >/dev/null
	head -c 100 /dev/urandom | base64 >"$key"
	sum=$(sha256sum "$key")
	for cmd in show "state --topic-type 500 --topic-id KB2 --state 1" send; do
		run agent $cmd
		[ "$status" -ne 0 ]
		[[ "$output" == *"\"$key\": not a PEM key"* ]] || { echo "$cmd: $output"; false; }
	done
	# the daemon too
	run "$AGENT" -c "$CONF" -f run
	[ "$status" -eq 1 ]
	[[ "$output" == *"\"$key\": not a PEM key"* ]]
	[ "$(sha256sum "$key")" = "$sum" ]
	[ "$(grep -c 'made the key' "$LOG")" = 1 ]
	# readable by others
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey >"$key"
	chmod 644 "$key"
	run agent show
	[ "$status" -ne 0 ]
	[[ "$output" == *"\"$key\": a private key must not be readable by group or others (mode 644)"* ]]
	[ "$(stat -c %a "$key")" = 644 ]
}

@test "the agent never talks http:// to a management point: the configuration is refused" {
	local before
	before=$(wc -l <"$SITE_DIR/fake-mp/logs/access.log")
	sed -i "s|^mp_url = https://|mp_url = http://|" "$CONF"
	for cmd in show send "-n run"; do
		run agent $cmd
		[ "$status" -eq 2 ]
		[ "$output" = "$CONF:3: mp_url: \"http://127.0.0.1:$MP_PORT/mp/v1\" is not an https:// URL" ] ||
			{ echo "$cmd: $output"; false; }
	done
	sed -i "s|^mp_url = http://.*|mp_url_template = http://%s:$MP_PORT/mp/v1|" "$CONF"
	run agent show
	[ "$status" -eq 2 ]
	[ "$output" = "$CONF:3: mp_url_template: \"http://%s:$MP_PORT/mp/v1\" is not an https:// URL" ]
	# HTTPS without the site CA to trust is refused too
	sed -i "s|^mp_url_template = http://.*|mp_url = https://127.0.0.1:$MP_PORT/mp/v1|; /^site_ca/d" "$CONF"
	run agent show
	[ "$status" -eq 2 ]
	[[ "$output" == "$CONF:3: mp_url: needs [agent] site_ca too: "* ]]
	# nothing reached the management point, and nothing was made
	[ "$(wc -l <"$SITE_DIR/fake-mp/logs/access.log")" = "$before" ]
	[ ! -e "$STATE" ]
}

@test "an MP certificate from another CA is refused, and so is a self-signed one" {
	local d=$SITE_DIR/certs
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/other-ca.key" -subj "/CN=another CA" -days 30 \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$d/other-ca.crt" 2>/dev/null
	server_cert other "$d/other-ca.crt" "$d/other-ca.key" \
		"$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
	fake_mp_serves "$d/other.crt" "$d/other.key"
	# the certificate is good, for 127.0.0.1: only its issuer is wrong
	openssl verify -CAfile "$d/other-ca.crt" "$d/other.crt" >/dev/null
	refused_with "unable to get local issuer certificate"
	# a self-signed one (the fake's own key), even for the right name
	openssl req -x509 -key "$d/other.key" -subj /CN=127.0.0.1 -days 30 \
		-addext subjectAltName=IP:127.0.0.1 -out "$d/self.crt" 2>/dev/null
	fake_mp_serves "$d/self.crt" "$d/other.key"
	refused_with "self-signed certificate"
}

@test "an expired or not yet valid MP certificate is refused" {
	local d=$SITE_DIR/certs
	server_cert expired "$SITE_CA" "$SITE_DIR/ca/ca.key" 20200101000000Z 20210101000000Z
	fake_mp_serves "$d/expired.crt" "$d/expired.key"
	refused_with "certificate has expired"
	server_cert future "$SITE_CA" "$SITE_DIR/ca/ca.key" 20990101000000Z 21000101000000Z
	fake_mp_serves "$d/future.crt" "$d/future.key"
	refused_with "certificate is not yet valid"
	# the same CA's, valid now: taken
	server_cert now "$SITE_CA" "$SITE_DIR/ca/ca.key" \
		"$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
	fake_mp_serves "$d/now.crt" "$d/now.key"
	raise 500 KB-NOW 1 >/dev/null
	run quiet send
	[ "$output" = "sent 1, left 0 via mp" ]
}

@test "an MP certificate for another name is refused" {
	site_issue "$SITE_DIR" mp-other.example.org
	fake_mp_serves "$SITE_DIR/ca/issued/mp-other.example.org.crt" \
		"$SITE_DIR/ca/issued/mp-other.example.org.key"
	refused_with "no alternative certificate subject name matches target host name '127.0.0.1'"
}

@test "a revoked MP certificate is refused once [agent] site_crl lists it" {
	local d=$SITE_DIR/certs
	# 127.0.0.2's certificate, kept (revoking deletes the CA's copy)
	mkdir -p "$d"
	site_issue "$SITE_DIR" 127.0.0.2
	cp "$SITE_DIR/ca/issued/127.0.0.2.crt" "$SITE_DIR/ca/issued/127.0.0.2.key" "$d/"
	fake_mp_serves "$d/127.0.0.2.crt" "$d/127.0.0.2.key" 127.0.0.2
	cp "$SITE_DIR/ca/ca.crl" "$AGENT_CRL"
	sed -i "s|^mp_url = .*|mp_url = https://127.0.0.2:$MP_PORT/mp/v1\nsite_crl = $AGENT_CRL|" "$CONF"
	raise 500 KB1 1 >/dev/null
	run quiet send
	[ "$output" = "sent 1, left 0 via mp" ]
	"$SITECTL" -c "$SITE_DIR/ca.conf" ca revoke 127.0.0.2 >/dev/null
	cp "$SITE_DIR/ca/ca.crl" "$AGENT_CRL"
	raise 500 KB2 1 >/dev/null
	run quiet send
	[ "$output" = "sent 1, left 0 via fsp" ]
	grep -q "management point failed (https://127.0.0.2:$MP_PORT/mp/v1/statemsg: SSL certificate problem: certificate revoked)" "$LOG"
	[ "$(nposted mp)" = 1 ]
	# without the list, the agent would not know
	sed -i '/^site_crl/d' "$CONF"
	raise 500 KB3 1 >/dev/null
	run quiet send
	[ "$output" = "sent 1, left 0 via mp" ]
}
