-- The engine beyond one system: connections, generic change tracking, push channels, the
-- mass-delete guard. The seed's registry columns and UNIQUE(local_id, external_system, entity_type)
-- stay exactly as specified.

-- A connection is the unit of state: HubSpot's portal ('default'), each Google user, ...
ALTER TABLE sync_registry ADD COLUMN IF NOT EXISTS connection TEXT NOT NULL DEFAULT 'default';
-- Its external etag/version marker as last synced (conditional writes: If-Match).
ALTER TABLE sync_registry ADD COLUMN IF NOT EXISTS external_etag TEXT;
-- External ids are unique per connection (Gmail's label INBOX exists in every mailbox).
CREATE UNIQUE INDEX IF NOT EXISTS sync_registry_external_conn_key
    ON sync_registry (external_system, connection, entity_type, external_id);
DROP INDEX IF EXISTS sync_registry_external_key;
CREATE INDEX IF NOT EXISTS sync_registry_conn_status_idx
    ON sync_registry (external_system, connection, entity_type, sync_status);

ALTER TABLE sync_state ADD COLUMN IF NOT EXISTS connection TEXT NOT NULL DEFAULT 'default';
ALTER TABLE sync_state DROP CONSTRAINT IF EXISTS sync_state_pkey;
ALTER TABLE sync_state ADD PRIMARY KEY (external_system, connection, entity_type);
-- Mass-delete guard: deletions a full listing found but held back, until an operator confirms.
ALTER TABLE sync_state
    ADD COLUMN IF NOT EXISTS pending_deletions JSONB,
    ADD COLUMN IF NOT EXISTS deletions_confirmed_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS last_full_sync_at TIMESTAMPTZ,
    -- local edits to pull-only types that were not sent (reported in the status)
    ADD COLUMN IF NOT EXISTS ignored_local_edits INTEGER NOT NULL DEFAULT 0;

-- Change tracking for any local table: a version bumped on every real change (see aurora_bump_version).
CREATE OR REPLACE FUNCTION aurora_track_table(tbl TEXT) RETURNS void AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_version', tbl);
  EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION aurora_bump_version()', tbl || '_version', tbl);
END $$ LANGUAGE plpgsql;

-- A change to a join table (e.g. a deal's contacts) is a change of its owner row: bump the owner's
-- assoc_rev, which bumps its version. Arguments: owner table, owner id column in the join table.
CREATE OR REPLACE FUNCTION aurora_join_changed() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('UPDATE %I SET assoc_rev = assoc_rev + 1 WHERE id = $1', TG_ARGV[0]) USING to_jsonb(NEW) ->> TG_ARGV[1];
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    EXECUTE format('UPDATE %I SET assoc_rev = assoc_rev + 1 WHERE id = $1', TG_ARGV[0]) USING to_jsonb(OLD) ->> TG_ARGV[1];
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION aurora_track_join(join_tbl TEXT, owner_tbl TEXT, owner_col TEXT) RETURNS void AS $$
BEGIN
  EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS assoc_rev INTEGER NOT NULL DEFAULT 0', owner_tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', join_tbl || '_version', join_tbl);
  EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION aurora_join_changed(%L, %L)',
                 join_tbl || '_version', join_tbl, owner_tbl, owner_col);
END $$ LANGUAGE plpgsql;

-- Push channels the engine opened (Calendar/Drive watch): a notification is accepted only for a
-- channel listed here, with the token whose sha256 is kept (the token itself is not stored).
CREATE TABLE IF NOT EXISTS sync_channels (
    channel_id TEXT PRIMARY KEY,
    external_system TEXT NOT NULL,
    connection TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    stopped_at TIMESTAMPTZ,
    last_message_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS sync_channels_live ON sync_channels (external_system, connection, entity_type) WHERE stopped_at IS NULL;
