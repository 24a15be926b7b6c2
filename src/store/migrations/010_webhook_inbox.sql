-- Webhook work accepted but not yet handed to its sync workflow: the API answers a delivery once its
-- work is here; the API's forwarder signals the workflows and deletes what Temporal accepted. A row
-- left by an API that stopped, or kept while Temporal is unreachable, is forwarded later.
CREATE TABLE IF NOT EXISTS webhook_inbox (
    id BIGSERIAL PRIMARY KEY,
    system TEXT NOT NULL,
    -- the sync workflow it is for: the system's connection
    connection TEXT NOT NULL,
    -- the connector's WebhookWork list for that connection: [{connection, entityType, ids, propertyOnly?} | {connection, entityType, incremental}]
    work JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- a forwarder is signalling it until then (an API that stopped mid-way leaves it to the next one after that)
    claimed_until TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
