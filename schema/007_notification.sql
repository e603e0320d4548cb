-- 007_notification: client notification (seed 002). sitectl records an
-- action for a collection or named clients (notify_task); sitesys-notifymgr
-- expands it into one push per client (notify_push) and releases them,
-- at once or at the task's rate, signalling NOTIFY sitesys_push; every
-- sitesys-notifyd pushes the released ones to its online clients and reports what happened
-- in .bts files, and who is online in .bos files, which notifymgr loads
-- (client_online, notify_push) exactly once through the inbox ledger.

-- A set of clients, by rules: its members are the clients that match any
-- rule. name: the client's name, without regard to case; pattern: a shell
-- pattern (* ? [..]) on the name, without regard to case; boundary-group:
-- the clients whose addresses fall in one of the group's boundaries; site:
-- the clients assigned to the site code.
CREATE TABLE IF NOT EXISTS collection (
    name        text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 256),
    description text NOT NULL DEFAULT '',
    created     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS collection_rule (
    collection  text NOT NULL REFERENCES collection ON DELETE CASCADE,
    kind        text NOT NULL
                CHECK (kind IN ('name', 'pattern', 'boundary-group', 'site')),
    value       text NOT NULL CHECK (length(value) BETWEEN 1 AND 256),
    PRIMARY KEY (collection, kind, value)
);

-- A script the run-script action may run: known by the SHA-256 of its
-- body, run only once approved.
CREATE TABLE IF NOT EXISTS script (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    body        text NOT NULL,
    added       timestamptz NOT NULL DEFAULT now(),
    approved    boolean NOT NULL DEFAULT false,
    approved_at timestamptz
);

-- An action the administrator started. new: waiting for notifymgr to
-- expand it; pushing: its pushes are released (at rate_per_minute when
-- set) and pushed; stopped: stop_after_failures results failed, no more
-- released; done: every push has its result; expired: valid_until passed
-- first. The numbers are those of the expansion.
CREATE TABLE IF NOT EXISTS notify_task (
    id                  bigserial PRIMARY KEY,
    action              text NOT NULL,
    script              text REFERENCES script (sha256),
    collection          text REFERENCES collection ON DELETE SET NULL,
    created             timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    valid_until         timestamptz NOT NULL,
    rate_per_minute     integer CHECK (rate_per_minute > 0),
    stop_after_failures integer CHECK (stop_after_failures > 0),
    state               text NOT NULL DEFAULT 'new'
                        CHECK (state IN ('new', 'pushing', 'done', 'stopped',
                                         'expired')),
    targeted            integer,
    online_at_start     integer,
    expanded_at         timestamptz,
    finished_at         timestamptz,
    CONSTRAINT notify_task_script CHECK
        ((action = 'run-script') = (script IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS notify_task_open ON notify_task (state)
    WHERE state IN ('new', 'pushing');

-- The named clients of a task that targets clients rather than a
-- collection; sitectl writes them with the task.
CREATE TABLE IF NOT EXISTS notify_task_client (
    task        bigint NOT NULL REFERENCES notify_task ON DELETE CASCADE,
    guid        text NOT NULL CHECK (guid ~ '^GUID:[0-9A-Fa-f-]{36}$'),
    PRIMARY KEY (task, guid)
);

-- The push queue: one row per task and client. release_seq orders the
-- releases (NOTIFY sitesys_push); notifyd reads the rows released since
-- the last one it saw. status 'expired': no result by valid_until.
CREATE SEQUENCE IF NOT EXISTS notify_release_seq;
CREATE TABLE IF NOT EXISTS notify_push (
    task        bigint NOT NULL REFERENCES notify_task ON DELETE CASCADE,
    guid        text NOT NULL,
    online      boolean NOT NULL DEFAULT false,
    release_seq bigint UNIQUE,
    released_at timestamptz,
    pushed_at   timestamptz,
    pushed_by   text,
    received_at timestamptz,
    result_at   timestamptz,
    status      text CHECK (status IN ('succeeded', 'failed', 'unsupported',
                                       'expired')),
    exit_code   integer,
    output      text,
    PRIMARY KEY (task, guid)
);
CREATE INDEX IF NOT EXISTS notify_push_unreleased ON notify_push (task)
    WHERE release_seq IS NULL;

-- Who is online, by the last .bos of the notification server (and the
-- worker process of it) a client is connected to. A client absent from
-- its worker's latest snapshot is offline.
CREATE TABLE IF NOT EXISTS client_online (
    guid        text PRIMARY KEY,
    server      text NOT NULL,
    worker      integer NOT NULL DEFAULT 0,
    online      boolean NOT NULL,
    via         text CHECK (via IN ('tcp', 'http')),
    since       timestamptz,
    reported    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS client_online_server ON client_online (server) WHERE online;

-- Pushes released: every notifyd reads them now.
CREATE OR REPLACE FUNCTION notify_push_released() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('sitesys_push', '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER notify_push_released
    AFTER UPDATE OF release_seq ON notify_push
    FOR EACH STATEMENT EXECUTE FUNCTION notify_push_released();

-- Pushes inserted already released: notifymgr inserts those of a task
-- without a rate so; a rated task's are released later by UPDATE.
CREATE OR REPLACE TRIGGER notify_push_inserted
    AFTER INSERT ON notify_push
    FOR EACH STATEMENT EXECUTE FUNCTION notify_push_released();

-- A new task: notifymgr expands it now.
CREATE OR REPLACE FUNCTION notify_task_new() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('sitesys_task', '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER notify_task_new
    AFTER INSERT ON notify_task
    FOR EACH STATEMENT EXECUTE FUNCTION notify_task_new();
