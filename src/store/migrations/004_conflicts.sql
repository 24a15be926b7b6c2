-- An open conflict (sync_status = 'conflict'): both sides' values and the base at detection,
-- refreshed while it stays open; cleared when resolved. conflict_started: its workflow exists.
ALTER TABLE sync_registry
    ADD COLUMN IF NOT EXISTS conflict JSONB,
    ADD COLUMN IF NOT EXISTS conflict_started BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX IF NOT EXISTS sync_registry_open_conflicts ON sync_registry (external_system, entity_type)
    WHERE sync_status = 'conflict';
