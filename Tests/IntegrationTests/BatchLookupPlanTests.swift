import Domain
import Foundation
import Postgres
import Storage
import TestSupport
import Testing

@testable import Processor

/// A batch's keyed lookups must cost what the batch asks for, not what the database holds: the plan PostgreSQL
/// actually runs probes the wanted month's index once per key and never reads another month.
@Suite struct BatchLookupPlanTests {
    static let months = (1...4).compactMap { Period(year: 2024, month: $0) }

    @Test func householdLookupProbesOnlyTheWantedMonth() async throws {
        try await withStoredMonths { connection in
            let wanted = try await Self.keys(
                "SELECT period::text, unit_code, encode(household_key, 'hex') FROM household_members WHERE period = '2024-04-01' ORDER BY 2, 3 LIMIT 400",
                on: connection
            ).map { HouseholdMonth(unit: $0.unit, period: $0.period, householdKey: $0.extra) }
            #expect(wanted.count == 400)
            let lookup = BatchStore.householdLookup(Set(wanted))
            let plan = try await Self.executedPlan(lookup.sql, lookup.parameters, on: connection)
            #expect(plan.nodeTypes.isDisjoint(with: ["Seq Scan", "Hash Join", "Merge Join"]), "\(plan.nodeTypes)")
            #expect(plan.relationsRead == ["household_members_2024_04"])
            #expect(plan.rows == 400)
        }
    }

    @Test func villageLookupProbesOnlyTheWantedPairs() async throws {
        try await withStoredMonths { connection in
            let wanted = try await Self.keys(
                "SELECT period::text, unit_code, '' FROM village_reports WHERE period = '2024-04-01' ORDER BY 2 LIMIT 300",
                on: connection
            ).map { UnitMonth(unit: $0.unit, period: $0.period) }
            #expect(wanted.count == 300)
            let lookup = BatchStore.villageLookup(Set(wanted))
            let plan = try await Self.executedPlan(lookup.sql, lookup.parameters, on: connection)
            #expect(plan.nodeTypes.isDisjoint(with: ["Seq Scan", "Hash Join", "Merge Join"]), "\(plan.nodeTypes)")
            #expect(plan.rows == 300)
        }
    }

    @Test func monthsWithPersonsReadsOneRowOfEachWantedMonth() async throws {
        try await withStoredMonths { connection in
            let store = BatchStore(connection: connection)
            let wanted = Set(Self.months.suffix(2) + [Period(year: 2024, month: 5)!])
            #expect(try await store.monthsWithPersons(wanted) == Set(Self.months.suffix(2)))
            try await BatchStore.ensureMonths([Period(year: 2024, month: 5)!], on: connection)
            #expect(try await store.monthsWithPersons(wanted) == Set(Self.months.suffix(2)))

            let plan = try await Self.executedPlan(
                """
                SELECT m::text FROM unnest($1::date[]) AS m
                CROSS JOIN LATERAL (SELECT 1 FROM person_ledger AS l WHERE l.period = m \(BatchStore.probeOnce)) AS any_row
                """, [PostgresArray(["2024-04-01"])], on: connection)
            #expect(plan.nodeTypes.isDisjoint(with: ["Hash Join", "Merge Join", "HashAggregate"]), "\(plan.nodeTypes)")
            #expect(plan.relationsRead == ["person_ledger_2024_04"])
        }
    }

    /// Four months of 6,000 households in 2,000 villages each, with fresh statistics: enough history for a
    /// planner free to join to prefer scanning it.
    func withStoredMonths(_ body: (PostgresConnection) async throws -> Void) async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            _ = try await Schema.migrator().migrate(connection)
            try await BatchStore.ensureMonths(Set(Self.months), on: connection)
            try await connection.execute(
                script: """
                    INSERT INTO household_members (period, unit_code, household_key, in_labour_force, employed)
                    SELECT m, (140402000000 + (101 + h % 2000 / 500) * 1000 + h % 500 + 1)::text, sha256(h::text::bytea), 2, 1
                    FROM generate_series('2024-01-01'::date, '2024-04-01'::date, '1 month') AS m,
                        generate_series(1, 6000) AS h;
                    INSERT INTO village_reports (period, unit_code, persons)
                    SELECT m, (140402000000 + (101 + v / 500) * 1000 + v % 500 + 1)::text, 3
                    FROM generate_series('2024-01-01'::date, '2024-04-01'::date, '1 month') AS m,
                        generate_series(0, 1999) AS v;
                    INSERT INTO person_ledger (period, person_key, record_id, unit_code, household_key, birth_year, sex,
                        status, registered_unemployed, groups, seeking_work, assisted, trained, reported_at_ms, agent_id,
                        signature)
                    SELECT m, sha256(p::text::bytea), gen_random_uuid(), '140402101001', sha256(p::text::bytea), 1980,
                        'male', 'employed', false, '{}', false, false, false, 0, 'test', '\\x00'
                    FROM generate_series('2024-01-01'::date, '2024-04-01'::date, '1 month') AS m,
                        generate_series(1, 6000) AS p;
                    ANALYZE household_members, village_reports, person_ledger;
                    """)
            try await body(connection)
        }
    }

    static func keys(_ sql: String, on connection: PostgresConnection) async throws -> [(
        period: Period, unit: DivisionCode, extra: String
    )] {
        try await connection.query(sql).map { row in
            let (period, unit, extra) = try row.decode((String, String, String).self)
            return (
                try #require(LedgerColumns.period(fromDate: period)), try #require(DivisionCode(unit)), extra
            )
        }
    }

    struct ExecutedPlan {
        var nodeTypes: Set<String> = []
        /// Relations a scan node actually ran on (loops above zero).
        var relationsRead: Set<String> = []
        var rows = 0
    }

    static func executedPlan(_ sql: String, _ parameters: [any PostgresEncodable], on connection: PostgresConnection)
        async throws -> ExecutedPlan
    {
        let rows = try await connection.query("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, parameters)
        let text = try #require(rows.first).text(at: 0) ?? ""
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        let root = try #require(document.first?["Plan"] as? [String: Any])
        var plan = ExecutedPlan()
        plan.rows = root["Actual Rows"] as? Int ?? -1
        func visit(_ node: [String: Any]) {
            if let type = node["Node Type"] as? String { plan.nodeTypes.insert(type) }
            if let relation = node["Relation Name"] as? String, (node["Actual Loops"] as? Int ?? 0) > 0 {
                plan.relationsRead.insert(relation)
            }
            for child in node["Plans"] as? [[String: Any]] ?? [] { visit(child) }
        }
        visit(root)
        return plan
    }
}
