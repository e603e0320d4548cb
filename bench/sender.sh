#!/bin/bash
# sender.sh - inbox files across hosts: sitesys-sender delivering an outbox
# of SENDER_FILES files (2 KB each, as a small state message batch) to
# sitesys-receiver behind its packaged nginx site, over HTTPS on loopback,
# beside two baselines from the same run: curl PUTting the same files to
# the same receiver one after another on one kept-alive connection, and
# the same to a trivial FastCGI responder behind the same nginx site (what
# HTTPS, nginx and FastCGI cost without writing anything). The receiver
# makes each file durable before it answers, so one sender's files/s is
# bounded by the disk's fsync latency.
#
# Settings it changes from the shipped ones: [inbox] settle_seconds = 0,
# [sender] status_seconds = 1, [receiver] threads = 4; the [sender] keys
# without a default (url, cert, key, site_ca, site_crl) are set.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
SITECTL=$BUILD/sitectl
. tests/lib/site.bash
N=${SENDER_FILES:-2000}

dir=$(mktemp -d /tmp/sitesys-bench.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "$dir"/*-nginx/nginx.pid "$dir"/t/*-nginx/nginx.pid; do site_nginx_quit "$p"; done
	rm -rf "$dir"
}
trap cleanup EXIT

group=
[ "$(id -u)" = 0 ] && group=$(site_web_user)
site_ca_init "$dir"
site_issue "$dir" 127.0.0.1 site-server
site_issue "$dir" mp1.bench mp
site_sender_tls "$dir" "$dir/mp1" mp1.bench
[ "$(id -u)" != 0 ] || chown "$(site_web_user)" "$dir/mp1"
cat >"$dir/site.conf" <<-CONF
	[site]
	inbox_dir = $dir/site
	fastcgi_group = $group
	[receiver]
	fastcgi_socket = $dir/receiver.sock
	threads = 4
CONF
"$BUILD/sitesys-receiver" -f -c "$dir/site.conf" 2>>"$dir/receiver.log" &
pids+=($!)
"$BUILD/tests/fcgi-responder" trivial "$dir/trivial.sock" 4 2>>"$dir/trivial.log" &
pids+=($!)
for _ in $(seq 1 100); do
	[ -S "$dir/receiver.sock" ] && [ -S "$dir/trivial.sock" ] && break
	sleep 0.1
done
[ "$(id -u)" != 0 ] || chgrp "$group" "$dir/trivial.sock" && chmod 660 "$dir/trivial.sock"
rport=$(site_free_port)
tport=$(site_free_port)
site_receiver_nginx "$dir" 127.0.0.1 "$rport" "$dir/receiver.sock" 127.0.0.1
mkdir -p "$dir/t"
site_nginx_packaged "$dir/t" trivial "https://127.0.0.1:$tport/" \
	sitesys-receiver.conf -- \
	-e "s|listen 8443 ssl;|listen 127.0.0.1:$tport ssl;|" \
	-e "s|/etc/sitesys/tls/site-server\\.|$dir/ca/issued/127.0.0.1.|" \
	-e "s|/etc/sitesys/tls/ca\\.|$dir/ca/ca.|" \
	-e "s|sitesys_receiver:|sitesys_trivial:|" \
	-e "s|unix:/run/sitesys/receiver\\.sock|unix:$dir/trivial.sock|"

# N files of 2 KB under protocol names, in outbox/ (kept for the runs)
mkdir -p "$dir/files"
pad=$(head -c 1900 /dev/zero | tr '\0' x)
for i in $(seq 1 "$N"); do
	printf '{"format":"sitesys.bench/1","n":%d,"pad":"%s"}\n' "$i" "$pad" \
		>"$dir/files/$(printf '17960000000%05d' "$i").bench.1.$i.smx"
done

now() { date +%s.%N; }
rate() { echo "$N / ($2 - $1)" | bc -l | xargs printf '%.0f'; }

# curl_puts PORT: PUT every file in order on one connection; files/s
curl_puts() {
	local cfg=$dir/curl.cfg f t0 t1
	: >"$cfg"
	for f in "$dir"/files/*; do
		printf 'upload-file = "%s"\nurl = "https://127.0.0.1:%s/inbox/v1/statsys.box?name=%s"\noutput = "/dev/null"\n' \
			"$f" "$1" "${f##*/}" >>"$cfg"
	done
	t0=$(now)
	curl -sS --noproxy '*' --fail --cacert "$dir/ca/ca.crt" \
		--cert "$dir/ca/issued/mp1.bench.crt" --key "$dir/ca/issued/mp1.bench.key" \
		-K "$cfg"
	t1=$(now)
	rate "$t0" "$t1"
}

# sender_run: the outbox filled, then sitesys-sender until it is empty
sender_run() {
	local o=$dir/mp1/inbox/statsys.box t0 t1 pid
	rm -rf "$dir/mp1/inbox"
	find "$dir/site/statsys.box/incoming" -type f -delete
	mkdir -p "$o/incoming" "$o/tmp" "$o/corrupt"
	cp "$dir"/files/* "$o/incoming/"
	[ "$(id -u)" != 0 ] || chown -R "$(site_web_user)" "$dir/mp1/inbox"
	{
		printf '[site]\ninbox_dir = %s/inbox\n[inbox]\nsettle_seconds = 0\n' "$dir/mp1"
		site_sender_conf "$dir/mp1" "https://127.0.0.1:$rport" mp1.bench "$dir/mp1/sender.json"
		echo "boxes = statsys.box"
	} >"$dir/mp1.conf"
	t0=$(now)
	"$BUILD/sitesys-sender" -f -c "$dir/mp1.conf" 2>>"$dir/sender.log" &
	pid=$!
	for _ in $(seq 1 6000); do
		[ -z "$(ls "$o/incoming")" ] && break
		sleep 0.01
	done
	t1=$(now)
	kill "$pid"
	wait "$pid" || true
	[ -z "$(ls "$o/incoming")" ] || { echo "sender.sh: the sender did not finish" >&2; exit 1; }
	[ "$(ls "$dir/site/statsys.box/incoming" | wc -l)" = "$N" ] ||
		{ echo "sender.sh: the site has not every file" >&2; exit 1; }
	rate "$t0" "$t1"
}

s=$(sender_run)
find "$dir/site/statsys.box/incoming" -type f -delete
c=$(curl_puts "$rport")
t=$(curl_puts "$tport")
echo "inbox files across hosts, $N files of 2 KB over HTTPS on loopback:"
printf '  sitesys-sender to sitesys-receiver      %6s files/s\n' "$s"
printf '  curl, one connection, to the receiver   %6s files/s (baseline)\n' "$c"
printf '  curl, one connection, trivial responder %6s files/s (HTTPS and nginx alone)\n' "$t"
printf '  sender / curl to the receiver: %s\n' "$(echo "$s / $c" | bc -l | xargs printf '%.2f')"
