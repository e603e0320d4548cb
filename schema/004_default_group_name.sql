-- 004_default_group_name: each site's default boundary group takes the
-- name seed 003 gives it, Default-Site-Boundary-Group<CODE> (angle brackets
-- included: the group of site ABC is Default-Site-Boundary-Group<ABC>),
-- in place of Default-Site-Boundary-GroupCODE that 003 made. Every
-- statement can run again without harm.

-- The name of site code's default group, in one place.
CREATE OR REPLACE FUNCTION default_group_name(code text) RETURNS text
    LANGUAGE sql IMMUTABLE AS
$$ SELECT 'Default-Site-Boundary-Group<' || code || '>' $$;

-- The existing default groups take their new names (the links, servers
-- and Default Behavior follow the group's id, not its name).
ALTER TABLE boundary_group
    DROP CONSTRAINT IF EXISTS boundary_group_default_name;
UPDATE boundary_group SET name = default_group_name(default_of_site)
WHERE default_of_site IS NOT NULL
  AND name <> default_group_name(default_of_site);
ALTER TABLE boundary_group
    ADD CONSTRAINT boundary_group_default_name CHECK
        (default_of_site IS NULL OR name = default_group_name(default_of_site));

-- Each new site gets its default group by the new name, and its Default
-- Behavior as before.
CREATE OR REPLACE FUNCTION site_default_group() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO boundary_group (name, description, site_code, default_of_site)
    VALUES (default_group_name(NEW.code),
            'default site boundary group of site ' || NEW.code,
            NEW.code, NEW.code)
    ON CONFLICT (default_of_site) DO NOTHING;
    INSERT INTO site_default_fallback (site_code, role, minutes)
    SELECT NEW.code, r, fallback_default(r)
    FROM unnest(ARRAY['dp', 'clouddp', 'sup', 'smp', 'mp', 'cmg']) AS r
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
