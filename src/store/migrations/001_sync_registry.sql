-- The sync registry, exactly as the design specifies it (operators query these columns with psql),
-- plus the columns the engine needs. Never rename or drop the design's columns.
CREATE TABLE IF NOT EXISTS sync_registry (
    id SERIAL PRIMARY KEY,
    local_id TEXT NOT NULL,              -- Aurora internal ID
    external_id TEXT,                    -- External system ID (HubSpot, etc.)
    external_system TEXT NOT NULL,       -- hubspot, google_workspace, etc.
    entity_type TEXT NOT NULL,           -- contact, company, deal, email
    last_synced TIMESTAMP NOT NULL,      -- Last successful sync time
    local_version INTEGER DEFAULT 1,     -- Local version number
    external_version INTEGER,            -- External version number
    sync_status TEXT DEFAULT 'synced',   -- synced, pending, conflict, error
    error_message TEXT,                  -- Error details if sync failed
    created_at TIMESTAMP DEFAULT NOW(),
    UNIQUE(local_id, external_system, entity_type)
);

ALTER TABLE sync_registry
    ADD COLUMN IF NOT EXISTS synced_hash TEXT,                    -- content hash of the last synced state (both sides equal then)
    ADD COLUMN IF NOT EXISTS synced_snapshot JSONB,               -- last synced canonical field values (the base of a three-way merge)
    ADD COLUMN IF NOT EXISTS external_updated_at TIMESTAMPTZ,     -- the external record's last-modified at the last sync
    ADD COLUMN IF NOT EXISTS local_updated_at TIMESTAMPTZ,        -- the local row's updated_at at the last sync
    ADD COLUMN IF NOT EXISTS deleted BOOLEAN NOT NULL DEFAULT FALSE, -- tombstone: deleted/archived on both sides
    ADD COLUMN IF NOT EXISTS last_resolution JSONB,               -- what the last conflict decided, with the loser's values
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

DO $$ BEGIN
  ALTER TABLE sync_registry ADD CONSTRAINT sync_registry_status_check
    CHECK (sync_status IN ('synced', 'pending', 'conflict', 'error'));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE UNIQUE INDEX IF NOT EXISTS sync_registry_external_key
    ON sync_registry (external_system, entity_type, external_id);
CREATE INDEX IF NOT EXISTS sync_registry_status_idx
    ON sync_registry (external_system, entity_type, sync_status);

-- Per system and entity type: the incremental cursor (mirrors the workflow's state for operators) and last outcome.
CREATE TABLE IF NOT EXISTS sync_state (
    external_system TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    cursor JSONB,
    last_pull_at TIMESTAMPTZ,
    last_push_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    last_error TEXT,
    last_error_at TIMESTAMPTZ,
    PRIMARY KEY (external_system, entity_type)
);
