import Domain
import Postgres
import Storage
import Synchronization

/// `empmon verify`: recomputes every indicator from the ledger from scratch (`IndicatorComputation`) and
/// compares it with what the processor stored (docs/design.md invariant 2).
///
/// It streams: per month, one query joins each person's records of the month before and the month (PostgreSQL
/// does the join, rows arrive one at a time), and one reads the month's households in order. What it holds is
/// the per-unit counts being built (2,790 units) and one household's members, never the ledger, so its memory does
/// not grow with the city.
package struct IndicatorVerifier: Sendable {
    package struct Difference: Sendable, Hashable, CustomStringConvertible {
        package let period: Period
        package let unit: DivisionCode
        package let indicator: IndicatorID
        package let stored: Int64
        package let recomputed: Int64

        package var description: String { "\(period) \(unit) \(indicator): stored \(stored), recomputed \(recomputed)" }
    }

    package struct Outcome: Sendable {
        package var periods: [Period] = []
        package var valuesCompared = 0
        package var differences: [Difference] = []
    }

    package let topology: Topology
    package let databaseURL: String

    package init(topology: Topology, databaseURL: String) {
        self.topology = topology
        self.databaseURL = databaseURL
    }

    /// Compares the given months (all months with data when nil).
    package func verify(periods requested: [Period]? = nil, progress: (Period) -> Void = { _ in }) async throws
        -> Outcome
    {
        let connection = try await PostgresConnection.connect(url: databaseURL)
        // One snapshot for the whole comparison, so that a running processor cannot make it disagree.
        return try await connection.withTransaction(isolation: .repeatableRead) { connection in
            let monitored = Set(
                try await connection.query("SELECT to_char(period, 'YYYY-MM') FROM monitored_periods").compactMap {
                    Period(try $0.decode(String.self, at: 0))
                })
            let withValues = Set(
                try await connection.query("SELECT DISTINCT to_char(period, 'YYYY-MM') FROM indicator_values")
                    .compactMap {
                        Period(try $0.decode(String.self, at: 0))
                    })
            let periods = (requested.map(Set.init) ?? monitored.union(withValues)).sorted()
            var outcome = Outcome(periods: periods)
            let computation = IndicatorComputation(topology: topology)
            for period in periods {
                progress(period)
                let recomputed =
                    monitored.contains(period) ? try await recompute(period, computation, on: connection) : [:]
                let stored = try await StoredIndicators.counts(period: period, units: nil, on: connection)
                for unit in Set(stored.keys).union(recomputed.keys).sorted() {
                    let have = stored[unit] ?? [:]
                    let want = recomputed[unit] ?? [:]
                    for indicator in Set(have.keys).union(want.keys).sorted(by: { $0.rawValue < $1.rawValue }) {
                        outcome.valuesCompared += 1
                        let storedValue = have[indicator] ?? 0
                        let recomputedValue = want[indicator] ?? 0
                        if storedValue != recomputedValue {
                            outcome.differences.append(
                                Difference(
                                    period: period, unit: unit, indicator: indicator, stored: storedValue,
                                    recomputed: recomputedValue))
                        }
                    }
                }
            }
            return outcome
        }
    }

    /// One month from the ledger, streamed through `IndicatorComputation.Month`.
    private func recompute(_ period: Period, _ computation: IndicatorComputation, on connection: PostgresConnection)
        async throws
        -> [DivisionCode: IndicatorCounts]
    {
        let month = Locked(computation.month(period))
        // Each person once, with the month before's record and the month's (the ledger keeps one per person and month).
        try await connection.forEachRow(
            """
            SELECT \(LedgerColumns.personQualified("b")), \(LedgerColumns.personQualified("m"))
            FROM (SELECT * FROM person_ledger WHERE period = $1::date) b
            FULL JOIN (SELECT * FROM person_ledger WHERE period = $2::date) m ON m.person_key = b.person_key
            """,
            [LedgerColumns.date(period.previous), LedgerColumns.date(period)]
        ) { row in
            let before = row.text(at: 1) == nil ? nil : try LedgerColumns.personRecord(row, offset: 0)
            let now =
                row.text(at: LedgerColumns.personCount + 1) == nil
                ? nil : try LedgerColumns.personRecord(row, offset: LedgerColumns.personCount)
            month.withLock { $0.addPerson(previous: before, current: now) }
        }
        // Each household once: the month's rows in (village, household) order, a household's members together.
        let household = Locked<(unit: String, key: String, statuses: [EmploymentStatus])?>(nil)
        @Sendable func close(_ finished: (unit: String, key: String, statuses: [EmploymentStatus])?) throws {
            guard let finished else { return }
            guard let unit = DivisionCode(finished.unit) else {
                throw PostgresError(.decoding, "bad unit code \(finished.unit) stored")
            }
            month.withLock { $0.addHousehold(unit: unit, statuses: finished.statuses) }
        }
        try await connection.forEachRow(
            "SELECT unit_code, household_key, status FROM person_ledger WHERE period = $1::date ORDER BY unit_code, household_key",
            [LedgerColumns.date(period)]
        ) { row in
            let (unit, key, statusText) = try row.decode((String, String, String).self)
            guard let status = EmploymentStatus(rawValue: statusText) else {
                throw PostgresError(.decoding, "unknown status '\(statusText)' stored")
            }
            let finished = household.withLock { current -> (unit: String, key: String, statuses: [EmploymentStatus])? in
                if let open = current, open.unit == unit, open.key == key {
                    current?.statuses.append(status)
                    return nil
                }
                let done = current
                current = (unit, key, [status])
                return done
            }
            try close(finished)
        }
        try close(household.withLock { $0 })
        for report in try await activity(of: period, on: connection).values {
            month.withLock { $0.addActivity(report) }
        }
        return month.withLock { $0.result() }
    }

    private func activity(of period: Period, on connection: PostgresConnection) async throws -> [DivisionCode:
        UnitActivityReport]
    {
        var result: [DivisionCode: UnitActivityReport] = [:]
        for row in try await connection.query(
            "SELECT \(LedgerColumns.activity) FROM activity_ledger WHERE period = $1::date",
            [LedgerColumns.date(period)])
        {
            let report = try LedgerColumns.activityReport(row)
            result[report.unit] = report
        }
        return result
    }
}

/// A value shared with a streaming query's callback, which runs on the connection's queue.
final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T { try value.withLock { try body(&$0) } }
}
