import Postgres

/// Where a consumer group starts reading. The processor keeps its offsets in `consumer_offsets`, inside each batch's
/// transaction, and seeks to them on assignment; a group that should start anywhere but a topic's beginning (the
/// demo, a benchmark, a test sharing topics with others) is given its rows before its first member joins.
package enum ConsumerOffsets {
    package struct Start: Sendable, Hashable {
        package let topic: String
        package let partition: Int
        /// The offset of the first record the group will read.
        package let next: Int64

        package init(topic: String, partition: Int, next: Int64) {
            self.topic = topic
            self.partition = partition
            self.next = next
        }
    }

    /// The group's stored offsets: where each of its partitions resumes.
    package static func stored(group: String, on connection: PostgresConnection) async throws -> [Start] {
        try await connection.query(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer_group = $1", [group]
        ).map { row in
            let (topic, partition, next) = try row.decode((String, Int, Int64).self)
            return Start(topic: topic, partition: partition, next: next)
        }
    }

    /// Moves one partition's stored offset to `next` if it still stands at `expected` (or, with no `expected`,
    /// if the group has no row for it yet); false when another member moved it first. The caller's transaction
    /// holds the row from here to its commit, so two members cannot both move it.
    package static func advance(
        group: String, topic: String, partition: Int, from expected: Int64?, to next: Int64,
        on connection: PostgresConnection
    ) async throws -> Bool {
        let rows: PostgresRows
        if let expected {
            rows = try await connection.query(
                """
                UPDATE consumer_offsets SET next_offset = $5, updated_at = now()
                WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $4
                """, [group, topic, partition, expected, next])
        } else {
            rows = try await connection.query(
                """
                INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
                ON CONFLICT DO NOTHING
                """, [group, topic, partition, next])
        }
        return rows.affectedRows == 1
    }

    package static func preset(group: String, _ starts: [Start], on connection: PostgresConnection) async throws {
        for start in starts.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            try await connection.query(
                "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)",
                [group, start.topic, start.partition, start.next])
        }
    }
}

/// Monitoring data as against configuration: what the demo clears before it replays a simulated year.
package enum MonitoringData {
    /// Tables kept by `clear`: the migrations, the city's pseudonymisation key (every stored person key depends on
    /// it) and the API tokens people hold.
    package static let kept: Set<String> = ["schema_migrations", "city_keys", "api_tokens"]

    /// Empties every other table of the schema (read from the catalogue, so a table added by a later migration is
    /// not forgotten), in the caller's transaction.
    package static func clear(on connection: PostgresConnection) async throws {
        let tables = try await connection.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).map { try $0.decode(String.self, at: 0) }.filter { !kept.contains($0) }
        guard !tables.isEmpty else { return }
        try await connection.execute(script: "TRUNCATE " + tables.map { "\"\($0)\"" }.joined(separator: ", "))
    }
}
