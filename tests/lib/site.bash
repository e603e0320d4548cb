# site.bash - start and stop a private site: a PostgreSQL cluster on a unix
# socket and nginx on a loopback port, all under one directory.
# Sourced by the bats tests, scripts/demo.sh and the benchmarks.
#
#   site_pg_start DIR     initdb DIR/pg, start it, create database sitesys
#   site_pg_stop DIR
#   site_nginx_start DIR  the site's CA (DIR/ca) and nginx on 127.0.0.1:
#                         HTTPS on one free port, asking for client
#                         certificates (the management point's side), and
#                         plain HTTP on another (the fallback status
#                         point's); when SITE_NGINX_HOSTS lists other
#                         loopback addresses, an HTTPS server on each, same
#                         port, own certificate, locations and access log
#   site_nginx_stop DIR
#   site_issue DIR NAME   a certificate from the site's CA for server NAME
#   site_conf DIR         write DIR/sitesys.conf pointing at all of it, each
#                         program as its own database role
#   site_nginx_packaged, site_receiver_nginx
#                         an nginx of its own serving a packaged nginx site
#
# After site_pg_start: SITE_PGHOST, SITE_PGPORT; after site_nginx_start:
# SITE_HTTPS_PORT, SITE_HTTP_PORT, SITE_CA (the CA's certificate).

