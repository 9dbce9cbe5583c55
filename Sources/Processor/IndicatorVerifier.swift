import Domain
import Postgres
import Synchronization

/// `empmon verify`: recomputes every indicator from the ledger from scratch (`IndicatorComputation`) and
/// compares it with what the processor stored (DESIGN.md invariant 2). Works one month at a time, holding
/// two months of the ledger in memory.
public struct IndicatorVerifier: Sendable {
    public struct Difference: Sendable, Hashable, CustomStringConvertible {
        public let period: Period
        public let unit: DivisionCode
        public let indicator: IndicatorID
        public let stored: Int64
        public let recomputed: Int64

        public var description: String { "\(period) \(unit) \(indicator): stored \(stored), recomputed \(recomputed)" }
    }

    public struct Outcome: Sendable {
        public var periods: [Period] = []
        public var valuesCompared = 0
        public var differences: [Difference] = []
    }

    public let topology: Topology
    public let databaseURL: String

    public init(topology: Topology, databaseURL: String) {
        self.topology = topology
        self.databaseURL = databaseURL
    }

    /// Compares the given months (all months with data when nil).
    public func verify(periods requested: [Period]? = nil, progress: (Period) -> Void = { _ in }) async throws -> Outcome {
        let connection = try await PostgresConnection.connect(url: databaseURL)
        // One snapshot for the whole comparison, so that a running processor cannot make it disagree.
        return try await connection.withTransaction(isolation: .repeatableRead) { connection in
            let monitored = Set(try await connection.query("SELECT to_char(period, 'YYYY-MM') FROM monitored_periods").compactMap {
                Period(try $0.decode(String.self, at: 0))
            })
            let withValues = Set(try await connection.query("SELECT DISTINCT to_char(period, 'YYYY-MM') FROM indicator_values").compactMap {
                Period(try $0.decode(String.self, at: 0))
            })
            let periods = (requested.map(Set.init) ?? monitored.union(withValues)).sorted()
            var outcome = Outcome(periods: periods)
            let computation = IndicatorComputation(topology: topology)
            var cache: [Period: [String: PersonStatusRecord]] = [:]
            for period in periods {
                progress(period)
                for month in [period.previous, period] where cache[month] == nil {
                    cache[month] = try await persons(of: month, on: connection)
                }
                cache = cache.filter { $0.key >= period.previous }
                let activity = try await activity(of: period, on: connection)
                let recomputed = monitored.contains(period)
                    ? computation.compute(persons: cache, activity: [period: activity], periods: [period])[period] ?? [:] : [:]
                var stored: [DivisionCode: IndicatorCounts] = [:]
                for row in try await connection.query(
                    "SELECT unit_code, indicator, value FROM indicator_values WHERE period = $1::date AND value <> 0", ["\(period)-01"])
                {
                    let (unitText, indicator, value) = try row.decode((String, String, Int64).self)
                    guard let unit = DivisionCode(unitText) else { throw PostgresError(.decoding, "bad unit code \(unitText) stored") }
                    stored[unit, default: [:]][IndicatorID(rawValue: indicator)] = value
                }
                for unit in Set(stored.keys).union(recomputed.keys).sorted() {
                    let have = stored[unit] ?? [:]
                    let want = recomputed[unit] ?? [:]
                    for indicator in Set(have.keys).union(want.keys).sorted(by: { $0.rawValue < $1.rawValue }) {
                        outcome.valuesCompared += 1
                        let storedValue = have[indicator] ?? 0
                        let recomputedValue = want[indicator] ?? 0
                        if storedValue != recomputedValue {
                            outcome.differences.append(Difference(
                                period: period, unit: unit, indicator: indicator, stored: storedValue, recomputed: recomputedValue))
                        }
                    }
                }
            }
            return outcome
        }
    }

    private func persons(of period: Period, on connection: PostgresConnection) async throws -> [String: PersonStatusRecord] {
        let collected = Collected<PersonStatusRecord>()
        try await connection.forEachRow(
            "SELECT \(LedgerColumns.person) FROM person_ledger WHERE period = $1::date", [LedgerColumns.date(period)]
        ) { row in
            collected.append(try LedgerColumns.personRecord(row))
        }
        return Dictionary(collected.take().map { ($0.personKey, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func activity(of period: Period, on connection: PostgresConnection) async throws -> [DivisionCode: UnitActivityReport] {
        var result: [DivisionCode: UnitActivityReport] = [:]
        for row in try await connection.query(
            "SELECT \(LedgerColumns.activity) FROM activity_ledger WHERE period = $1::date", [LedgerColumns.date(period)])
        {
            let report = try LedgerColumns.activityReport(row)
            result[report.unit] = report
        }
        return result
    }
}

/// Rows gathered by a streaming query's callback, which runs on the connection's queue.
final class Collected<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ item: Element) { items.withLock { $0.append(item) } }
    func take() -> [Element] { items.withLock { $0 } }
}
