import Domain

/// What one month says about a rule's condition.
package enum AlertSignal: Sendable, Equatable {
    /// The condition holds: `value` is past `line`.
    case breach(value: Double, line: Double)
    /// Between the firing line and the resolve line (hysteresis): neither breaching nor clear.
    case hold(value: Double)
    case clear(value: Double)
    /// No value (no data, a zero denominator, a deadline not yet passed): the state stays as it is.
    case unknown
}

/// Where a rule stands for one unit after walking its months.
package struct AlertStatus: Sendable, Equatable {
    package enum State: String, Sendable, Codable { case inactive, pending, firing }

    package var state: State = .inactive
    /// The first month of the current episode.
    package var since: Period?
    /// The latest month that said anything.
    package var lastPeriod: Period?
    package var value: Double?
    package var line: Double?
    var breaches = 0
    var clears = 0

    package init() {}
}

package enum AlertWalk {
    /// Runs the lifecycle over the months in order: `for_periods` consecutive breaches fire (pending before),
    /// `keep_firing_for` consecutive clear months resolve; hold months keep a firing alert firing and end a
    /// pending one.
    package static func walk(_ signals: [(Period, AlertSignal)], rule: AlertRule) -> AlertStatus {
        var status = AlertStatus()
        for (period, signal) in signals {
            switch signal {
            case .unknown:
                continue
            case .breach(let value, let line):
                status.lastPeriod = period
                status.value = value
                status.line = line
                status.clears = 0
                if status.state == .inactive {
                    status.since = period
                    status.breaches = 0
                }
                status.breaches += 1
                if status.state != .firing {
                    status.state = status.breaches >= rule.requiredPeriods ? .firing : .pending
                }
            case .hold(let value):
                status.lastPeriod = period
                status.value = value
                if status.state == .pending { status = Self.reset(status) }
                status.clears = 0
            case .clear(let value):
                status.lastPeriod = period
                status.value = value
                switch status.state {
                case .inactive: break
                case .pending: status = Self.reset(status)
                case .firing:
                    status.clears += 1
                    if status.clears >= rule.requiredClearPeriods { status = Self.reset(status) }
                }
            }
        }
        return status
    }

    static func reset(_ status: AlertStatus) -> AlertStatus {
        var fresh = AlertStatus()
        fresh.lastPeriod = status.lastPeriod
        fresh.value = status.value
        return fresh
    }

    /// The status of a threshold or drop rule for one unit over `span`, from the unit's counts per month (reported
    /// plus estimated, `AlertEngine`); nil for the other kinds. A month nobody in the unit has reported yet holds
    /// only what earlier months carry into it (the "month before" of new employment): no evidence either way; nor
    /// does a month whose rate rests on fewer than `min_denominator` persons.
    package static func status(
        of rule: AlertRule, indicator: Indicator, months: [Period: IndicatorCounts], span: [Period]
    ) -> AlertStatus? {
        let values = span.map { period -> (Period, Double?) in
            guard let row = months[period], (row[.reportingUnits] ?? 0) > 0 else { return (period, nil) }
            if let minimum = rule.minDenominator, case .ratio(_, let denominator) = indicator.rollup,
                (row[denominator] ?? 0) < minimum
            {
                return (period, nil)
            }
            return (period, indicator.value(in: row))
        }
        switch rule.kind {
        case .threshold: return walk(thresholdSignals(values, rule: rule), rule: rule)
        case .drop:
            return walk(dropSignals(values, rule: rule, higherIsBetter: indicator.higherIsBetter ?? true), rule: rule)
        default: return nil
        }
    }

    /// Signals of a threshold rule: `below` (or `above`) fires, `resolve_above` (`resolve_below`) clears.
    package static func thresholdSignals(_ values: [(Period, Double?)], rule: AlertRule) -> [(Period, AlertSignal)] {
        values.map { period, value in
            guard let value else { return (period, .unknown) }
            if let below = rule.below {
                let resolve = rule.resolveAbove ?? below
                return (
                    period,
                    value < below
                        ? .breach(value: value, line: below)
                        : value >= resolve ? .clear(value: value) : .hold(value: value)
                )
            }
            let above = rule.above ?? .infinity
            let resolve = rule.resolveBelow ?? above
            return (
                period,
                value > above
                    ? .breach(value: value, line: above) : value <= resolve ? .clear(value: value) : .hold(value: value)
            )
        }
    }

    /// Signals of a drop rule against the mean of the previous `trailing_months`: a fall for good-news
    /// indicators, a rise for bad-news ones.
    package static func dropSignals(_ values: [(Period, Double?)], rule: AlertRule, higherIsBetter: Bool) -> [(
        Period, AlertSignal
    )] {
        let k = max(1, rule.trailingMonths ?? 3)
        let drop = rule.drop ?? 0.2
        let resolve = rule.resolveDrop ?? drop
        return values.indices.map { index in
            let (period, value) = values[index]
            guard let value, index >= k else { return (period, .unknown) }
            let trailing = values[(index - k)..<index].compactMap(\.1)
            guard trailing.count == k else { return (period, .unknown) }
            let mean = trailing.reduce(0, +) / Double(k)
            guard mean > 0 else { return (period, .unknown) }
            if higherIsBetter {
                let line = mean * (1 - drop)
                return (
                    period,
                    value < line
                        ? .breach(value: value, line: line)
                        : value >= mean * (1 - resolve) ? .clear(value: value) : .hold(value: value)
                )
            }
            let line = mean * (1 + drop)
            return (
                period,
                value > line
                    ? .breach(value: value, line: line)
                    : value <= mean * (1 + resolve) ? .clear(value: value) : .hold(value: value)
            )
        }
    }

    /// Signals of a probability (of reaching a target): below `probability_below` fires, `resolve_above` clears.
    package static func probabilitySignals(_ values: [(Period, Double?)], rule: AlertRule) -> [(Period, AlertSignal)] {
        let line = rule.probabilityBelow ?? 0.5
        let resolve = rule.resolveAbove ?? line
        return values.map { period, value in
            guard let value else { return (period, .unknown) }
            return (
                period,
                value < line
                    ? .breach(value: value, line: line) : value >= resolve ? .clear(value: value) : .hold(value: value)
            )
        }
    }

    /// Signals of missing reports: a month whose deadline has passed with fewer reporting units than expected.
    package static func missingReportSignals(_ months: [(Period, reported: Int64, expected: Int64, due: Bool)]) -> [(
        Period, AlertSignal
    )] {
        months.map { period, reported, expected, due in
            guard due, expected > 0 else { return (period, .unknown) }
            let rate = Double(reported) / Double(expected)
            return (period, reported < expected ? .breach(value: rate, line: 1) : .clear(value: rate))
        }
    }
}
