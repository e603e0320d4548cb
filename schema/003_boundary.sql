-- 003_boundary: the boundary model (seed 003): boundaries, boundary groups
-- and their peer options, site system servers and their roles, content on
-- distribution points, relationships with fallback times per role, each
-- site's default group and its Default Behavior, the hierarchy settings and
-- peer cache sources. Every change to the model signals NOTIFY
-- sitesys_boundary so that management points reload it.

-- The site system roles that boundary groups place (sitectl(8)):
-- distribution point, cloud distribution point, software update point,
-- state migration point, management point, cloud management gateway.
CREATE DOMAIN site_role AS text
    CHECK (VALUE IN ('dp', 'clouddp', 'sup', 'smp', 'mp', 'cmg'));

-- A fallback time: minutes >= 0, or NULL for "never fall back".
CREATE DOMAIN fallback_minutes AS integer CHECK (VALUE >= 0);

-- The peer download options of a boundary group; the two that refine peer
-- downloads take effect only while peer downloads are allowed.
ALTER TABLE boundary_group
    ADD COLUMN allow_peers boolean NOT NULL DEFAULT true,
    ADD COLUMN peers_same_subnet_only boolean NOT NULL DEFAULT false,
    ADD COLUMN prefer_dp_over_peers boolean NOT NULL DEFAULT false,
    ADD COLUMN prefer_cloud boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT boundary_group_peer_options CHECK
        (allow_peers OR NOT (peers_same_subnet_only OR prefer_dp_over_peers)),
    ADD CONSTRAINT boundary_group_default_name CHECK
        (default_of_site IS NULL
         OR name = 'Default-Site-Boundary-Group' || default_of_site);

-- A network location. subnet: an IPv4 subnet ID (host bits zero) matched
-- exactly against the client's subnet ID; range: IPv4 start..end, both
-- included; ipv6: an IPv6 prefix; adsite: an Active Directory site name;
-- vpn: a VPN connection's name or description, matched exactly or as a
-- prefix ("starts with"). Names are compared without regard to case.
CREATE TABLE boundary (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 256),
    type        text NOT NULL
                CHECK (type IN ('subnet', 'range', 'ipv6', 'adsite', 'vpn')),
    prefix      cidr,       -- subnet, ipv6
    range_start inet,       -- range
    range_end   inet,       -- range
    match_text  text CHECK (length(match_text) BETWEEN 1 AND 256),
                            -- adsite, vpn
    vpn_match   text CHECK (vpn_match IN ('exact', 'prefix')),
    vpn_field   text CHECK (vpn_field IN ('name', 'description')),
    created     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT boundary_subnet CHECK (type <> 'subnet' OR
        (prefix IS NOT NULL AND family(prefix) = 4 AND range_start IS NULL AND range_end IS NULL
         AND match_text IS NULL AND vpn_match IS NULL AND vpn_field IS NULL)),
    CONSTRAINT boundary_ipv6 CHECK (type <> 'ipv6' OR
        (prefix IS NOT NULL AND family(prefix) = 6 AND range_start IS NULL AND range_end IS NULL
         AND match_text IS NULL AND vpn_match IS NULL AND vpn_field IS NULL)),
    CONSTRAINT boundary_range CHECK (type <> 'range' OR
        (prefix IS NULL AND range_start IS NOT NULL
         AND range_end IS NOT NULL AND family(range_start) = 4
         AND family(range_end) = 4 AND masklen(range_start) = 32
         AND masklen(range_end) = 32 AND range_start <= range_end
         AND match_text IS NULL AND vpn_match IS NULL AND vpn_field IS NULL)),
    CONSTRAINT boundary_adsite CHECK (type <> 'adsite' OR
        (prefix IS NULL AND range_start IS NULL AND range_end IS NULL
         AND match_text IS NOT NULL AND vpn_match IS NULL
         AND vpn_field IS NULL)),
    CONSTRAINT boundary_vpn CHECK (type <> 'vpn' OR
        (prefix IS NULL AND range_start IS NULL AND range_end IS NULL
         AND match_text IS NOT NULL AND vpn_match IS NOT NULL
         AND vpn_field IS NOT NULL))
);
-- one boundary per network location
CREATE UNIQUE INDEX boundary_prefix_key ON boundary (prefix)
    WHERE prefix IS NOT NULL;
CREATE UNIQUE INDEX boundary_range_key ON boundary (range_start, range_end)
    WHERE range_start IS NOT NULL;
CREATE UNIQUE INDEX boundary_text_key
    ON boundary (type, lower(match_text), coalesce(vpn_match, ''),
                 coalesce(vpn_field, ''))
    WHERE match_text IS NOT NULL;

