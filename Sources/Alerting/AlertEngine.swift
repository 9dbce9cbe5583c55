import Analysis
import Domain
import Foundation
import Logging
import Postgres
import Situation
import Storage

/// Evaluates the rules against the stored indicators and keeps the `alerts` table and its outbox in step.
///
/// Every evaluation walks each unit's months from the start, so a revised past month changes the outcome
/// exactly as if it had arrived on time; only the resulting state is compared with the stored alert, so a
/// condition that keeps holding changes nothing and notifies nobody twice.
package struct AlertEngine: Sendable {
    package let database: PostgresClient
    package let topology: Topology
    package let configuration: AlertConfiguration
    package let targets: UnitTargets?
    package var calendar = ReportingCalendar()
    package var forecaster: Forecaster
    package let logger: Logger

    package init(
        database: PostgresClient, topology: Topology, configuration: AlertConfiguration, targets: UnitTargets?,
        logger: Logger
    ) {
        self.database = database
        self.topology = topology
        self.configuration = configuration
        self.targets = targets
        self.logger = logger
        var forecaster = Forecaster()
        forecaster.paths = 400
        self.forecaster = forecaster
    }

    package struct Summary: Sendable, Equatable {
        package var evaluated = 0
        package var pending = 0
        package var fired = 0
        package var resolved = 0
        package var stillFiring = 0
    }

    /// Evaluates every rule for the units of its tiers (only `units` and their ancestors, when given).
    package func evaluate(units touched: Set<DivisionCode>? = nil, now: Date = Date()) async throws -> Summary {
        let history = IndicatorHistory(database: database)
        let periods = try await history.monitoredPeriods()
        guard let first = periods.first, let last = periods.last else { return Summary() }
        let scope: Set<DivisionCode>? = touched.map { units in Set(units.flatMap { [$0] + $0.ancestors }) }
        let tiers = Set(configuration.rules.flatMap(\.tiers))
        let units = topology.allDivisions.filter { tiers.contains($0.tier) && (scope?.contains($0.code) ?? true) }.map(
            \.code)
        guard !units.isEmpty else { return Summary() }
        var counts = try await history.counts(units: units, from: first, through: last)
        let span = first.through(last)
        // Months after the latest one anybody reported for exist only through what earlier months carry into
        // them; they are not open for reporting yet, so nothing is missing from them.
        if counts[topology.city.code] == nil {
            counts.merge(try await history.counts(units: [topology.city.code], from: first, through: last)) { a, _ in a
            }
        }
        let cityMonths = counts[topology.city.code] ?? [:]
        let lastReported = span.last { (cityMonths[$0]?[.reportingUnits] ?? 0) > 0 }
        let shortfalls =
            configuration.rules.contains { $0.kind == .missingRecords }
            ? try await recordShortfalls(from: first, through: last) : [:]
        let qualityScores =
            configuration.rules.contains { $0.kind == .qualityScore }
            ? try await closedMonthQualityScores(span: span, now: now) : [:]
        // Rules judge the reported-plus-estimated figure: a village not yet reported is estimated from its month
        // before, moved as its county's reporting villages moved (`NonResponseImputation`), so that a month still
        // trickling in does not read as a fall.
        // Without a scope, and with a village rule, `counts` already holds every village's months: estimate from
        // them rather than read all the villages a second time.
        let estimates: [Period: NonResponseImputation.Estimate]
        if scope == nil, tiers.contains(.village) {
            let imputation = NonResponseImputation(topology: topology)
            estimates = Dictionary(
                uniqueKeysWithValues: span.map { ($0, imputation.estimate($0, villageCounts: counts)) })
        } else {
            estimates = try await history.estimates(topology: topology, from: first, through: last)
        }
        for unit in units {
            for (period, estimate) in estimates where estimate.isEstimated(unit) {
                counts[unit, default: [:]][period] = estimate.estimated(counts[unit]?[period] ?? [:], unit: unit)
            }
        }
        var outcomes: [Outcome] = []
        for rule in configuration.rules {
            guard let indicator = IndicatorCatalogue.indicator(rule.indicatorID) else { continue }
            for unit in units where rule.tiers.contains(unit.tier) {
                let months = counts[unit] ?? [:]
                let status: AlertStatus
                switch rule.kind {
                case .threshold, .drop:
                    status =
                        AlertWalk.status(of: rule, indicator: indicator, months: months, span: span) ?? AlertStatus()
                case .missingReports:
                    status = AlertWalk.walk(
                        AlertWalk.missingReportSignals(
                            span.map { period in
                                let row = months[period] ?? [:]
                                let open = lastReported.map { period <= $0 } ?? false
                                return (
                                    period, row[.reportingUnits] ?? 0, row[.expectedUnits] ?? 0,
                                    open && now >= reportDeadline(period, day: rule.day ?? 10)
                                )
                            }), rule: rule)
                case .missingRecords:
                    // Months without any manifest in the unit say nothing (agents older than control totals).
                    status = AlertWalk.walk(
                        span.map { period in
                            guard let missing = shortfalls[UnitMonth(unit: unit, period: period)] else {
                                return (period, .unknown)
                            }
                            return (period, missing > 0 ? .breach(value: Double(missing), line: 0) : .clear(value: 0))
                        }, rule: rule)
                case .qualityScore:
                    let below = rule.below ?? 0
                    let resolve = rule.resolveAbove ?? below
                    status = AlertWalk.walk(
                        span.map { period in
                            guard let score = qualityScores[UnitMonth(unit: unit, period: period)] else {
                                return (period, .unknown)
                            }
                            let value = Double(score)
                            if value < below { return (period, .breach(value: value, line: below)) }
                            return (period, value >= resolve ? .clear(value: value) : .hold(value: value))
                        }, rule: rule)
                case .targetAtRisk:
                    status = AlertWalk.walk(
                        AlertWalk.probabilitySignals(
                            attainment(
                                of: indicator, unit: unit, months: months, city: counts[topology.city.code] ?? [:],
                                span: span), rule: rule),
                        rule: rule)
                }
                outcomes.append(Outcome(rule: rule, unit: unit, indicator: indicator, status: status))
            }
        }
        return try await store(outcomes)
    }

    /// Records missing from the ledger against the latest manifests, summed into every ancestor of the
    /// unit-month that lacks them; a unit-month is present when any manifest in its subtree is.
    func recordShortfalls(from first: Period, through last: Period) async throws -> [UnitMonth: Int] {
        let standings = try await database.withConnection {
            try await ControlTotals.standings(from: first, through: last, on: $0)
        }
        var missing: [UnitMonth: Int] = [:]
        for standing in standings {
            for unit in [standing.unit] + standing.unit.ancestors {
                missing[UnitMonth(unit: unit, period: standing.period), default: 0] += standing.missing
            }
        }
        return missing
    }

    /// Every village's data-quality score of the closed months among the last `QualityAlerts.months` of `span`
    /// (a month is judged once its reporting has closed, and computed once after that; later changes show at the
    /// next refresh of the data-quality view).
    func closedMonthQualityScores(span: [Period], now: Date) async throws -> [UnitMonth: Int] {
        let view = DataQualityView(database: database, topology: topology)
        let months = Array(span.suffix(QualityAlerts.months))
        let measures = try await view.closedMonthMeasures(months, now: now)
        var scores: [UnitMonth: Int] = [:]
        for period in months where measures[period] != nil {
            for village in view.assessment.assess(period: period, measures: measures) {
                guard let unit = DivisionCode(village.unit) else { continue }
                scores[UnitMonth(unit: unit, period: period)] = village.score
            }
        }
        return scores
    }

    /// The deadline of a month's reports: 00:00 China time after day `day` of the following month.
    func reportDeadline(_ period: Period, day: Int) -> Date {
        ReportingCalendar(closingDay: day).closes(period)
    }

    /// The probability of reaching the year's target, for each month of the latest year in the data.
    func attainment(
        of indicator: Indicator, unit: DivisionCode, months: [Period: IndicatorCounts], city: [Period: IndicatorCounts],
        span: [Period]
    )
        -> [(Period, Double?)]
    {
        guard let last = span.last else { return [] }
        let values = span.map { Double(months[$0]?[indicator.id] ?? 0) }
        return span.enumerated().filter { $0.element.year == last.year }.map { index, period in
            guard (months[period]?[.reportingUnits] ?? 0) > 0 else { return (period, nil) }
            let cityLabour = Double(city[period]?[.labourForce] ?? 0)
            let share = cityLabour > 0 ? Double(months[period]?[.labourForce] ?? 0) / cityLabour : 0
            guard let target = targets?.target(indicator.id, unit: unit, labourForceShare: share), target > 0 else {
                return (period, nil)
            }
            let history = Array(values[0...index])
            guard history.count >= period.month else { return (period, nil) }
            let outlook = try? TargetAttainment.outlook(
                history: history, monthsElapsed: period.month, target: target,
                accumulates: indicator.accumulatesOverYear, forecaster: forecaster,
                seed: BatchForecast.seed(unit.description) &+ UInt64(index))
            return (period, outlook?.probability)
        }
    }

    /// How far back quality scores are judged: the year's signal of the earliest judged month needs the eleven
    /// months before it, and every judged month costs a read of all villages' measures.
    enum QualityAlerts {
        static let months = 13
    }

    struct Outcome {
        let rule: AlertRule
        let unit: DivisionCode
        let indicator: Indicator
        let status: AlertStatus
    }

    /// Lock class for evaluators: one writes the alert table at a time.
    static let lockClass: Int32 = 0x454D41

    func store(_ outcomes: [Outcome]) async throws -> Summary {
        var summary = Summary()
        summary.evaluated = outcomes.count
        let webhooks = (configuration.webhooks ?? []).map(\.url)
        try await database.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock($1, 0)", [Self.lockClass])
            var open: [String: (id: Int64, state: String)] = [:]
            let ruleIDs = PostgresArray(Set(outcomes.map(\.rule.id)).sorted())
            for row in try await connection.query(
                "SELECT id, rule_id, unit_code, state FROM alerts WHERE state <> 'resolved' AND rule_id = ANY($1::text[])",
                [ruleIDs])
            {
                let (id, rule, unit, state) = try row.decode((Int64, String, String, String).self)
                open[rule + "/" + unit] = (id, state)
            }
            for outcome in outcomes {
                let key = outcome.rule.id + "/" + outcome.unit.description
                let existing = open[key]
                let desired = outcome.status.state
                switch (existing?.state, desired) {
                case (nil, .inactive):
                    continue
                case (.some("pending"), .inactive):
                    // A pending alert that never fired goes quietly.
                    try await connection.query(
                        "UPDATE alerts SET state = 'resolved', resolved_at = now(), updated_at = now() WHERE id = $1",
                        [existing?.id ?? 0])
                case (.some("firing"), .inactive), (.some("firing"), .pending):
                    let id = existing?.id ?? 0
                    try await update(connection, id: id, outcome: outcome, state: "resolved")
                    try await event(connection, alertID: id, event: "resolved", outcome: outcome, webhooks: webhooks)
                    summary.resolved += 1
                    if desired == .pending {
                        _ = try await insert(connection, outcome: outcome, state: "pending")
                        summary.pending += 1
                    }
                case (nil, .pending):
                    _ = try await insert(connection, outcome: outcome, state: "pending")
                    summary.pending += 1
                case (.some("pending"), .pending):
                    try await update(connection, id: existing?.id ?? 0, outcome: outcome, state: "pending")
                    summary.pending += 1
                case (nil, .firing):
                    let id = try await insert(connection, outcome: outcome, state: "firing")
                    try await event(connection, alertID: id, event: "firing", outcome: outcome, webhooks: webhooks)
                    summary.fired += 1
                case (.some("pending"), .firing):
                    let id = existing?.id ?? 0
                    try await update(connection, id: id, outcome: outcome, state: "firing")
                    try await event(connection, alertID: id, event: "firing", outcome: outcome, webhooks: webhooks)
                    summary.fired += 1
                default:
                    try await update(connection, id: existing?.id ?? 0, outcome: outcome, state: "firing")
                    summary.stillFiring += 1
                }
            }
        }
        return summary
    }

    func insert(_ connection: PostgresConnection, outcome: Outcome, state: String) async throws -> Int64 {
        let status = outcome.status
        let row = try await connection.query(
            """
            INSERT INTO alerts (rule_id, unit_code, indicator, severity, state, since_period, last_period, value, threshold, message, fired_at)
            VALUES ($1, $2, $3, $4, $5, $6::date, $7::date, $8, $9, $10, CASE WHEN $5 = 'firing' THEN now() END) RETURNING id
            """,
            [
                outcome.rule.id, outcome.unit.description, outcome.indicator.id.rawValue,
                outcome.rule.severity.rawValue, state,
                "\(status.since ?? status.lastPeriod ?? Period.earliest)-01",
                "\(status.lastPeriod ?? Period.earliest)-01",
                status.value, status.line, message(outcome),
            ])
        return try row.first.map { try $0.decode(Int64.self, at: 0) } ?? 0
    }

    func update(_ connection: PostgresConnection, id: Int64, outcome: Outcome, state: String) async throws {
        let status = outcome.status
        try await connection.query(
            """
            UPDATE alerts SET state = $2, last_period = $3::date, value = $4, threshold = COALESCE($5, threshold), message = $6, updated_at = now(),
                fired_at = CASE WHEN $2 = 'firing' THEN COALESCE(fired_at, now()) ELSE fired_at END,
                resolved_at = CASE WHEN $2 = 'resolved' THEN now() ELSE resolved_at END
            WHERE id = $1
            """,
            [
                id, state, "\(status.lastPeriod ?? Period.earliest)-01", status.value, status.line,
                state == "resolved" ? resolvedMessage(outcome) : message(outcome),
            ])
    }

    func event(_ connection: PostgresConnection, alertID: Int64, event: String, outcome: Outcome, webhooks: [String])
        async throws
    {
        let status = outcome.status
        let payload: [String: String?] = [
            "alert_id": String(alertID), "event": event, "rule": outcome.rule.id, "kind": outcome.rule.kind.rawValue,
            "severity": outcome.rule.severity.rawValue, "unit": outcome.unit.description,
            "unit_name": topology[outcome.unit]?.name,
            "indicator": outcome.indicator.id.rawValue, "indicator_name": outcome.indicator.chineseName,
            "since": status.since?.description, "period": status.lastPeriod?.description,
            "value": status.value.map { "\($0)" }, "threshold": status.line.map { "\($0)" },
            "message": event == "resolved" ? resolvedMessage(outcome) : message(outcome),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(payload.compactMapValues { $0 }), as: UTF8.self)
        let id =
            try await connection.query(
                "INSERT INTO alert_events (alert_id, event, payload) VALUES ($1, $2, $3::jsonb) RETURNING id",
                [alertID, event, json]
            ).first.map { try $0.decode(Int64.self, at: 0) } ?? 0
        for target in ["kafka"] + webhooks {
            try await connection.query("INSERT INTO alert_deliveries (event_id, target) VALUES ($1, $2)", [id, target])
        }
    }

    func message(_ outcome: Outcome) -> String {
        let name = topology[outcome.unit]?.name ?? outcome.unit.description
        let indicator = outcome.indicator
        let status = outcome.status
        let format = { (value: Double?) -> String in
            guard let value else { return "–" }
            return indicator.unit == .rate || outcome.rule.kind == .targetAtRisk
                ? String(format: "%.1f%%", value * 100) : String(format: "%.0f", value)
        }
        let period = status.lastPeriod?.description ?? ""
        switch outcome.rule.kind {
        case .threshold:
            let direction = outcome.rule.below != nil ? "低于" : "高于"
            return
                "\(name) \(period) \(indicator.chineseName) \(format(status.value))，\(direction)预警线 \(format(status.line))（自 \(status.since?.description ?? period) 起）"
        case .drop:
            let direction = indicator.higherIsBetter ?? true ? "下降" : "上升"
            return
                "\(name) \(period) \(indicator.chineseName) \(format(status.value))，较前 \(outcome.rule.trailingMonths ?? 3) 个月均值明显\(direction)（预警线 \(format(status.line))）"
        case .targetAtRisk:
            return
                "\(name) \(indicator.chineseName) 年度目标完成概率 \(format(status.value))，低于 \(format(status.line))（\(period)）"
        case .missingReports:
            return "\(name) \(period) 报送率 \(format(status.value))，截至次月 \(outcome.rule.day ?? 10) 日仍未报齐"
        case .qualityScore:
            return
                "\(name) \(period) 数据质量评分 \(Int(status.value ?? 0))，低于 \(Int(status.line ?? 0))（详见 empmon quality 或仪表盘“数据质量”）"
        case .missingRecords:
            return
                "\(name) \(period) 有 \(Int(status.value ?? 0)) 条记录已由报送代理送达但未入库（与控制总数不符，自 \(status.since?.description ?? period) 起）"
        }
    }

    func resolvedMessage(_ outcome: Outcome) -> String {
        let name = topology[outcome.unit]?.name ?? outcome.unit.description
        return
            "已恢复：\(name) \(outcome.status.lastPeriod?.description ?? "") \(outcome.indicator.chineseName)（规则 \(outcome.rule.id)）"
    }
}
