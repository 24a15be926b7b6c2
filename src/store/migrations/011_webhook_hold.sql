-- Each inbox row now carries one connection's work (NULL: a row from before, which may name
-- several: written by an API not yet upgraded; always claimed), so that one workflow's rows can
-- wait without holding up any other's.
ALTER TABLE webhook_inbox ADD COLUMN IF NOT EXISTS connection TEXT;

-- A sync workflow about to continue-as-new under a webhook stream that never pauses holds its
-- signals here, so that nothing arrives while its run closes (Temporal refuses the close of a run
-- that received a signal meanwhile and the workflow task is replayed from the start: seconds of
-- stall at 10,000 events). Its next run deletes the hold; `until` bounds it if that never happens.
CREATE TABLE IF NOT EXISTS webhook_hold (
    system TEXT NOT NULL,
    connection TEXT NOT NULL,
    until TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (system, connection)
);

-- Rows waiting from before: one per connection their work names, in their order.
INSERT INTO webhook_inbox (system, connection, work, received_at, attempts, last_error)
SELECT i.system, e.c, jsonb_agg(e.w ORDER BY e.n), i.received_at, i.attempts, i.last_error
  FROM webhook_inbox i,
       LATERAL (SELECT w, n, coalesce(w->>'connection', 'default') AS c FROM jsonb_array_elements(i.work) WITH ORDINALITY AS x(w, n)) e
 WHERE i.connection IS NULL
 GROUP BY i.id, i.system, e.c, i.received_at, i.attempts, i.last_error
 ORDER BY i.id, min(e.n);
DELETE FROM webhook_inbox WHERE connection IS NULL;
