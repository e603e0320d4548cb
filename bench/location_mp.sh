#!/bin/bash
# location_mp.sh - complete location answers through nginx and sitesys-mp
# at 64 concurrent clients, beside a trivial libfcgi responder behind the
# same nginx (bench/location_http.c), with a realistic boundary model in a
# private site database: 20,000 boundaries (subnets, ranges, AD sites) in
# 2,000 groups, each with two distribution points and a management point,
# each group linked to two neighbours.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
. tests/lib/site.bash

site_bench_db
dir=$SITE_BENCH_DIR
"$BUILD/sitectl" site add ABC --name "Bench site" >/dev/null
psql() { command psql -X -q -A -t -h "$SITE_PGHOST" -p "$SITE_PGPORT" -U postgres -d sitesys "$@"; }
psql <<'SQL'
BEGIN;
INSERT INTO boundary_group (name, site_code)
    SELECT 'BG' || g, 'ABC' FROM generate_series(1, 2000) g;
-- 10.a.b.0/24 subnets, 16 per group
INSERT INTO boundary (name, type, prefix)
    SELECT 'net' || i, 'subnet',
           ('10.' || (i / 256) || '.' || (i % 256) || '.0/24')::cidr
    FROM generate_series(0, 31999) i WHERE i % 2 = 0;
-- ranges in 172.16/12, and AD sites
INSERT INTO boundary (name, type, range_start, range_end)
    SELECT 'range' || i, 'range',
           ('172.' || (16 + i / 65536 % 16) || '.' || (i / 256 % 256) || '.0')::inet,
           ('172.' || (16 + i / 65536 % 16) || '.' || (i / 256 % 256) || '.127')::inet
    FROM generate_series(0, 999999, 256) i LIMIT 3000;
INSERT INTO boundary (name, type, match_text)
    SELECT 'ad' || i, 'adsite', 'Site-' || i FROM generate_series(1, 1000) i;
INSERT INTO boundary_group_member (group_id, boundary_id)
    SELECT g.id, b.id FROM boundary b
    JOIN boundary_group g ON g.name = 'BG' || (1 + b.id % 2000);
INSERT INTO site_server (fqdn, site_code)
    SELECT 'srv' || i || '.example.org', 'ABC' FROM generate_series(1, 6000) i;
INSERT INTO site_server_role (server_id, role)
    SELECT id, CASE WHEN id % 3 = 0 THEN 'mp' ELSE 'dp' END FROM site_server;
INSERT INTO boundary_group_server (group_id, server_id)
    SELECT g.id, s.id FROM site_server s
    JOIN boundary_group g ON g.name = 'BG' || (1 + (s.id - 1) / 3);
INSERT INTO dp_content (server_id, content_id)
    SELECT s.id, 'PKG' || (s.id % 50) FROM site_server s
    JOIN site_server_role r ON r.server_id = s.id AND r.role = 'dp';
INSERT INTO boundary_group_link (from_group, to_group)
    SELECT a.id, b.id FROM boundary_group a JOIN boundary_group b
    ON b.name IN ('BG' || (1 + substr(a.name, 3)::int % 2000),
                  'BG' || (1 + (substr(a.name, 3)::int + 1) % 2000))
    WHERE a.default_of_site IS NULL AND b.default_of_site IS NULL
      AND a.id <> b.id;
INSERT INTO boundary_group_link_fallback (from_group, to_group, role, minutes)
    SELECT from_group, to_group, r, CASE r WHEN 'mp' THEN 0 ELSE 10 END
    FROM boundary_group_link, unnest(ARRAY['dp','clouddp','sup','smp','mp','cmg']) r;
COMMIT;
SQL
b=$(psql -c "SELECT count(*) FROM boundary")
g=$(psql -c "SELECT count(*) FROM boundary_group")
s=$(psql -c "SELECT count(*) FROM site_server")
# a client in one group's subnet, asking for a distribution point with content
# its own group's DPs may lack: the answer walks neighbours and the default
cat >"$dir/request.json" <<'JSON'
{"format":"sitesys.location/1","client":"GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff",
 "addresses":["10.0.42.17/24"],"ad_site":"Site-7","site":"ABC","role":"dp",
 "content":"PKG7"}
JSON
echo "location through sitesys-mp over HTTPS with a client certificate: $b boundaries, $g groups, $s servers; 64 clients, one dp request each time"
# the MP that location_http starts connects by libpq's environment, as its
# own role (a daemon refuses to work as a superuser)
PGHOST=$SITE_PGHOST PGPORT=$SITE_PGPORT PGDATABASE=sitesys PGUSER=sitesys_mp \
	PGPASSFILE=$dir/pgpass \
	"$BUILD/bench/location_http" "$dir/request.json"
