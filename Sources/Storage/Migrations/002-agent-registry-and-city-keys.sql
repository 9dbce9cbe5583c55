-- Agents the city accepts records from. The secret is kept (not hashed) because HMAC
-- verification needs it; the table is readable by the processor role only (Deploy/).
CREATE TABLE agents (
    agent_id text PRIMARY KEY,
    unit_code char(12) NOT NULL CHECK (unit_code ~ '^[0-9]{12}$'),
    name text NOT NULL DEFAULT '',
    secret bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX agents_unit ON agents (unit_code);
-- City-wide keys, e.g. the pseudonymization key every agent derives person keys with.
CREATE TABLE city_keys (
    purpose text PRIMARY KEY,
    key bytea NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
