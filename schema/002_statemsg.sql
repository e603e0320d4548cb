-- 002_statemsg: clients, their state messages, serial number tracking and
-- resynchronization (seed 001), loaded by sitesys-statesys.

-- A managed computer, registered through a management point.
CREATE TABLE client (
    guid        text PRIMARY KEY CHECK (guid ~ '^GUID:[0-9A-Fa-f-]{36}$'),
    name        text NOT NULL DEFAULT '',
    addresses   text[] NOT NULL DEFAULT '{}',
    site_code   char(3) REFERENCES site (code) ON DELETE SET NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);

-- Every state message applied, kept [statesys] history_days.
CREATE TABLE statemsg_history (
    client          text NOT NULL,
    serial          bigint NOT NULL,
    msg_time        timestamptz NOT NULL,
    topic_type      integer NOT NULL,
    topic_id        text NOT NULL,
    topic_id_type   integer NOT NULL,
    state_id        integer NOT NULL,
    criticality     integer NOT NULL,
    details         text,
    params          text[],
    received        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX statemsg_history_received ON statemsg_history (received);

-- Each client's current state per topic: the newest message wins, so a
-- late, older message never overwrites a newer one.
CREATE TABLE client_state (
    client      text NOT NULL,
    topic_type  integer NOT NULL,
    topic_id    text NOT NULL,
    state_id    integer NOT NULL,
    criticality integer NOT NULL,
    msg_time    timestamptz NOT NULL,
    serial      bigint NOT NULL,
    PRIMARY KEY (client, topic_type, topic_id)
);
-- no index on (topic_type, topic_id): it would cost the hot path 40% of
-- its upsert time for the sake of reports that can scan

-- Serial number tracking per client.
CREATE TABLE client_message_stats (
    client                              text PRIMARY KEY,
    next_expected_serial                bigint NOT NULL,
    highest_serial                      bigint NOT NULL,
    messages                            bigint NOT NULL DEFAULT 0,
    duplicates                          bigint NOT NULL DEFAULT 0,
    last_message_time                   timestamptz,
    last_resync_issued_time             timestamptz,
    last_resync_client_completed_time   timestamptz
);

-- Serial numbers not yet seen, below next_expected_serial.
CREATE TABLE client_missing_range (
    client          text NOT NULL,
    first_serial    bigint NOT NULL,
    last_serial     bigint NOT NULL CHECK (last_serial >= first_serial),
    detected        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, first_serial)
);
CREATE INDEX client_missing_range_detected ON client_missing_range (detected);

-- The documents' names, so that their queries run unchanged.
CREATE VIEW sr_client_message_stats AS
    SELECT client, next_expected_serial, highest_serial, messages,
           duplicates, last_message_time, last_resync_issued_time,
           last_resync_client_completed_time
    FROM client_message_stats;
CREATE VIEW sr_clientmessagestats AS
    SELECT client AS clientid,
           last_resync_issued_time AS lastresyncissuedtime,
           last_resync_client_completed_time AS lastresyncclientcompletedtime
    FROM client_message_stats;
