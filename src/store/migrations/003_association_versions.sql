-- A change to a deal's contacts is a change of the deal: bump its version through assoc_rev.
ALTER TABLE deals ADD COLUMN IF NOT EXISTS assoc_rev INTEGER NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION aurora_deal_contacts_changed() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE deals SET assoc_rev = assoc_rev + 1 WHERE id = NEW.deal_id;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE deals SET assoc_rev = assoc_rev + 1 WHERE id = OLD.deal_id;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS deal_contacts_version ON deal_contacts;
CREATE TRIGGER deal_contacts_version AFTER INSERT OR UPDATE OR DELETE ON deal_contacts
  FOR EACH ROW EXECUTE FUNCTION aurora_deal_contacts_changed();

CREATE INDEX IF NOT EXISTS contacts_company_idx ON contacts (company_id);
CREATE INDEX IF NOT EXISTS deals_company_idx ON deals (company_id);
