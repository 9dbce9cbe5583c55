import Postgres

/// The database schema of the employment monitor, as versioned migrations (`empmon db migrate`).
///
/// Never edit a migration that has shipped: the migrator refuses a changed checksum. Add a new one.
public enum Schema {
    public static let migrations: [PostgresMigration] = [
        PostgresMigration(
            version: 1, name: "consumer offsets",
            sql: """
                -- The processor stores the next offset of every partition here, in the same transaction
                -- as the aggregates it derived from the messages before it (exactly-once, DESIGN.md).
                CREATE TABLE consumer_offsets (
                    consumer_group text NOT NULL,
                    topic text NOT NULL,
                    partition integer NOT NULL CHECK (partition >= 0),
                    next_offset bigint NOT NULL CHECK (next_offset >= 0),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer_group, topic, partition)
                );
                """),
        PostgresMigration(
            version: 2, name: "agent registry and city keys",
            sql: """
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
                """),
    ]

    public static func migrator() throws -> PostgresMigrator {
        try PostgresMigrator(migrations: migrations)
    }
}
