-- 005_client_identity: a client is known by its certificate. The first
-- registration binds the client's GUID to the SHA-256 fingerprint of the
-- certificate it presented (and keeps the certificate, against which
-- statesys checks the signatures of batches that came through a fallback
-- status point); the site approves it automatically or by hand
-- (hierarchy_setting.client_approval) and may block it. sitectl client
-- reset-identity clears the binding for a re-imaged machine.

ALTER TABLE client
    ADD COLUMN fingerprint text UNIQUE
        CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    ADD COLUMN certificate text,
    ADD COLUMN bound_at timestamptz,
    ADD COLUMN approved boolean NOT NULL DEFAULT false,
    ADD COLUMN blocked boolean NOT NULL DEFAULT false,
    ADD COLUMN forged_batches bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_forged timestamptz,
    ADD CONSTRAINT client_identity_whole CHECK
        ((fingerprint IS NULL) = (certificate IS NULL));

-- "auto": a new client is approved when it registers; "manual": it waits
-- for sitectl client approve.
ALTER TABLE hierarchy_setting
    ADD COLUMN client_approval text NOT NULL DEFAULT 'auto'
        CHECK (client_approval IN ('auto', 'manual'));

-- Management points cache who a certificate is; any change to a client's
-- identity or approval tells them to forget it at once.
CREATE FUNCTION client_identity_notify() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('sitesys_client', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER client_identity_notify
    AFTER INSERT OR UPDATE OF fingerprint, approved, blocked OR DELETE
    ON client
    FOR EACH ROW EXECUTE FUNCTION client_identity_notify();
