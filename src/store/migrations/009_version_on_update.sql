-- Row versions are bumped on UPDATE only (issue 12): an inserted row's version (1) and
-- updated_at (clock_timestamp()) are its column defaults, so the row trigger that set them again
-- for every inserted row (a fifth of a pulled page's row insert) does not run on INSERT. What it did
-- on INSERT (COALESCE of a missing version or updated_at) is what the defaults do.
CREATE OR REPLACE FUNCTION aurora_track_table(tbl TEXT) RETURNS void AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_version', tbl);
  EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION aurora_bump_version()', tbl || '_version', tbl);
END $$ LANGUAGE plpgsql;

-- The tables tracked so far (the core tables here; connector tables where their migrations ran before).
DO $$ DECLARE t TEXT; BEGIN
  FOR t IN SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid
            WHERE p.proname = 'aurora_bump_version' AND NOT g.tgisinternal AND g.tgname = c.relname || '_version' LOOP
    PERFORM aurora_track_table(t);
  END LOOP;
END $$;
