import Domain
import Foundation
import Postgres
import Situation
import Storage
import TestSupport
import Testing

/// The analysts' queries find their rows by index. Codes compared as the wrong type (text against char(12))
/// once made every situation table and series scan the whole of `unit_month_counts`; PostgreSQL's own
/// scan counters tell which way a query went.
@Suite struct QueryPlanTests {
    @Test("Situation tables and series read unit_month_counts by index, not by scanning it")
    func analystQueriesUseTheIndex() async throws {
        let database = try await TestDatabase.create()
        let topology = try Topology(
            csv: String(
                decoding: try #require(FileManager.default.contents(atPath: AlertFixture.topologyPath())), as: UTF8.self
            ))
        // Two years of every unit: enough rows that the planner scans only when it has no other way.
        let codes = "{" + topology.allDivisions.map(\.code.description).joined(separator: ",") + "}"
        do {
            let setup = try await database.connect()
            _ = try await Schema.migrator().migrate(setup)
            try await setup.execute(
                script: """
                    INSERT INTO monitored_periods (period) SELECT m::date FROM generate_series('2023-01-01'::date, '2024-12-01', '1 month') AS m;
                    """)
            try await setup.query(
                """
                INSERT INTO unit_month_counts (period, unit_code, labour_force, employed, reporting_units, expected_units)
                SELECT m::date, u, 100, 90, 1, 1 FROM generate_series('2023-01-01'::date, '2024-12-01', '1 month') AS m, unnest($1::text[]) AS u
                """, [codes])
            try await setup.execute(script: "ANALYZE unit_month_counts; ANALYZE unit_month_count_history;")
        }
        let rows = Int64(topology.allDivisions.count * 24)

        func scans(_ table: String) async throws -> (sequential: Int64, indexed: Int64) {
            let connection = try await database.connect()
            let row = try #require(
                try await connection.query(
                    "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1", [table]
                ).first)
            return try row.decode((Int64, Int64).self)
        }
        // The setup's own counters (its migration copied the table once) arrive when its backend has ended.
        let setUp = try await waitUntil(20) {
            let connection = try await database.connect()
            return try await connection.query(
                "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'unit_month_counts'"
            )
            .first.map { try $0.decode(Int64.self, at: 0) } ?? 0 >= rows
        }
        #expect(setUp)
        let before = (
            counts: try await scans("unit_month_counts"), history: try await scans("unit_month_count_history")
        )

        do {
            let client = try PostgresClient(url: database.url, maxConnections: 1)
            let query = SituationQuery(database: client, topology: topology, targets: nil)
            let december = try #require(Period("2024-12"))
            let county = try #require(DivisionCode("140403000000"))
            let counties = try await query.situation(tier: .county, period: december, indicator: .employed)
            #expect(counties.rows.count == 12 && counties.rows.allSatisfy { $0.value == 90 })
            let townships = try await query.situation(
                tier: .township, period: december, indicator: .employed, within: county)
            #expect(!townships.rows.isEmpty)
            let series = try await query.series(
                unit: county, indicator: .employed, from: try #require(Period("2023-01")), through: december)
            #expect(series.count == 24 && series.allSatisfy { $0.value == 90 })
            _ = try await query.situation(tier: .county, period: december, indicator: .employed, asOf: Date())
        }
        // The client's connection is gone with it; a backend that ends reports its counters.
        var after = before
        let settled = try await waitUntil(20) {
            after = (counts: try await scans("unit_month_counts"), history: try await scans("unit_month_count_history"))
            return after.counts.indexed >= before.counts.indexed + 5 && after.history.indexed > before.history.indexed
        }
        #expect(settled, "index scans before \(before), after \(after)")
        #expect(
            after.counts.sequential == before.counts.sequential,
            "unit_month_counts was scanned: \(before.counts) → \(after.counts)")
        #expect(
            after.history.sequential == before.history.sequential,
            "the history was scanned: \(before.history) → \(after.history)")
        await database.drop()
    }
}
