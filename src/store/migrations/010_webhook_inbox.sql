-- Webhook work accepted but not yet handed to its sync workflow: the API answers a delivery once its
-- work is here; the API's forwarder signals the workflows and deletes what Temporal accepted. A row
-- left by an API that stopped, or kept while Temporal is unreachable, is forwarded later.
CREATE TABLE IF NOT EXISTS webhook_inbox (
    id BIGSERIAL PRIMARY KEY,
    system TEXT NOT NULL,
    -- the connector's WebhookWork list: [{connection, entityType, ids, propertyOnly?} | {connection, entityType, incremental}]
    work JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
