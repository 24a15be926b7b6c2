-- Local Aurora records. Every table has a version that a trigger bumps on every real change,
-- updated_at, and a soft delete (deleted_at). Push selects rows whose version is ahead of the registry.
CREATE OR REPLACE FUNCTION aurora_bump_version() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.version := COALESCE(NEW.version, 1);
    NEW.updated_at := COALESCE(NEW.updated_at, clock_timestamp());
    RETURN NEW;
  END IF;
  -- Only a real change bumps the version; writing the same values is not a change.
  IF (to_jsonb(NEW) - 'version' - 'updated_at') IS DISTINCT FROM (to_jsonb(OLD) - 'version' - 'updated_at') THEN
    NEW.version := OLD.version + 1;
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
      NEW.updated_at := clock_timestamp();
    END IF;
  ELSE
    NEW.version := OLD.version;
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name TEXT,
    domain TEXT,
    industry TEXT,
    total_deal_value NUMERIC(18,2),
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    first_name TEXT,
    last_name TEXT,
    email TEXT,
    phone TEXT,
    linkedin_url TEXT,
    company_id TEXT REFERENCES companies(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS deals (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    name TEXT,
    amount NUMERIC(18,2),
    stage TEXT,
    probability NUMERIC(5,4),
    close_date DATE,
    company_id TEXT REFERENCES companies(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);

-- deal <-> contact associations (many to many); contact -> company and deal -> company are columns.
CREATE TABLE IF NOT EXISTS deal_contacts (
    deal_id TEXT NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (deal_id, contact_id)
);
CREATE INDEX IF NOT EXISTS deal_contacts_contact_idx ON deal_contacts (contact_id);

DO $$ DECLARE t TEXT; BEGIN
  FOREACH t IN ARRAY ARRAY['companies', 'contacts', 'deals'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I_version ON %I', t, t);
    EXECUTE format('CREATE TRIGGER %I_version BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION aurora_bump_version()', t, t);
  END LOOP;
END $$;

CREATE INDEX IF NOT EXISTS contacts_email_idx ON contacts (lower(email));

-- Transactional outbox: events are written with the change and relayed to Redis.
CREATE TABLE IF NOT EXISTS sync_outbox (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    published_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS sync_outbox_unpublished ON sync_outbox (id) WHERE published_at IS NULL;
