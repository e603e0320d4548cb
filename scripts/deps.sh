#!/bin/sh
# deps.sh - install the Debian packages sitesys builds, tests and runs with,
# and the unprivileged "sitesys" user its daemons switch to.
# As root: installs what is missing. Otherwise: names what is missing.
# clang and libclang-rt-dev (its sanitizers and libFuzzer, only a
# recommendation of clang) build the fuzz targets (tests/fuzz/).
# mosquitto and mosquitto-clients are a baseline of make bench (a real
# peer holding as many TLS connections as notifyd), never run otherwise.
# debhelper and lintian build and check the packages (make deb).
set -eu

PACKAGES="make gcc libc6-dev pkg-config libpq-dev libjansson-dev libfcgi-dev
libssl-dev libcurl4-openssl-dev libcmocka-dev postgresql postgresql-client
nginx curl jq bats mandoc groff-base cppcheck clang-format openssl clang
libclang-rt-dev libevent-dev mosquitto mosquitto-clients debhelper lintian"

missing=""
for p in $PACKAGES; do
	case "$p" in
	# any nginx flavour with the DAV and FastCGI modules will do
	nginx) command -v nginx >/dev/null 2>&1 && continue ;;
	esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
# PostgreSQL's server binaries: any Debian major version's
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
	case "$missing" in *postgresql*) ;; *) missing="$missing postgresql" ;; esac

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run as root: apt-get install$missing" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# policy-rc.d keeps the packages' own services from starting: the
	# tests and the demo run private instances
	made_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=yes
	fi
	rc=0
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	[ $rc = 0 ] || exit $rc
fi

if ! getent passwd sitesys >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin sitesys
		echo "deps: created system user sitesys"
	else
		echo "deps: note: no user sitesys; daemons started as root need it" >&2
	fi
fi
