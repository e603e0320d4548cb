#!/usr/bin/env bats
# sitectl ca: the site's certificate authority, checked with openssl(1)
# as a peer would check what it issues. Needs no database.

load helpers

setup() {
	CA_TMP=$(mktemp -d /tmp/sitesys-ca.XXXXXX)
	CA=$CA_TMP/ca
	export SITESYS_CONF=$CA_TMP/sitesys.conf
	printf '[ca]\ndir = %s\n' "$CA" >"$SITESYS_CONF"
}

teardown() {
	rm -rf "$CA_TMP"
}

# the mode of a file, as stat prints it (600, 644 ...)
mode_of() { stat -c %a "$1"; }

# verify CERT against the CA and its CRL, as nginx and our daemons will
verify() {
	openssl verify -CAfile "$CA/ca.crt" -crl_check -CRLfile "$CA/ca.crl" "$1"
}

@test "ca init makes a P-256 key (0600), a self-signed CA and an empty CRL" {
	run "$SITECTL" ca init
	[ "$status" -eq 0 ]
	[[ "$output" == *"made the site CA \"sitesys site CA\""* ]]
	[ "$(mode_of "$CA/ca.key")" = 600 ]
	[ "$(mode_of "$CA")" = 700 ]
	openssl pkey -in "$CA/ca.key" -noout -text | grep -q 'NIST CURVE: P-256'
	openssl x509 -in "$CA/ca.crt" -noout -text | grep -q 'CA:TRUE'
	openssl verify -CAfile "$CA/ca.crt" "$CA/ca.crt"
	openssl crl -in "$CA/ca.crl" -noout -CAfile "$CA/ca.crt" 2>&1 | grep -q 'verify OK'
	# the fingerprint printed is the certificate's
	fp=$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
	[[ "$output" == *"SHA-256 fingerprint $fp"* ]]
}

@test "ca init refuses to replace a CA, and changes nothing" {
	"$SITECTL" ca init >/dev/null
	sum=$(cat "$CA/ca.key" "$CA/ca.crt" | sha256sum)
	run "$SITECTL" ca init --name other
	[ "$status" -eq 1 ]
	[[ "$output" == *"a site CA exists in \"$CA\" already: refusing to replace it"* ]]
	[ "$(cat "$CA/ca.key" "$CA/ca.crt" | sha256sum)" = "$sum" ]
}

@test "ca issue: a key (0600) and a certificate for server and client auth, the FQDN in subjectAltName" {
	"$SITECTL" ca init >/dev/null
	run "$SITECTL" ca issue --server MP1.Example.ORG --role mp
	[ "$status" -eq 0 ]
	[[ "$output" == *"to mp1.example.org (role mp) for 397 days"* ]]
	crt=$CA/issued/mp1.example.org.crt
	[ "$(mode_of "$CA/issued/mp1.example.org.key")" = 600 ]
	[ "$(mode_of "$crt")" = 644 ]
	verify "$crt"
	text=$(openssl x509 -in "$crt" -noout -text)
	[[ "$text" == *"DNS:mp1.example.org"* ]]
	[[ "$text" == *"TLS Web Server Authentication, TLS Web Client Authentication"* ]]
	[[ "$text" == *"CA:FALSE"* ]]
	[[ "$text" == *"Subject: CN = mp1.example.org, OU = mp"* ]]
	# the key is the certificate's
	[ "$(openssl pkey -in "$CA/issued/mp1.example.org.key" -pubout)" = \
		"$(openssl x509 -in "$crt" -noout -pubkey)" ]
}