# the tree this library belongs to (its packaged nginx sites), found when
# it is sourced, whatever directory its user moves to after
SITE_TOP=${SITE_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SITE_PGBIN=${SITE_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# Run a command as the owner of the cluster: PostgreSQL refuses root.
site_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# A TCP port on 127.0.0.1 that nothing listens on (bounded tries).
site_free_port() {
	local port tries=0
	while [ $tries -lt 50 ]; do
		# $RANDOM repeats in each $(...) subshell: mix in its own pid;
		# below the kernel's ephemeral ports (32768 up), which any
		# connection made meanwhile may take before the server binds
		port=$((20000 + (RANDOM + BASHPID * 7919 + tries * 104729) % 12000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
			echo $port
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}

site_pg_start() {
	local dir=$1 port
	port=$(site_free_port) || return 1
	mkdir -p "$dir/pg" "$dir/pgsock"
	chmod 755 "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$dir/pg" "$dir/pgsock"
	fi
	site_as_pg "$SITE_PGBIN/initdb" -D "$dir/pg/data" -U postgres \
		--auth-local=peer --auth-host=scram-sha-256 -E UTF8 \
		--locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 ||
		{ cat "$dir/pg/initdb.log" >&2; return 1; }
	site_pg_auth "$dir/pg/data"
	# SITE_PG_CONF: more lines of postgresql.conf (a benchmark's own).
	# SITE_PG_LISTEN ADDRESS and SITE_PG_CLIENTS CIDR: hosts of a test's
	# own network reach the database by TCP, with their roles' passwords
	[ -z "${SITE_PG_LISTEN:-}" ] ||
		echo "host sitesys all ${SITE_PG_CLIENTS:?} scram-sha-256" >>"$dir/pg/data/pg_hba.conf"
	cat >>"$dir/pg/data/postgresql.conf" <<-CONF
		listen_addresses = '${SITE_PG_LISTEN:-}'
		password_encryption = scram-sha-256
		unix_socket_directories = '$dir/pgsock'
		port = $port
		fsync = on
		max_connections = 100
		shared_buffers = ${SITE_PG_SHARED_BUFFERS:-256MB}
		max_wal_size = 4GB
		checkpoint_timeout = 30min
		wal_buffers = 16MB
		${SITE_PG_CONF:-}
	CONF
	site_as_pg "$SITE_PGBIN/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" \
		-w -t 60 start >/dev/null || { cat "$dir/pg/server.log" >&2; return 1; }
	SITE_PGHOST=$dir/pgsock
	SITE_PGPORT=$port
	site_as_pg "$SITE_PGBIN/createdb" -h "$SITE_PGHOST" -p "$port" -U postgres sitesys
}

# site_pg_auth DATADIR: who may connect, and how. The cluster's superuser,
# postgres, only by peer authentication, as root, postgres or the user who
# runs the tests (the map "owner"); every other role by its password
# (SCRAM), which sitectl db init writes to [database] passfile. No trust.
site_pg_auth() {
	local data=$1
	cat >"$data/pg_hba.conf" <<-HBA
		# written by tests/lib/site.bash (site_pg_auth)
		local all postgres peer map=owner
		local all all scram-sha-256
	HBA
	cat >"$data/pg_ident.conf" <<-IDENT
		# written by tests/lib/site.bash (site_pg_auth)
		owner root postgres
		owner postgres postgres
		owner $(id -un) postgres
	IDENT
}

site_pg_stop() {
	local dir=$1
	[ -f "$dir/pg/data/postmaster.pid" ] || return 0
	site_as_pg "$SITE_PGBIN/pg_ctl" -D "$dir/pg/data" -m fast -w -t 60 stop >/dev/null
}

# The user nginx's workers run as, and the group of the FastCGI sockets.
site_web_user() {
	if [ "$(id -u)" = 0 ]; then echo sitesys; else id -un; fi
}

# site_ca_init DIR: the site's CA in DIR/ca (once), through sitectl.
site_ca_init() {
	local dir=$1
	SITE_CA=$dir/ca/ca.crt
	[ -f "$SITE_CA" ] && return 0
	printf '[ca]\ndir = %s/ca\n' "$dir" >"$dir/ca.conf"
	"${SITECTL:-build/sitectl}" -c "$dir/ca.conf" ca init \
		--name "sitesys test site CA" >/dev/null
}

# site_issue DIR NAME [ROLE]: DIR/ca/issued/NAME.crt and .key for server
# NAME (an FQDN or an IPv4 address) in role ROLE (mp), unless there.
site_issue() {
	local dir=$1 name=$2 role=${3:-mp}
	[ -f "$dir/ca/issued/$name.crt" ] && return 0
	"${SITECTL:-build/sitectl}" -c "$dir/ca.conf" ca issue \
		--server "$name" --role "$role" >/dev/null
}

# site_tls NAME: nginx's lines for a TLS server named NAME that asks every
# client for its certificate (agents' are self-signed: checked by the MP
# against the site database, not by nginx against a CA)
site_tls() {
	echo "    ssl_certificate $SITE_DIR_TLS/ca/issued/$1.crt;"
	echo "    ssl_certificate_key $SITE_DIR_TLS/ca/issued/$1.key;"
	echo "    ssl_protocols TLSv1.2 TLSv1.3;"
	echo "    ssl_verify_client optional_no_ca;"
	echo "    ssl_session_cache shared:sitesys_$(echo "$1" | tr -c 'A-Za-z0-9\n' _):1m;"
}

site_nginx_start() {
	local dir=$1 port tport user
	port=$(site_free_port) || return 1
	tport=$(site_free_port) || return 1
	site_ca_init "$dir" || return 1
	site_issue "$dir" 127.0.0.1 || return 1
	SITE_DIR_TLS=$dir
	mkdir -p "$dir/nginx/tmp" "$dir/nginx/logs" "$dir/nginx/conf.d/plain"
	user=$(site_web_user)
	{
		echo "daemon off; worker_processes 1; pid $dir/nginx/nginx.pid;"
		[ "$(id -u)" = 0 ] && echo "user $user;"
		echo "error_log $dir/nginx/logs/error.log;"
		echo "events { worker_connections 1024; }"
		echo "http {"
		echo "  access_log $dir/nginx/logs/access.log;"
		echo "  client_body_temp_path $dir/nginx/tmp/body;"
		echo "  proxy_temp_path $dir/nginx/tmp/proxy;"
		echo "  fastcgi_temp_path $dir/nginx/tmp/fastcgi;"
		echo "  uwsgi_temp_path $dir/nginx/tmp/uwsgi;"
		echo "  scgi_temp_path $dir/nginx/tmp/scgi;"
		echo "  server {"
		echo "    listen 127.0.0.1:$tport ssl;"
		site_tls 127.0.0.1
		echo "    include $dir/nginx/conf.d/*.loc;"
		echo "    location / { return 404; }"
		echo "    location = /health { return 200 \"ok\\n\"; }"
		echo "  }"
		echo "  server {"
		echo "    listen 127.0.0.1:$port;"
		echo "    include $dir/nginx/conf.d/plain/*.loc;"
		echo "    location / { return 404; }"
		echo "    location = /health { return 200 \"ok\\n\"; }"
		echo "  }"
		site_nginx_hosts "$dir" "$tport" || return 1
		echo "}"
	} >"$dir/nginx/nginx.conf" || return 1
	SITE_HTTP_PORT=$port
	SITE_HTTPS_PORT=$tport
	site_nginx_launch "$dir/nginx/nginx.conf" "$dir/nginx/logs/error.log"
	echo $! >"$dir/nginx/launcher.pid"
	site_nginx_ready "$dir/nginx/logs/error.log" "$port"
}

# site_nginx_launch CONF LOG: nginx in the background ($! is its pid)
site_nginx_launch() {
	nginx -c "$1" -e "$2" </dev/null >>"$2" 2>&1 &
}

# site_nginx_ready LOG PORT [URL]: wait (bounded) for /health on
# 127.0.0.1:PORT, or under URL (whatever its certificate: this asks
# whether nginx is up, not whether to trust it); the log if never
site_nginx_ready() {
	local i url=${3:-http://127.0.0.1:$2}
	for i in $(seq 1 100); do
		curl -kfsS "$url/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$1" >&2
	return 1
}

# An HTTPS server block for each address of SITE_NGINX_HOSTS (127.0.0.0/8
# only), with its own certificate: its locations in conf.d/ADDR/, its log
# logs/access-ADDR.log.
site_nginx_hosts() {
	local dir=$1 port=$2 host
	for host in ${SITE_NGINX_HOSTS:-}; do
		case "$host" in
		127.*) ;;
		*) echo "SITE_NGINX_HOSTS: $host is not a loopback address" >&2; return 1 ;;
		esac
		site_issue "$dir" "$host" || return 1
		mkdir -p "$dir/nginx/conf.d/$host"
		echo "  server {"
		echo "    listen $host:$port ssl;"
		site_tls "$host"
		echo "    access_log $dir/nginx/logs/access-$host.log;"
		echo "    include $dir/nginx/conf.d/$host/*.loc;"
		echo "    location / { return 404; }"
		echo "  }"
	done
}

# site_nginx_fcgi DIR PREFIX SOCKET [HOST]: pass PREFIX (e.g. /mp/v1/) to
# a FastCGI responder on SOCKET, and reload nginx. /fsp/ prefixes go to
# the plain HTTP server, the others to HTTPS, with the client's certificate
# (URL-encoded PEM, empty when none) in the parameter SSL_CLIENT_CERT;
# with HOST (one of SITE_NGINX_HOSTS), on that server only.
site_nginx_fcgi() {
	local dir=$1 prefix=$2 sock=$3 host=${4:-127.0.0.1} name conf url cert=
	name=$(echo "$prefix" | tr -c 'A-Za-z0-9\n' _)
	conf=$dir/nginx/conf.d/$name.loc
	url=https://$host:$SITE_HTTPS_PORT
	case "$prefix" in
	/fsp/*)
		conf=$dir/nginx/conf.d/plain/$name.loc
		url=http://127.0.0.1:$SITE_HTTP_PORT
		;;
	*) cert='fastcgi_param SSL_CLIENT_CERT $ssl_client_escaped_cert;' ;;
	esac
	[ "$host" = 127.0.0.1 ] || conf=$dir/nginx/conf.d/$host/$name.loc
	cat >"$conf" <<-LOC
		location $prefix {
		    client_max_body_size 1m;
		    fastcgi_pass unix:$sock;
		    include /etc/nginx/fastcgi_params;
		    $cert
		}
		location = /ready/$name { return 204; }
	LOC
	# the old workers accept until they have quit: wait for them, not
	# only for a new worker to answer
	local old i
	old=$(pgrep -P "$(cat "$dir/nginx/nginx.pid")" | paste -sd, -)
	nginx -c "$dir/nginx/nginx.conf" -e "$dir/nginx/logs/error.log" -s reload ||
		return 1
	for i in $(seq 1 100); do
		if [ "$(curl -s --cacert "$dir/ca/ca.crt" -o /dev/null -w '%{http_code}' "$url/ready/$name")" = 204 ] &&
			! ps -o pid= -p "${old:-0}" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "nginx did not take the location $prefix" >&2
	return 1
}

# site_nginx_poll DIR SOCKET: pass /notify/v1/ over HTTPS to notifyd's
# HTTP fallback on the unix SOCKET, as packaging/nginx/sitesys-mp.conf
# does: the client's certificate (URL-encoded PEM) in X-Client-Cert, its
# address in X-Real-IP, polls held up to two minutes; reload nginx.
site_nginx_poll() {
	local dir=$1 sock=$2 i old
	cat >"$dir/nginx/conf.d/notify.loc" <<-LOC
		location /notify/v1/ {
		    client_max_body_size 80k;
		    proxy_pass http://unix:$sock;
		    proxy_http_version 1.1;
		    proxy_set_header Connection "";
		    proxy_set_header X-Client-Cert \$ssl_client_escaped_cert;
		    proxy_set_header X-Real-IP \$remote_addr;
		    proxy_read_timeout 120s;
		    proxy_buffering off;
		}
		location = /ready/notify { return 204; }
	LOC
	old=$(pgrep -P "$(cat "$dir/nginx/nginx.pid")" | paste -sd, -)
	nginx -c "$dir/nginx/nginx.conf" -e "$dir/nginx/logs/error.log" -s reload ||
		return 1
	for i in $(seq 1 100); do
		if [ "$(curl -s --cacert "$dir/ca/ca.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$SITE_HTTPS_PORT/ready/notify")" = 204 ] &&
			! ps -o pid= -p "${old:-0}" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "nginx did not take the location /notify/v1/" >&2
	return 1
}

# site_nginx_packaged DIR NAME URL FILE... -- SED-EXPRESSION...: an nginx
# of its own, under DIR/NAME-nginx/, serving the packaged nginx files
# (packaging/nginx/FILE, in that order inside its http block) with the
# test's paths and addresses put in by the sed expressions (each given
# as "-e EXPR"); the IPv6 listens are dropped and fastcgi_params is
# Debian's. Waits (bounded) until URL answers at all; the master's pid
# in DIR/NAME-nginx/nginx.pid. With SITE_NETNS, nginx runs (and URL is
# asked) in that network namespace.
site_nginx_packaged() {
	local dir=$1 name=$2 url=$3 n=$1/$2-nginx i f files=() seds=() ns=()
	[ -z "${SITE_NETNS:-}" ] || ns=(ip netns exec "$SITE_NETNS")
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$SITE_TOP/packaging/nginx/$1"); shift; done
	shift
	seds=("$@")
	mkdir -p "$n/tmp" "$n/logs"
	{
		echo "daemon off; worker_processes 1; pid $n/nginx.pid;"
		[ "$(id -u)" = 0 ] && echo "user $(site_web_user);"
		echo "error_log $n/logs/error.log;"
		echo "events { worker_connections 256; }"
		echo "http {"
		echo "  access_log $n/logs/access.log;"
		for t in client_body proxy fastcgi uwsgi scgi; do
			echo "  ${t}_temp_path $n/tmp/$t;"
		done
		for f in "${files[@]}"; do
			sed -e '/listen \[::\]/d' \
				-e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
				"${seds[@]}" "$f" || return 1
		done
		echo "}"
	} >"$n/nginx.conf" || return 1
	"${ns[@]}" nginx -c "$n/nginx.conf" -e "$n/logs/error.log" </dev/null \
		>>"$n/logs/error.log" 2>&1 3>&- &
	for i in $(seq 1 100); do
		[ "$("${ns[@]}" curl -sk --noproxy '*' -o /dev/null -w '%{http_code}' "$url")" != 000 ] &&
			return 0
		sleep 0.1
	done
	cat "$n/logs/error.log" >&2
	return 1
}

# site_receiver_nginx DIR ADDR PORT SOCK NAME: the packaged site of
# sitesys-receiver on SOCK (site_nginx_packaged, as DIR/receiver-nginx),
# listening on ADDR:PORT with NAME's certificate of the CA in DIR/ca,
# checking clients against that CA and its revocation list.
site_receiver_nginx() {
	local dir=$1 addr=$2 port=$3 sock=$4 name=$5
	site_nginx_packaged "$dir" receiver "https://$addr:$port/" \
		sitesys-receiver.conf -- \
		-e "s|listen 8443 ssl;|listen $addr:$port ssl;|" \
		-e "s|/etc/sitesys/tls/site-server\.crt|$dir/ca/issued/$name.crt|" \
		-e "s|/etc/sitesys/tls/site-server\.key|$dir/ca/issued/$name.key|" \
		-e "s|/etc/sitesys/tls/ca\.|$dir/ca/ca.|" \
		-e "s|unix:/run/sitesys/receiver\.sock|unix:$sock|"
}

# site_sender_tls DIR HOST NAME: HOST/tls/ holds NAME's certificate and
# key from the CA in DIR/ca, the CA's certificate and its revocation list,
# readable by [site] user, as sitesys-sender(8) runs
site_sender_tls() {
	local ca=$1/ca tls=$2/tls
	mkdir -p "$tls"
	cp "$ca/issued/$3.crt" "$ca/issued/$3.key" "$ca/ca.crt" "$ca/ca.crl" "$tls/" ||
		return 1
	[ "$(id -u)" != 0 ] || chown -R "$(site_web_user)" "$tls"
}

# site_sender_conf HOST URL NAME STATE: the [sender] section of a host
# whose TLS files site_sender_tls put in HOST/tls, sending to URL, its
# state in STATE written every second; more keys may follow it
site_sender_conf() {
	cat <<-CONF
		[sender]
		url = $2
		cert = $1/tls/$3.crt
		key = $1/tls/$3.key
		site_ca = $1/tls/ca.crt
		site_crl = $1/tls/ca.crl
		state_file = $4
		status_seconds = 1
	CONF
}

# site_nginx_quit PIDFILE: ask the nginx whose master wrote PIDFILE to
# finish (SIGQUIT), and kill it if it has not within 10 s.
site_nginx_quit() {
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -QUIT "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

site_nginx_stop() {
	site_nginx_quit "$1/nginx/nginx.pid"
}

# site_conf DIR: [database] conninfo is the administrator's (postgres, for
# sitectl db init and upgrade); each program connects as its own role with
# the password that sitectl db init writes to DIR/pgpass.
site_conf() {
	local dir=$1 group= db
	db="host=$SITE_PGHOST port=$SITE_PGPORT dbname=sitesys"
	# the FastCGI sockets are for nginx's workers and no one else: as
	# root, their group is nginx's user's; else nginx runs as this user
	[ "$(id -u)" = 0 ] && group=$(site_web_user)
	mkdir -p "$dir/inbox"
	cat >"$dir/sitesys.conf" <<-CONF
		# written by tests/lib/site.bash
		[site]
		inbox_dir = $dir/inbox
		fastcgi_group = $group
		[database]
		conninfo = $db user=postgres
		passfile = $dir/pgpass
		[console]
		conninfo = $db user=sitesys_console passfile=$dir/pgpass
		[mp]
		conninfo = $db user=sitesys_mp passfile=$dir/pgpass
		[statesys]
		conninfo = $db user=sitesys_statesys passfile=$dir/pgpass
		[notifyd]
		conninfo = $db user=sitesys_notifyd passfile=$dir/pgpass
		[notifymgr]
		conninfo = $db user=sitesys_notifymgr passfile=$dir/pgpass
		[inbox]
		settle_seconds = 2
		[ca]
		dir = $dir/ca
	CONF
	export SITESYS_CONF=$dir/sitesys.conf
}

# site_fake_start DIR NAME [PORT]: a stand-in for a management point
# (NAME=mp) or a fallback status point (NAME=fsp): its own nginx on a free
# loopback port (or PORT), under DIR/fake-NAME/, answering
#   POST /NAME/v1/statemsg  202, keeping each body as a file in statemsg/
#                           (503 instead while the file "down" exists)
#   POST /NAME/v1/register  the file registered.json, keeping each body in
#                           register/ (404 while there is no such file)
#   GET  /NAME/v1/policy    the file policy.json (403 "unregistered", as
#                           the MP answers a certificate it does not know,
#                           while there is none)
# The fake MP speaks HTTPS only, as the real one does: a certificate of
# the site's CA (DIR/ca, made if need be; SITE_CA) for 127.0.0.1, or
# SITE_FAKE_CERT and SITE_FAKE_KEY, on SITE_FAKE_HOST (127.0.0.1); it asks
# for the client's certificate and logs its subject and SHA-1 fingerprint
# in logs/access.log ('"REQUEST" STATUS dn="..." fp=...'). The fake FSP is
# plain HTTP. Sets SITE_FAKE_PORT. Bodies are kept by nginx itself: a
# location that proxies reads the whole body first, and
# client_body_in_file_only keeps the file it read it into.
site_fake_start() {
	local dir=$1 name=$2 port=${3:-} host=${SITE_FAKE_HOST:-127.0.0.1}
	local fd=$dir/fake-$name scheme=https crt=${SITE_FAKE_CERT:-} key=${SITE_FAKE_KEY:-}
	[ -n "$port" ] || port=$(site_free_port) || return 1
	[ "$name" = fsp ] && scheme=http
	if [ $scheme = https ] && [ -z "$crt" ]; then
		site_ca_init "$dir" && site_issue "$dir" "$host" || return 1
		crt=$dir/ca/issued/$host.crt
		key=$dir/ca/issued/$host.key
	fi
	mkdir -p "$fd/tmp" "$fd/logs"
	{
		echo "daemon off; worker_processes 1; pid $fd/nginx.pid;"
		[ "$(id -u)" = 0 ] && echo "user $(site_web_user);"
		echo "error_log $fd/logs/error.log;"
		echo "events { worker_connections 64; }"
		echo "http {"
		echo "  log_format fake '\"\$request\" \$status dn=\"\$ssl_client_s_dn\" fp=\$ssl_client_fingerprint';"
		echo "  access_log $fd/logs/access.log fake;"
		echo "  client_body_temp_path $fd/tmp/body;"
		echo "  proxy_temp_path $fd/tmp/proxy;"
		echo "  fastcgi_temp_path $fd/tmp/fastcgi;"
		echo "  uwsgi_temp_path $fd/tmp/uwsgi;"
		echo "  scgi_temp_path $fd/tmp/scgi;"
		echo "  default_type application/json;"
		echo "  server {"
		if [ $scheme = https ]; then
			echo "    listen $host:$port ssl;"
			echo "    ssl_certificate $crt;"
			echo "    ssl_certificate_key $key;"
			echo "    ssl_protocols TLSv1.2 TLSv1.3;"
			echo "    ssl_verify_client optional_no_ca;"
		else
			echo "    listen $host:$port;"
		fi
		echo "    location / { return 404; }"
		echo "    location = /health { return 200 \"ok\\n\"; }"
		echo "    location = /$name/v1/statemsg {"
		echo "      if (-f $fd/down) { return 503 \"down\\n\"; }"
		echo "      client_body_in_file_only on;"
		echo "      client_body_temp_path $fd/statemsg;"
		echo "      client_max_body_size 2m;"
		echo "      proxy_method GET;"
		echo "      proxy_pass_request_body off;"
		echo "      proxy_set_header Content-Length \"\";"
		echo "      proxy_pass $scheme://$host:$port/_fake/accepted;"
		echo "    }"
		echo "    location = /$name/v1/register {"
		echo "      client_body_in_file_only on;"
		echo "      client_body_temp_path $fd/register;"
		echo "      proxy_method GET;"
		echo "      proxy_pass_request_body off;"
		echo "      proxy_set_header Content-Length \"\";"
		echo "      proxy_pass $scheme://$host:$port/_fake/registered;"
		echo "    }"
		echo "    location = /$name/v1/policy {"
		echo "      if (!-f $fd/policy.json) {"
		echo "        return 403 '{\"error\":\"this certificate is bound to no client\",\"code\":\"unregistered\"}';"
		echo "      }"
		echo "      alias $fd/policy.json;"
		echo "    }"
		echo "    location = /_fake/registered { alias $fd/registered.json; }"
		echo "    location = /_fake/accepted {"
		echo "      return 202 '{\"format\":\"sitesys.ack/1\"}\\n';"
		echo "    }"
		echo "  }"
		echo "}"
	} >"$fd/nginx.conf"
	site_nginx_launch "$fd/nginx.conf" "$fd/logs/error.log"
	SITE_FAKE_PORT=$port
	site_nginx_ready "$fd/logs/error.log" "$port" "$scheme://$host:$port"
}

# site_fake_stop DIR NAME: stop what site_fake_start DIR NAME started.
site_fake_stop() {
	site_nginx_quit "$1/fake-$2/nginx.pid"
}

# site_bench_db: for a benchmark, a private cluster holding the schema
# (sitectl db init) and its sitesys.conf, in a new directory of /var/tmp
# (SITE_BENCH_DIR) that is stopped and removed when the shell exits
site_bench_db() {
	SITE_BENCH_DIR=$(mktemp -d /var/tmp/sitesys-bench.XXXXXX)
	# shellcheck disable=SC2064 # the directory is fixed from here on
	trap "site_pg_stop '$SITE_BENCH_DIR' >/dev/null 2>&1 || true; rm -rf '$SITE_BENCH_DIR'" EXIT
	site_pg_start "$SITE_BENCH_DIR" >/dev/null
	site_conf "$SITE_BENCH_DIR"
	"${BUILD:-build}/sitectl" db init >/dev/null
}
