-- 001_base: sites, their default boundary groups, daemons' status rows and
-- the inbox ledger that makes every inbox file count exactly once.

CREATE TABLE site (
    code        char(3) PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{3}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    created     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE boundary_group (
    id              serial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 256),
    description     text NOT NULL DEFAULT '',
    -- the site a client found in this group is assigned to
    site_code       char(3) REFERENCES site (code) ON DELETE SET NULL,
    -- Default-Site-Boundary-Group<CODE>, one per site, made with the site
    default_of_site char(3) UNIQUE REFERENCES site (code) ON DELETE CASCADE,
    created         timestamptz NOT NULL DEFAULT now()
);

-- One row per running daemon, upserted as it reports (sitectl status).
CREATE TABLE component (
    name        text NOT NULL,
    host        text NOT NULL,
    pid         integer NOT NULL,
    state       text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    started     timestamptz NOT NULL,
    last_report timestamptz NOT NULL,
    PRIMARY KEY (name, host)
);

-- The names of inbox files whose effects are committed; a file found here
-- again is a repeat and is removed unprocessed (sitesys-inbox(5)).
CREATE TABLE inbox_ledger (
    box         text NOT NULL,
    name        text NOT NULL,
    processed   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (box, name)
);
CREATE INDEX inbox_ledger_processed ON inbox_ledger (processed);
