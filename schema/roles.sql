-- roles.sql: the database role of each sitesys program and what it may
-- do. sitectl db init and db upgrade run this after the migrations, in
-- their transaction, as the administrator ([database] conninfo); sitectl
-- then gives every role of sitesys_role its password ([database] passfile).
--
-- Every statement can run again. Each role first loses every privilege it
-- has in this database and every role it is a member of, then gets what is
-- granted below: this file is the whole truth. A table no GRANT names here
-- is no program's, whoever made it, so a migration that adds a table adds
-- its grants here (db_roles.bats checks that every table is someone's).

-- One role per program that uses the site database. sitesys-fsp has none:
-- it uses no database (it spools into fsp.box and forwards into
-- statsys.box). Should it come to report its status, it gets a role here
-- with SELECT, INSERT, UPDATE on component and nothing else.
CREATE TEMP TABLE sitesys_role (
    name    text PRIMARY KEY,
    program text NOT NULL
) ON COMMIT DROP;
INSERT INTO sitesys_role VALUES
    ('sitesys_mp', 'sitesys-mp'),
    ('sitesys_statesys', 'sitesys-statesys'),
    ('sitesys_notifyd', 'sitesys-notifyd'),
    ('sitesys_notifymgr', 'sitesys-notifymgr'),
    ('sitesys_console', 'sitectl');

-- What every user has by default goes too: the site's tables are granted
-- by name only, and nobody but the administrator creates in its schema.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $$
DECLARE
    r record;
    m record;
BEGIN
    FOR r IN SELECT name FROM sitesys_role ORDER BY name LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r.name);
        END IF;
        -- a plain login, whatever was made of it since (only a superuser
        -- may change some of these, so only when they are not so)
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name
                   AND (rolsuper OR rolcreatedb OR rolcreaterole
                        OR rolreplication OR rolbypassrls
                        OR NOT rolcanlogin)) THEN
            EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB '
                'NOCREATEROLE NOREPLICATION NOBYPASSRLS', r.name);
        END IF;
        FOR m IN SELECT g.rolname FROM pg_auth_members a
                 JOIN pg_roles g ON g.oid = a.roleid
                 JOIN pg_roles u ON u.oid = a.member
                 WHERE u.rolname = r.name LOOP
            EXECUTE format('REVOKE %I FROM %I', m.rolname, r.name);
        END LOOP;
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I',
            current_database(), r.name);
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I',
            current_database(), r.name);
        EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', r.name);
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', r.name);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I',
            r.name);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public '
            'FROM %I', r.name);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public '
            'FROM %I', r.name);
        -- what the administrator creates later is granted here, never by
        -- default
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public '
            'REVOKE ALL ON TABLES FROM %I', r.name);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public '
            'REVOKE ALL ON SEQUENCES FROM %I', r.name);
    END LOOP;
END $$;

-- sitesys-mp: loads the boundary model (and follows NOTIFY, which needs
-- no grant); registers clients, binding their certificates, and assigns
-- them a site (client); answers policy from the resync requests
-- (client_message_stats); records on-demand distributions; reports its
-- status. It never touches what clients report (client_state and the rest
-- of statesys's tables) and never changes the model.
GRANT SELECT ON site, boundary_group, boundary, boundary_group_member,
    site_server, site_server_role, boundary_group_server, dp_content,
    content_on_demand, boundary_group_link, boundary_group_link_fallback,
    site_default_fallback, hierarchy_setting, peer_cache_source,
    peer_content
    TO sitesys_mp;
GRANT SELECT ON client, client_message_stats TO sitesys_mp;
GRANT INSERT (guid, name, addresses, site_code, first_seen, last_seen,
              fingerprint, certificate, bound_at, approved)
    ON client TO sitesys_mp;
GRANT UPDATE (name, addresses, site_code, last_seen,
              fingerprint, certificate, bound_at, approved)
    ON client TO sitesys_mp;
GRANT SELECT, INSERT ON content_distribution_request TO sitesys_mp;
GRANT UPDATE (last, count, client) ON content_distribution_request
    TO sitesys_mp;
GRANT SELECT, INSERT, UPDATE ON component TO sitesys_mp;

-- sitesys-statesys: loads state messages (COPY into the history and the
-- current state, through temporary staging tables), tracks serial numbers
-- and missing ranges, issues resync requests, expires old history, keeps
-- the inbox ledger of statsys.box, reports its status; reads clients'
-- certificates to check the batches that came through an FSP and counts
-- the forged ones. It never changes the boundary model, a client's
-- identity or approval.
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO sitesys_statesys',
        current_database());
