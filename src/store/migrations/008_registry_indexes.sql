-- Registry indexes for a set-based data plane (issue 12). The two indexes on (system[, connection],
-- type, sync_status) held every registry row under a handful of keys: each page of a pull paid for
-- them (a quarter of the registry write), and on a table without statistics yet (a backfill) the
-- planner took them for a record's lookup by external id and scanned the whole type per record.
-- Only rows that are not in sync are looked up by status: a partial index holds just those. The
-- open conflicts keep their own partial index (004).
DROP INDEX IF EXISTS sync_registry_status_idx;
DROP INDEX IF EXISTS sync_registry_conn_status_idx;
CREATE INDEX IF NOT EXISTS sync_registry_unsynced
    ON sync_registry (external_system, connection, entity_type, sync_status) WHERE sync_status <> 'synced';
