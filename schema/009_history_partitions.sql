-- 009_history_partitions: the history at a million clients (issue 13).
--
-- statemsg_history is partitioned by the day of receipt (UTC), one table a
-- day named statemsg_history_YYYYMMDD. sitesys-statesys makes each day's
-- partition days ahead (statemsg_history_make_ahead) and expires the
-- history by dropping whole days (statemsg_history_drop_older), not row by
-- row: at a
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
-- into it; the names of those made. Attaching takes an ACCESS EXCLUSIVE
-- lock on the default partition (and SHARE UPDATE EXCLUSIVE on the
-- history): a reader of the history holding it off makes this give up
-- after lock_timeout rather than stall the load behind it. The
-- administrator's: any day, up to a year ahead.
CREATE FUNCTION statemsg_history_prepare(today date, ahead integer)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
    d date;
    part text;
    lo timestamptz;
    hi timestamptz;
BEGIN
    IF ahead NOT BETWEEN 0 AND 366 THEN
        RAISE EXCEPTION 'ahead must be 0 to 366 days, not %', ahead;
    END IF;
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
        -- the constraint spares ATTACH a scan of the new table
        EXECUTE format('ALTER TABLE %I ADD CHECK (received >= %L AND '
            'received < %L)', part, lo, hi);
        EXECUTE format('ALTER TABLE statemsg_history ATTACH PARTITION %I '
            'FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        RETURN NEXT part;
    END LOOP;
END $$;

-- The history received before the day today - keep_days (UTC) goes: each
-- day's partition whole, and such rows of the default partition. One row
-- per partition dropped (its name, its rows as the statistics count them,
-- estimated true) and one for the default partition when rows left it
-- (the rows deleted, estimated false). Dropping a partition locks the
-- history: lock_timeout as above. The administrator's: any day.
CREATE FUNCTION statemsg_history_expire(today date, keep_days integer)
RETURNS TABLE (part text, row_count bigint, estimated boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
    oldest date := today - keep_days;
    n bigint;
BEGIN
    IF keep_days < 1 THEN
        RAISE EXCEPTION 'keep_days must be 1 or more, not %', keep_days;
    END IF;
    estimated := true;
    FOR part, row_count IN
        SELECT c.relname, coalesce(st.n_live_tup, 0)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
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
        estimated := false;
        RETURN NEXT;
    END IF;
END $$;

-- The loader's: the same on the database's own day, never another, and
-- with bounds, so that sitesys-statesys's role can neither drop the
-- history of a day to come nor keep it for less than a day.
CREATE FUNCTION statemsg_history_make_ahead()
RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT statemsg_history_prepare((now() AT TIME ZONE 'UTC')::date, 3)
$$;
CREATE FUNCTION statemsg_history_drop_older(keep_days integer)
RETURNS TABLE (part text, row_count bigint, estimated boolean)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT * FROM statemsg_history_expire(
        (now() AT TIME ZONE 'UTC')::date, keep_days)
$$;

-- The rows there are come over whole: the old table becomes the partition
-- of everything received until the end of today, named by today (so that
-- it goes once today is older than history_days, as the rows received on
-- it must stay that long). Making it one costs a scan for the constraint,
-- not a copy of what may be billions of rows; the next days' partitions
-- are made as usual. An empty table (a new site) is simply dropped.
DO $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    part text := 'statemsg_history_' || to_char(today, 'YYYYMMDD');
    hi timestamptz := (today + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM statemsg_history_unpartitioned) THEN
        DROP TABLE statemsg_history_unpartitioned;
    ELSE
        ALTER TABLE statemsg_history_unpartitioned
            ALTER COLUMN client TYPE text COLLATE "C",
            ALTER COLUMN topic_id TYPE text COLLATE "C";
        EXECUTE format('ALTER TABLE statemsg_history_unpartitioned '
            'ADD CHECK (received < %L)', hi);
        EXECUTE format('ALTER TABLE statemsg_history_unpartitioned '
            'RENAME TO %I', part);
        EXECUTE format('ALTER TABLE statemsg_history ATTACH PARTITION %I '
            'FOR VALUES FROM (MINVALUE) TO (%L)', part, hi);
    END IF;
END $$;
SELECT statemsg_history_prepare((now() AT TIME ZONE 'UTC')::date, 3);
