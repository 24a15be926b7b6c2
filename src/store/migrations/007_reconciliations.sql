-- The last scheduled reconciliation of each connection's entity type: when, and what it repaired.
ALTER TABLE sync_state ADD COLUMN IF NOT EXISTS last_reconciled_at TIMESTAMPTZ;
-- {checked, created, updated, deleted, heldDeletions, conflicts, error}
ALTER TABLE sync_state ADD COLUMN IF NOT EXISTS last_reconcile JSONB;
