/// One versioned change of the schema.
public struct PostgresMigration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// FNV-1a of the text: enough to notice that an applied migration was edited afterwards.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// Applies migrations in version order, each in its own transaction, and records them in
/// `schema_migrations`. Running it again applies only what is new; concurrent runs wait on an advisory lock.
public struct PostgresMigrator: Sendable {
    public let migrations: [PostgresMigration]

    public init(migrations: [PostgresMigration]) throws {
        let versions = migrations.map(\.version)
        guard Set(versions).count == versions.count else {
            throw PostgresError(.migration, "two migrations share a version number")
        }
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Returns the versions applied by this run.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) async throws -> [Int] {
        let lockKey = 0x656d_706d_6f6e  // "empmon"
        // Taken before anything else, so that concurrent runs do not even race to create the bookkeeping table.
        try await connection.query("SELECT pg_advisory_lock($1)", [lockKey])
        do {
            try await connection.execute(
                script: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        checksum text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
            let applied = try await run(connection)
            try await connection.query("SELECT pg_advisory_unlock($1)", [lockKey])
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock($1)", [lockKey])
            throw error
        }
    }

    private func run(_ connection: PostgresConnection) async throws -> [Int] {
        let recorded = try await connection.query("SELECT version, checksum FROM schema_migrations")
            .decode((Int, String).self)
        let checksums = Dictionary(uniqueKeysWithValues: recorded.map { ($0.0, $0.1) })
        var applied: [Int] = []
        for migration in migrations {
            if let checksum = checksums[migration.version] {
                guard checksum == migration.checksum else {
                    throw PostgresError(
                        .migration,
                        "migration \(migration.version) (\(migration.name)) was changed after it was applied; add a new migration instead"
                    )
                }
                continue
            }
            try await connection.withTransaction { connection in
                try await connection.execute(script: migration.sql)
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
            }
            applied.append(migration.version)
        }
        return applied
    }

    /// Versions recorded as applied.
    public func appliedVersions(_ connection: PostgresConnection) async throws -> [Int] {
        let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
        guard try exists.first?.decode(Bool.self, at: 0) == true else { return [] }
        return try await connection.query("SELECT version FROM schema_migrations ORDER BY version").map {
            try $0.decode(Int.self, at: 0)
        }
    }
}
