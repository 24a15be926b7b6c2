-- Webhook deliveries already accepted, by the system's own event id: a replay is a no-op.
CREATE TABLE IF NOT EXISTS webhook_events (
    system TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (system, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_events_received_idx ON webhook_events (received_at);
