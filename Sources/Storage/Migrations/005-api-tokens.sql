-- Bearer tokens of the HTTP API, scoped to a unit's subtree. Only the SHA-256 of a token is kept;
-- the token itself is shown once, when it is created.
CREATE TABLE api_tokens (
    id bigserial PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    scope char(12) NOT NULL CHECK (scope ~ '^[0-9]{12}$'),
    role text NOT NULL CHECK (role IN ('analyst', 'viewer')),
    name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