-- Which boundaries belong to which boundary groups (many to many).
CREATE TABLE boundary_group_member (
    group_id    integer NOT NULL REFERENCES boundary_group (id)
                ON DELETE CASCADE,
    boundary_id integer NOT NULL REFERENCES boundary (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, boundary_id)
);
CREATE INDEX boundary_group_member_boundary
    ON boundary_group_member (boundary_id);

-- A site system server, known by its fully qualified domain name (lower
-- case), in one site.
CREATE TABLE site_server (
    id          serial PRIMARY KEY,
    fqdn        text NOT NULL UNIQUE CHECK (length(fqdn) <= 253 AND fqdn ~
        '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$'),
    site_code   char(3) NOT NULL REFERENCES site (code) ON DELETE CASCADE,
    created     timestamptz NOT NULL DEFAULT now()
);

-- The roles a server holds; a server may hold several.
CREATE TABLE site_server_role (
    server_id   integer NOT NULL REFERENCES site_server (id)
                ON DELETE CASCADE,
    role        site_role NOT NULL,
    PRIMARY KEY (server_id, role)
);

-- Which servers a boundary group assigns to its clients (many to many).
CREATE TABLE boundary_group_server (
    group_id    integer NOT NULL REFERENCES boundary_group (id)
                ON DELETE CASCADE,
    server_id   integer NOT NULL REFERENCES site_server (id)
                ON DELETE CASCADE,
    PRIMARY KEY (group_id, server_id)
);
CREATE INDEX boundary_group_server_server
    ON boundary_group_server (server_id);

-- A content ID (a package or content version), as the deployments name it.
CREATE DOMAIN content_id AS text
    CHECK (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9_.{}-]{0,255}$');

-- The content each distribution point (dp or clouddp) holds.
CREATE TABLE dp_content (
    server_id   integer NOT NULL REFERENCES site_server (id)
                ON DELETE CASCADE,
    content_id  content_id NOT NULL,
    added       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, content_id)
);
CREATE INDEX dp_content_content ON dp_content (content_id);

-- Content that distributes on demand: asked for on a distribution point
-- of the client's current groups that lacks it, the site transfers it.
CREATE TABLE content_on_demand (
    content_id  content_id PRIMARY KEY,
    since       timestamptz NOT NULL DEFAULT now()
);

-- On-demand distribution requests, recorded by location answers (not
-- part of the model: changes here do not signal sitesys_boundary but
-- sitesys_distribution). A repeated request bumps count and last.
CREATE TABLE content_distribution_request (
    content_id  content_id NOT NULL,
    server_id   integer NOT NULL REFERENCES site_server (id)
                ON DELETE CASCADE,
    client      text NOT NULL DEFAULT '',
    first       timestamptz NOT NULL DEFAULT now(),
    last        timestamptz NOT NULL DEFAULT now(),
    count       integer NOT NULL DEFAULT 1 CHECK (count >= 1),
    PRIMARY KEY (content_id, server_id)
);

-- A one-way relationship from a boundary group to a neighbour group.
CREATE TABLE boundary_group_link (
    from_group  integer NOT NULL REFERENCES boundary_group (id)
                ON DELETE CASCADE,
    to_group    integer NOT NULL REFERENCES boundary_group (id)
                ON DELETE CASCADE,
    created     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (from_group, to_group),
    CONSTRAINT boundary_group_link_not_self CHECK (from_group <> to_group)
);
CREATE INDEX boundary_group_link_to ON boundary_group_link (to_group);

-- The fallback time of a relationship for each role: sitectl writes one
-- row per role for every link (120 minutes, management points 0, unless
-- given); minutes NULL means never fall back for that role.
CREATE TABLE boundary_group_link_fallback (
    from_group  integer NOT NULL,
    to_group    integer NOT NULL,
    role        site_role NOT NULL,
    minutes     fallback_minutes,
    never       boolean GENERATED ALWAYS AS (minutes IS NULL) STORED,
    PRIMARY KEY (from_group, to_group, role),
    FOREIGN KEY (from_group, to_group)
        REFERENCES boundary_group_link (from_group, to_group)
        ON DELETE CASCADE
);

-- The Default Behavior of each site's default boundary group: the fallback
-- time of every implied link to it, per role; an explicit link to the
-- default group overrides it. One row per role, made with the site.
CREATE TABLE site_default_fallback (
    site_code   char(3) NOT NULL REFERENCES site (code) ON DELETE CASCADE,
    role        site_role NOT NULL,
    minutes     fallback_minutes,
    never       boolean GENERATED ALWAYS AS (minutes IS NULL) STORED,
    PRIMARY KEY (site_code, role)
);

