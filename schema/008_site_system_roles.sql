-- 008_site_system_roles: which server holds which site system role, as the
-- administrator installs them (seed 000, sitectl role). A server has an
-- intranet and an internet FQDN for clients; its allowed client
-- connections follow from them (intranet only, or intranet and internet)
-- and are never set by hand. The roles boundary groups place stay in
-- site_server_role; the others are here: the fallback status point, with
-- its throttle, and the site server (inboxes, statesys, notifymgr).
ALTER TABLE site_server
    ADD COLUMN intranet_fqdn text CHECK (length(intranet_fqdn) <= 253
        AND intranet_fqdn ~
        '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$'),
    ADD COLUMN internet_fqdn text CHECK (length(internet_fqdn) <= 253
        AND internet_fqdn ~
        '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$');

-- forced: added with --force although the server holds a role whose
-- clients must use HTTPS (kept, so that sitectl role list shows it).
CREATE TABLE site_system_role (
    server_id           integer NOT NULL REFERENCES site_server (id)
                        ON DELETE CASCADE,
    role                text NOT NULL CHECK (role IN ('fsp', 'site-server')),
    throttle_messages   integer CHECK (throttle_messages BETWEEN 1 AND 100000000),
    throttle_seconds    integer CHECK (throttle_seconds BETWEEN 1 AND 86400),
    forced              boolean NOT NULL DEFAULT false,
    added               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, role),
    CONSTRAINT site_system_role_throttle CHECK ((role = 'fsp') =
        (throttle_messages IS NOT NULL AND throttle_seconds IS NOT NULL))
);
