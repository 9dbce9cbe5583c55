import Alerting
import Domain
import Testing

/// Alert evaluation as pure functions: a rule, a unit's counts per month, and the status the walk ends in. No
/// database and no broker; `AlertTests` runs the same rules through storage and the alerts topic.
@Suite("Alert evaluation, without services")
struct AlertWalkTests {
    static func rule(_ yaml: String) throws -> AlertRule {
        try #require(
            try AlertConfiguration.parse("rules:\n  - id: r\n    severity: warning\n" + yaml).rules.first)
    }

    static let months = (1...8).compactMap { Period("2024-0\($0)") }

    /// Counts of a placement rate of `percent`% over `pool` unemployed, reported.
    static func placement(_ percent: Int64, pool: Int64 = 100) -> IndicatorCounts {
        [.reemployed: percent * pool / 100, .unemployedLastMonth: pool, .reportingUnits: 1, .expectedUnits: 1]
    }

    static func status(_ rule: AlertRule, _ rates: [Int64?], pool: Int64 = 100) throws -> AlertStatus? {
        let indicator = try #require(IndicatorCatalogue.indicator(.placementRate))
        var months: [Period: IndicatorCounts] = [:]
        for (period, rate) in zip(Self.months, rates) { months[period] = rate.map { placement($0, pool: pool) } }
        return AlertWalk.status(
            of: rule, indicator: indicator, months: months, span: Array(Self.months.prefix(rates.count)))
    }

    @Test("A threshold fires after for_periods breaches, holds between the lines, resolves after keep_firing_for")
    func thresholdLifecycle() throws {
        let rule = try Self.rule(
            """
                kind: threshold
                indicator: placement_rate
                tiers: [county]
                below: 0.5
                resolve_above: 0.6
                for_periods: 2
                keep_firing_for: 2

            """)
        #expect(try Self.status(rule, [70, 40])?.state == .pending)
        let firing = try #require(try Self.status(rule, [70, 40, 45]))
        #expect(firing.state == .firing && firing.since == Period("2024-02") && firing.value == 0.45)
        #expect(firing.line == 0.5)
        // 55% is above the firing line but under the resolve line: still firing.
        #expect(try Self.status(rule, [70, 40, 45, 55])?.state == .firing)
        // One clear month is not enough, two are.
        #expect(try Self.status(rule, [70, 40, 45, 65])?.state == .firing)
        #expect(try Self.status(rule, [70, 40, 45, 65, 70])?.state == .inactive)
        // A hold month ends a pending episode: the breaches must be consecutive.
        #expect(try Self.status(rule, [40, 55, 40])?.state == .pending)
    }

    @Test("A month nobody reported, or one resting on fewer than min_denominator persons, says nothing")
    func silentMonths() throws {
        let rule = try Self.rule(
            """
                kind: threshold
                indicator: placement_rate
                tiers: [county]
                below: 0.5
                for_periods: 2
                min_denominator: 20

            """)
        // The unreported month between two breaches neither breaks nor counts: the two breaches fire.
        #expect(try Self.status(rule, [40, nil, 40])?.state == .firing)
        // 1 of 10 is 10%, but ten persons are under the minimum: no evidence, nothing fires.
        #expect(try Self.status(rule, [10, 10, 10], pool: 10)?.state == .inactive)
        #expect(try Self.status(rule, [10, 10, 10], pool: 20)?.state == .firing)
    }

    @Test("A drop fires against the trailing mean and clears within resolve_drop of it")
    func dropAgainstTrailingMean() throws {
        let rule = try Self.rule(
            """
                kind: drop
                indicator: placement_rate
                tiers: [county]
                trailing_months: 3
                drop: 0.2
                resolve_drop: 0.1

            """)
        // Too few months to have a trailing mean: unknown, not a breach.
        #expect(try Self.status(rule, [60, 60, 30])?.state == .inactive)
        // 60, 60, 60 then 45: a fall of 25% against 60 fires.
        let firing = try #require(try Self.status(rule, [60, 60, 60, 45]))
        #expect(firing.state == .firing && firing.since == Period("2024-04"))
        // 50 against (60+60+45)/3 = 55 is a fall of 9%, within resolve_drop: clear.
        #expect(try Self.status(rule, [60, 60, 60, 45, 50])?.state == .inactive)
        // 48 against 55 is 12.7%: under the firing fall, over the resolve one: it holds.
        #expect(try Self.status(rule, [60, 60, 60, 45, 48])?.state == .firing)
        // A rise never fires a drop on a good-news rate.
        #expect(try Self.status(rule, [40, 40, 40, 80])?.state == .inactive)
    }

    @Test("Rules of other kinds have no walk over counts")
    func otherKindsAreNotWalked() throws {
        let rule = try Self.rule(
            """
                kind: missing_reports
                tiers: [village]
                day: 10

            """)
        #expect(try Self.status(rule, [40, 40]) == nil)
    }
}
