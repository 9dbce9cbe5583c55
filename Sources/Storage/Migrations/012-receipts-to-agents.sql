-- The city's receipts to agents (SubmissionReceipt, JSON): written in the transaction of the batch
-- they describe, published to the receipts topic after it commits, then marked. A receipt of a
-- batch that rolled back never exists, so it is never published.
CREATE TABLE receipt_outbox (
    id bigserial PRIMARY KEY,
    agent_id text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX receipt_outbox_unpublished ON receipt_outbox (id) WHERE published_at IS NULL;
