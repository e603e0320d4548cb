-- 006_statemsg_unverified: what a client that never registered sent
-- through a fallback status point. Anybody can post to an FSP in any
-- client's name, and a client without a certificate cannot be checked,
-- so sitesys-statesys keeps these messages apart, only for the topic types
-- an FSP is for (800 client deployment and assignment, 1000 client-MP
-- communication, 1001 local certificate, 1300 client health), with the
-- file they came in; they never touch the serial tracking, the current
-- state, the history or resynchronization. Expired with the history
-- ([statesys] history_days).

CREATE TABLE IF NOT EXISTS statemsg_unverified (
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
    file            text NOT NULL,
    received        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS statemsg_unverified_received
    ON statemsg_unverified (received);