@test "ca issue refuses a name that is not an FQDN, an unknown role, no CA, a second certificate; nothing written" {
	run "$SITECTL" ca issue --server mp1.example.org --role mp
	[ "$status" -eq 1 ]
	[[ "$output" == *"no site CA in \"$CA\": make one with \"sitectl ca init\""* ]]
	[ ! -e "$CA" ]
	"$SITECTL" ca init >/dev/null
	for bad in mp1 -mp.example.org mp_1.example.org 'mp1..example.org' 'mp1.example.org.' ''; do
		run "$SITECTL" ca issue --server "$bad" --role mp
		[ "$status" -eq 2 ]
		[[ "$output" == *"\"$bad\" is not a fully qualified domain name"* ]]
	done
	run "$SITECTL" ca issue --server mp1.example.org --role web
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown role "web": a site system is dp, clouddp, sup, smp, mp, cmg, fsp or site-server'* ]]
	[ -z "$(ls "$CA/issued")" ]
	"$SITECTL" ca issue --server mp1.example.org --role mp >/dev/null
	sum=$(cat "$CA"/issued/* | sha256sum)
	run "$SITECTL" ca issue --server mp1.example.org --role mp
	[ "$status" -eq 1 ]
	[[ "$output" == *"mp1.example.org holds a certificate already: revoke it first"* ]]
	[ "$(cat "$CA"/issued/* | sha256sum)" = "$sum" ]
}

@test "ca list shows each certificate with its role, serial, expiry and state" {
	"$SITECTL" ca init >/dev/null
	"$SITECTL" ca issue --server mp1.example.org --role mp >/dev/null
	"$SITECTL" ca issue --server fsp1.example.org --role fsp >/dev/null
	run "$SITECTL" ca list --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.[] | .server + ":" + .role + ":" + .state] | join(" ")' <<<"$output")" = \
		"fsp1.example.org:fsp:valid mp1.example.org:mp:valid" ]
	serial=$(openssl x509 -in "$CA/issued/mp1.example.org.crt" -noout -serial | sed 's/.*=//')
	[ "$(jq -r '.[] | select(.server == "mp1.example.org") | .serial' <<<"$output")" = "$serial" ]
	run "$SITECTL" ca list
	[[ "${lines[0]}" == SERVER*ROLE*SERIAL*"NOT AFTER"*STATE ]]
	[[ "${lines[2]}" == "mp1.example.org"*"$serial"*valid ]]
}

@test "ca revoke by name or serial: the CRL lists it, verification fails, the key is gone, a new one can be issued" {
	"$SITECTL" ca init >/dev/null
	"$SITECTL" ca issue --server mp1.example.org --role mp >/dev/null
	"$SITECTL" ca issue --server mp2.example.org --role mp >/dev/null
	cp "$CA/issued/mp1.example.org.crt" "$CA_TMP/mp1.crt"
	s2=$(openssl x509 -in "$CA/issued/mp2.example.org.crt" -noout -serial | sed 's/.*=//')
	run "$SITECTL" ca revoke mp1.example.org
	[ "$status" -eq 0 ]
	run "$SITECTL" ca revoke "$(tr A-F a-f <<<"$s2")"
	[ "$status" -eq 0 ]
	[[ "$output" == *"revoked certificate $s2 of mp2.example.org"* ]]
	run verify "$CA_TMP/mp1.crt"
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate revoked"* ]]
	[ "$(openssl crl -in "$CA/ca.crl" -noout -text | grep -c 'Serial Number')" = 2 ]
	[ ! -e "$CA/issued/mp1.example.org.key" ]
	run "$SITECTL" ca revoke mp1.example.org
	[ "$status" -eq 1 ]
	[[ "$output" == *"of mp1.example.org is revoked already"* ]]
	run "$SITECTL" ca revoke nosuch.example.org
	[ "$status" -eq 1 ]
	[[ "$output" == *'no certificate of a server or with a serial "nosuch.example.org"'* ]]
	# rotation: a new certificate for the same server verifies
	"$SITECTL" ca issue --server mp1.example.org --role mp >/dev/null
	verify "$CA/issued/mp1.example.org.crt"
	[ "$("$SITECTL" ca list --json | jq -r '[.[] | select(.server == "mp1.example.org") | .state] | sort | join(" ")')" = "revoked valid" ]
}

@test "a CA key readable by others is refused with the reason" {
	"$SITECTL" ca init >/dev/null
	chmod 644 "$CA/ca.key"
	run "$SITECTL" ca issue --server mp1.example.org --role mp
	[ "$status" -eq 1 ]
	[[ "$output" == *"\"$CA/ca.key\": a private key must not be readable by group or others (mode 644)"* ]]
	[ -z "$(ls "$CA/issued")" ]
}

@test "ca usage errors exit 2" {
	run "$SITECTL" ca issue --server mp1.example.org
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage:"*"ca issue --server FQDN --role ROLE"* ]]
	run "$SITECTL" ca revoke
	[ "$status" -eq 2 ]
	run "$SITECTL" ca nosuch
	[ "$status" -eq 2 ]
}

@test "ca crl writes the list anew, valid for crl_days from now, with every revocation still in it" {
	"$SITECTL" ca init >/dev/null
	"$SITECTL" ca issue --server mp1.example.org --role mp >/dev/null
	"$SITECTL" ca revoke mp1.example.org >/dev/null
	# as if the list had been written long ago: it ends within a day
	printf 'crl_days = 1\n' >>"$SITESYS_CONF"
	"$SITECTL" ca crl >/dev/null
	short=$(date -d "$(openssl crl -in "$CA/ca.crl" -noout -nextupdate | sed 's/.*=//')" +%s)
	sed -i '/crl_days/d' "$SITESYS_CONF"
	printf 'crl_days = 30\n' >>"$SITESYS_CONF"
	run "$SITECTL" ca crl
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote the CRL \"$CA/ca.crl\", valid for 30 days"* ]]
	next=$(date -d "$(openssl crl -in "$CA/ca.crl" -noout -nextupdate | sed 's/.*=//')" +%s)
	[ $((next - short)) -ge $((29 * 86400)) ]
	[ "$(openssl crl -in "$CA/ca.crl" -noout -text | grep -c 'Serial Number')" = 1 ]
	openssl crl -in "$CA/ca.crl" -noout -CAfile "$CA/ca.crt" 2>&1 | grep -q 'verify OK'
}
