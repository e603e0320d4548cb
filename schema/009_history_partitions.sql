-- 009_history_partitions: the history at a million clients (issue 13).
--
-- statemsg_history is partitioned by the day of receipt (UTC), one table a
-- day named statemsg_history_YYYYMMDD. sitesys-statesys makes each day's
-- partition days ahead (statemsg_history_prepare) and expires the history
-- by dropping whole days (statemsg_history_expire), not row by row: at a
-- billion rows a DELETE of the oldest day would itself be the backlog. A
-- row whose day has no partition goes to statemsg_history_default, so a
-- missing partition never stops the load; making that day's partition
-- later moves such rows into it. The index on received goes: retention no
-- longer needs it, and a day is found by its partition.
--
-- The keys of the hot tables compare bytewise (COLLATE "C"): a GUID or a
-- topic ID has no language, and the site's default collation would sort
-- every key through strcoll. The current state and the counters are
-- updated in place far more often than inserted: pages keep room for the
-- new version of a row (fillfactor), so that PostgreSQL can write it
-- beside the old one without touching the index (a HOT update).

DROP VIEW sr_client_message_stats;
DROP VIEW sr_clientmessagestats;
ALTER TABLE client_state
    ALTER COLUMN client TYPE text COLLATE "C",
    ALTER COLUMN topic_id TYPE text COLLATE "C",
    SET (fillfactor = 80);
ALTER TABLE client_message_stats
    ALTER COLUMN client TYPE text COLLATE "C",
    SET (fillfactor = 80);
ALTER TABLE client_missing_range ALTER COLUMN client TYPE text COLLATE "C";
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

ALTER TABLE statemsg_history RENAME TO statemsg_history_unpartitioned;
DROP INDEX statemsg_history_received;
CREATE TABLE statemsg_history (
    client          text COLLATE "C" NOT NULL,
    serial          bigint NOT NULL,
    msg_time        timestamptz NOT NULL,
    topic_type      integer NOT NULL,
    topic_id        text COLLATE "C" NOT NULL,
    topic_id_type   integer NOT NULL,
    state_id        integer NOT NULL,
    criticality     integer NOT NULL,
    details         text,
    params          text[],
    received        timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (received);
CREATE TABLE statemsg_history_default PARTITION OF statemsg_history DEFAULT;

-- The partitions of the days from today to today + ahead (UTC), each made
-- if missing, with the rows the default partition holds for its day moved
-- into it; the names of those made. It runs as its owner, so that the
-- loader, who may not create or drop tables, can call it.
CREATE FUNCTION statemsg_history_prepare(today date, ahead integer)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    d date;
    part text;
    lo timestamptz;
    hi timestamptz;
BEGIN
    FOR d IN SELECT today + g FROM generate_series(0, ahead) AS g LOOP
        part := 'statemsg_history_' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        EXECUTE format('CREATE TABLE %I (LIKE statemsg_history '
            'INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM statemsg_history_default '
            'WHERE received >= %L AND received < %L RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', lo, hi, part);
        -- attaching needs no more than SHARE UPDATE EXCLUSIVE on the
        -- history: readers and a COPY of another day go on
        EXECUTE format('ALTER TABLE %I ADD CHECK (received >= %L AND '
            'received < %L)', part, lo, hi);
        EXECUTE format('ALTER TABLE statemsg_history ATTACH PARTITION %I '
            'FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        RETURN NEXT part;
    END LOOP;
END $$;

-- The history received before the day today - keep_days (UTC) goes: each
-- day's partition whole, and such rows of the default partition. One row
-- per partition dropped (its name and its estimated rows) and one for the
-- default partition when rows left it (the rows deleted).
CREATE FUNCTION statemsg_history_expire(today date, keep_days integer)
RETURNS TABLE (part text, row_count bigint) LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    oldest date := today - keep_days;
    n bigint;
BEGIN
    FOR part, row_count IN
        SELECT c.relname, greatest(c.reltuples, 0)::bigint
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'statemsg_history'::regclass
        AND c.relname ~ '^statemsg_history_[0-9]{8}$'
        AND to_date(substr(c.relname, 18), 'YYYYMMDD') < oldest
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT;
    END LOOP;
    DELETE FROM statemsg_history_default
    WHERE received < oldest::timestamp AT TIME ZONE 'UTC';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        part := 'statemsg_history_default';
        row_count := n;
        RETURN NEXT;
    END IF;
END $$;

-- The days of the rows there are, and the next three, have partitions
-- before the rows come over.
SELECT statemsg_history_prepare(d, ((now() AT TIME ZONE 'UTC')::date - d) + 3)
FROM (SELECT least((now() AT TIME ZONE 'UTC')::date,
                   min((received AT TIME ZONE 'UTC')::date)) AS d
      FROM statemsg_history_unpartitioned) AS oldest;
INSERT INTO statemsg_history SELECT * FROM statemsg_history_unpartitioned;
DROP TABLE statemsg_history_unpartitioned;