-- The hierarchy's settings, one row: prefer_bg_mps is "clients prefer to
-- use management points specified in boundary groups".
CREATE TABLE hierarchy_setting (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    prefer_bg_mps   boolean NOT NULL DEFAULT false
);
INSERT INTO hierarchy_setting DEFAULT VALUES;

-- A peer cache source: a client (GUID:... or its name) that serves content
-- to peers, with its address and prefix length (its subnet).
CREATE TABLE peer_cache_source (
    id          serial PRIMARY KEY,
    client      text NOT NULL UNIQUE CHECK (length(client) BETWEEN 1 AND 256),
    address     inet NOT NULL,
    subnet      cidr GENERATED ALWAYS AS (network(address)) STORED,
    created     timestamptz NOT NULL DEFAULT now()
);

-- The content each peer cache source holds.
CREATE TABLE peer_content (
    peer_id     integer NOT NULL REFERENCES peer_cache_source (id)
                ON DELETE CASCADE,
    content_id  content_id NOT NULL,
    added       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (peer_id, content_id)
);

-- The default fallback time of a role: 120 minutes, management points 0.
CREATE FUNCTION fallback_default(r text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT CASE r WHEN 'mp' THEN 0 ELSE 120 END $$;

-- Each site gets Default-Site-Boundary-Group<CODE> and its Default Behavior.
CREATE FUNCTION site_default_group() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO boundary_group (name, description, site_code, default_of_site)
    VALUES ('Default-Site-Boundary-Group' || NEW.code,
            'default site boundary group of site ' || NEW.code,
            NEW.code, NEW.code)
    ON CONFLICT (default_of_site) DO NOTHING;
    INSERT INTO site_default_fallback (site_code, role, minutes)
    SELECT NEW.code, r, fallback_default(r)
    FROM unnest(ARRAY['dp', 'clouddp', 'sup', 'smp', 'mp', 'cmg']) AS r
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER site_default_group AFTER INSERT ON site
    FOR EACH ROW EXECUTE FUNCTION site_default_group();

-- The sites that exist already.
INSERT INTO boundary_group (name, description, site_code, default_of_site)
SELECT 'Default-Site-Boundary-Group' || code,
       'default site boundary group of site ' || code, code, code
FROM site
ON CONFLICT (default_of_site) DO NOTHING;
INSERT INTO site_default_fallback (site_code, role, minutes)
SELECT code, r, fallback_default(r)
FROM site, unnest(ARRAY['dp', 'clouddp', 'sup', 'smp', 'mp', 'cmg']) AS r
ON CONFLICT DO NOTHING;

-- A site's default group goes only with its site, and keeps its name.
CREATE FUNCTION boundary_group_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.default_of_site IS NOT NULL AND EXISTS
            (SELECT 1 FROM site WHERE code = OLD.default_of_site) THEN
            RAISE EXCEPTION 'boundary group % is the default group of site %',
                OLD.name, OLD.default_of_site
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.default_of_site IS DISTINCT FROM NEW.default_of_site THEN
        RAISE EXCEPTION 'boundary group %: default_of_site cannot change',
            OLD.name USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER boundary_group_guard BEFORE UPDATE OR DELETE ON boundary_group
    FOR EACH ROW EXECUTE FUNCTION boundary_group_guard();

-- Content sits only on a server with a distribution point role.
CREATE FUNCTION dp_content_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM site_server_role
                   WHERE server_id = NEW.server_id
                     AND role IN ('dp', 'clouddp')) THEN
        RAISE EXCEPTION 'server % is not a distribution point', NEW.server_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER dp_content_guard BEFORE INSERT OR UPDATE ON dp_content
    FOR EACH ROW EXECUTE FUNCTION dp_content_guard();

-- Any change to the model: one notification per transaction and table.
CREATE FUNCTION boundary_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], TG_TABLE_NAME);
    RETURN NULL;
END $$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['site', 'boundary_group', 'boundary',
        'boundary_group_member', 'site_server', 'site_server_role',
        'boundary_group_server', 'dp_content', 'content_on_demand',
        'boundary_group_link', 'boundary_group_link_fallback',
        'site_default_fallback', 'hierarchy_setting', 'peer_cache_source',
        'peer_content']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE '
            'OR TRUNCATE ON %I FOR EACH STATEMENT '
            'EXECUTE FUNCTION boundary_notify(''sitesys_boundary'')',
            t || '_notify', t);
    END LOOP;
END $$;
CREATE TRIGGER content_distribution_request_notify
    AFTER INSERT OR UPDATE ON content_distribution_request
    FOR EACH STATEMENT
    EXECUTE FUNCTION boundary_notify('sitesys_distribution');
