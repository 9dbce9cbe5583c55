-- Agents sign with Ed25519 keys whose private halves never leave their computers; the city keeps
-- the public halves. A key that was rotated out stops being accepted at retires_at.
CREATE TABLE agent_keys (
    agent_id text NOT NULL REFERENCES agents (agent_id),
    key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    registered_at timestamptz NOT NULL DEFAULT now(),
    retires_at timestamptz,
    PRIMARY KEY (agent_id, key_id)
);
-- An agent enrolled without a key proves its first key with a one-time code: the city keeps its
-- SHA-256 only, so a copy of this table cannot enrol a key.
ALTER TABLE agents ADD COLUMN enrolment_code_sha256 bytea, ADD COLUMN enrolment_expires_at timestamptz;
-- HMAC secrets of agents enrolled before key pairs, apart, until `empmon agent end-hmac` drops the
-- table: then the city holds no secret an agent signs with.
CREATE TABLE legacy_hmac_secrets (
    agent_id text PRIMARY KEY REFERENCES agents (agent_id),
    secret bytea NOT NULL
);
INSERT INTO legacy_hmac_secrets (agent_id, secret) SELECT agent_id, secret FROM agents;
ALTER TABLE agents DROP COLUMN secret;
