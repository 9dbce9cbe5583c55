-- The manifests agents send after each submission: how many records a unit's month holds at the
-- agent, and SHA-256 of their ids. Written with the batch that carries them; verify --manifests
-- and the missing_records alert reconcile the ledger against the latest one of each unit-month.
CREATE TABLE submission_manifests (
    record_id uuid PRIMARY KEY,
    agent_id text NOT NULL,
    unit_code char(12) NOT NULL CHECK (unit_code ~ '^[0-9]{12}$'),
    period date NOT NULL CHECK (extract(day FROM period) = 1),
    kind text NOT NULL CHECK (kind IN ('person', 'activity')),
    records integer NOT NULL CHECK (records >= 0),
    digest bytea NOT NULL CHECK (length(digest) = 32),
    reported_at_ms bigint NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submission_manifests_latest ON submission_manifests (period, unit_code, kind, reported_at_ms DESC, record_id DESC);
