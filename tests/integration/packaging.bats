#!/usr/bin/env bats
# The packages (make deb) and make install: what each package holds,
# lintian, units systemd accepts, the installed programs checking the
# packaged configuration, and on this host install, remove and purge
# that leave nothing behind.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
PKGS="sitesys-common sitesys-console sitesys-fsp sitesys-mp sitesys-notifymgr sitesys-statesys sitesys-sender sitesys-agent"

setup_file() {
	PKG_DIR=$(mktemp -d /tmp/sitesys-pkg.XXXXXX)
	export PKG_DIR
	BUILD=$PKG_DIR bash "$TOP/scripts/deb.sh" >"$PKG_DIR/deb.out" 2>&1 || {
		cat "$PKG_DIR/deb.out" >&3
		return 1
	}
}

teardown_file() {
	# a failed install test must not leave the packages on the host
	dpkg -P $PKGS >/dev/null 2>&1 || true
	rm -rf "$PKG_DIR"
}

deb() { echo "$PKG_DIR"/deb/"$1"_*.deb; }
holds() { dpkg-deb -c "$(deb "$1")" | awk '{ print $6 }' | grep -qx "./$2"; }

@test "make deb builds every role's package, and lintian finds no error" {
	for p in $PKGS; do
		[ -f "$(deb $p)" ] || { echo "no package $p"; false; }
	done
	run grep '^E:' "$PKG_DIR/deb.out"
	[ "$status" -eq 1 ]
}

@test "each package holds its programs, unit, man pages and nginx site; the configuration is a conffile" {
	holds sitesys-fsp usr/sbin/sitesys-fsp
	holds sitesys-fsp lib/systemd/system/sitesys-fsp.service
	holds sitesys-fsp usr/share/man/man8/sitesys-fsp.8.gz
	holds sitesys-fsp etc/nginx/sites-available/sitesys-fsp.conf
	holds sitesys-mp usr/sbin/sitesys-notifyd
	holds sitesys-mp lib/systemd/system/sitesys-notifyd.service
	holds sitesys-mp etc/nginx/sites-available/sitesys-mp.conf
	holds sitesys-statesys lib/systemd/system/sitesys-statesys.service
	holds sitesys-statesys usr/sbin/sitesys-receiver
	holds sitesys-statesys etc/nginx/sites-available/sitesys-receiver.conf
	holds sitesys-sender usr/sbin/sitesys-sender
	holds sitesys-sender lib/systemd/system/sitesys-sender.service
	dpkg-deb -f "$(deb sitesys-mp)" Recommends | grep -q "sitesys-sender"
	holds sitesys-notifymgr lib/systemd/system/sitesys-notifymgr.service
	holds sitesys-agent lib/systemd/system/sitesys-agent.service
	holds sitesys-console usr/sbin/sitectl
	holds sitesys-common usr/share/man/man5/sitesys.conf.5.gz
	dpkg-deb -f "$(deb sitesys-mp)" Depends | grep -q "sitesys-common (= 0.1.0)"
	[ "$(dpkg-deb --ctrl-tarfile "$(deb sitesys-common)" | tar -xOf - ./conffiles)" = /etc/sitesys/sitesys.conf ]
}

@test "make install puts the files under DESTDIR and PREFIX, and never overwrites a configuration" {
	local d=$PKG_DIR/destdir
	make -C "$TOP" --no-print-directory install DESTDIR="$d" PREFIX=/usr/local >/dev/null
	[ -x "$d/usr/local/sbin/sitesys-statesys" ]
	[ -f "$d/usr/local/share/man/man8/sitectl.8" ]
	grep -qx "ExecStart=/usr/local/sbin/sitesys-statesys -f" "$d/usr/local/lib/systemd/system/sitesys-statesys.service"
	echo "# mine" >>"$d/etc/sitesys/sitesys.conf"
	make -C "$TOP" --no-print-directory install DESTDIR="$d" PREFIX=/usr/local >/dev/null
	[ "$(tail -1 "$d/etc/sitesys/sitesys.conf")" = "# mine" ]
}

@test "installed, the units pass systemd's check and the programs accept the packaged configuration; purged, nothing is left" {
	[ "$(id -u)" = 0 ] || skip "installing packages needs root"
	if [ -e /etc/sitesys ] || dpkg -l $PKGS 2>/dev/null | grep -q '^ii'; then
		skip "sitesys is installed on this host already: not touching it"
	fi
	run dpkg -i $(for p in $PKGS; do deb $p; done)
	[ "$status" -eq 0 ]
	id sitesys
	[ "$(stat -c '%U %a' /var/spool/sitesys)" = "sitesys 750" ]
	# no unit starts before it is configured
	run systemd-analyze verify /lib/systemd/system/sitesys-*.service
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for p in sitesys-fsp sitesys-statesys sitesys-notifymgr sitesys-mp \
		sitesys-receiver; do
		run /usr/sbin/$p -n
		[ "$status" -eq 0 ] || { echo "$p -n: $output"; false; }
	done
	/usr/sbin/sitectl config show >/dev/null
	run dpkg -r $PKGS
	[ "$status" -eq 0 ]
	[ ! -e /usr/sbin/sitesys-fsp ]
	[ -e /etc/sitesys/sitesys.conf ] # removed, not purged: kept
	run dpkg -P $PKGS
	[ "$status" -eq 0 ]
	[ ! -e /etc/sitesys ]
	[ ! -e /var/spool/sitesys ]
	[ ! -e /lib/systemd/system/sitesys-mp.service ]
	[ ! -e /etc/nginx/sites-available/sitesys-mp.conf ]
}