END $$;
GRANT SELECT, INSERT ON statemsg_history TO sitesys_statesys;
-- The history's day partitions are made ahead and dropped whole by
-- functions that run as the administrator: the loader itself may create
-- and drop no table, and delete no history. It may call them only on the
-- database's own day; those taking any day are the administrator's.
REVOKE ALL ON FUNCTION statemsg_history_prepare(date, integer),
    statemsg_history_expire(date, integer), statemsg_history_make_ahead(),
    statemsg_history_drop_older(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION statemsg_history_make_ahead(),
    statemsg_history_drop_older(integer) TO sitesys_statesys;
GRANT SELECT, INSERT, UPDATE ON client_state, client_message_stats
    TO sitesys_statesys;
GRANT SELECT, INSERT, DELETE ON client_missing_range TO sitesys_statesys;
GRANT SELECT, INSERT, DELETE ON inbox_ledger TO sitesys_statesys;
GRANT SELECT, INSERT, UPDATE ON component TO sitesys_statesys;
GRANT SELECT ON client TO sitesys_statesys;
GRANT UPDATE (forged_batches, last_forged) ON client TO sitesys_statesys;
-- What unregistered clients sent through an FSP: COPYed in, expired
-- with the history.
GRANT SELECT, INSERT, DELETE ON statemsg_unverified TO sitesys_statesys;

-- sitesys-notifyd: accepts the clients whose certificates are registered,
-- approved and not blocked (client; NOTIFY sitesys_client); reads the
-- pushes released to them with their tasks and approved scripts (NOTIFY
-- sitesys_push); reports its status. What it saw happen goes to bgb.box,
-- never to the database.
GRANT SELECT (guid, fingerprint, approved, blocked) ON client
    TO sitesys_notifyd;
GRANT SELECT ON notify_task, notify_push, script TO sitesys_notifyd;
GRANT SELECT, INSERT, UPDATE ON component TO sitesys_notifyd;

-- sitesys-notifymgr: expands new tasks into their pushes (collections,
-- their rules and the clients and boundary model they match), releases
-- them at the task's rate, stops and expires tasks (the boundary model
-- answers which clients a boundary group holds); loads bgb.box (.bts
-- into notify_push, .bos into client_online) through its inbox ledger;
-- reports its status. It never changes a client or the model.
GRANT SELECT ON client, collection, collection_rule, notify_task_client
    TO sitesys_notifymgr;
GRANT SELECT ON site, boundary_group, boundary, boundary_group_member,
    site_server, site_server_role, boundary_group_server, dp_content,
    content_on_demand, boundary_group_link, boundary_group_link_fallback,
    site_default_fallback, hierarchy_setting, peer_cache_source,
    peer_content
    TO sitesys_notifymgr;
GRANT SELECT, UPDATE ON notify_task TO sitesys_notifymgr;
GRANT SELECT, INSERT, UPDATE ON notify_push, client_online
    TO sitesys_notifymgr;
GRANT USAGE ON SEQUENCE notify_release_seq TO sitesys_notifymgr;
GRANT SELECT, INSERT, DELETE ON inbox_ledger TO sitesys_notifymgr;
GRANT SELECT, INSERT, UPDATE ON component TO sitesys_notifymgr;
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO sitesys_notifymgr',
        current_database());
END $$;

-- sitectl, the console: everything but sitectl db. Changes the boundary
-- model and the hierarchy's settings; approves, blocks and resets
-- clients' identities; reads what the daemons record (clients, their
-- state and serial tracking, what unregistered clients sent, components,
-- distribution requests). It
-- creates no table and no role, and writes nothing that the daemons
-- record.
GRANT SELECT, INSERT, UPDATE, DELETE ON site, boundary_group, boundary,
    boundary_group_member, site_server, site_server_role,
    boundary_group_server, dp_content, content_on_demand,
    boundary_group_link, boundary_group_link_fallback,
    site_default_fallback, peer_cache_source, peer_content
    TO sitesys_console;
GRANT USAGE ON SEQUENCE boundary_group_id_seq, boundary_id_seq,
    site_server_id_seq, peer_cache_source_id_seq TO sitesys_console;
GRANT SELECT, INSERT, UPDATE, DELETE ON site_system_role TO sitesys_console;
GRANT SELECT, UPDATE ON hierarchy_setting TO sitesys_console;
GRANT SELECT ON client, client_state, client_message_stats,
    client_missing_range, sr_client_message_stats, sr_clientmessagestats,
    statemsg_history, statemsg_unverified, component,
    content_distribution_request
    TO sitesys_console;
GRANT UPDATE (approved, blocked, fingerprint, certificate, bound_at)
    ON client TO sitesys_console;
-- Client notification: collections and scripts are the console's; it
-- starts tasks (notifymgr expands them) and reads what became of them.
GRANT SELECT, INSERT, UPDATE, DELETE ON collection, collection_rule,
    script TO sitesys_console;
GRANT SELECT, INSERT ON notify_task, notify_task_client TO sitesys_console;
GRANT UPDATE (state, finished_at) ON notify_task TO sitesys_console;
GRANT USAGE ON SEQUENCE notify_task_id_seq TO sitesys_console;
GRANT SELECT ON notify_push, client_online TO sitesys_console;
-- the members of a collection are staged in a temporary table
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO sitesys_console',
        current_database());
END $$;
