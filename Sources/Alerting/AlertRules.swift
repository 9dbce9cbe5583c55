import Domain
import Foundation
import Yams

/// How bad an alert is; decides who is woken.
package enum AlertSeverity: String, Sendable, Codable, CaseIterable { case info, warning, critical }

/// One rule of `Topology/alerts.yaml`.
package struct AlertRule: Sendable, Codable, Hashable {
    package enum Kind: String, Sendable, Codable, CaseIterable {
        /// The indicator crosses a fixed line (`below` or `above`).
        case threshold
        /// The indicator falls (or rises, for bad-news indicators) by `drop` against the mean of the previous `trailing_months`.
        case drop
        /// The probability of reaching the year-end target falls below `probability_below`.
        case targetAtRisk = "target_at_risk"
        /// A unit has not (fully) reported a month by day `day` of the following month.
        case missingReports = "missing_reports"
        /// A unit's ledger lacks records that its agents delivered: the control totals (manifests) disagree.
        case missingRecords = "missing_records"
        /// A village's data-quality score (`QualityAssessment`) of a closed month falls below `below`.
        case qualityScore = "quality_score"
    }

    package var id: String
    package var kind: Kind
    package var indicator: String?
    package var tiers: [Tier]
    package var severity: AlertSeverity
    package var description: String?
    /// Consecutive months the condition must hold before the alert fires (pending until then).
    package var forPeriods: Int?
    /// Consecutive clear months before a firing alert resolves.
    package var keepFiringFor: Int?
    package var below: Double?
    package var above: Double?
    /// Hysteresis for `threshold` and `target_at_risk`: the line the value must cross back over to count as clear.
    package var resolveAbove: Double?
    package var resolveBelow: Double?
    package var trailingMonths: Int?
    package var drop: Double?
    /// Hysteresis for `drop`: clear only once within this relative distance of the trailing mean.
    package var resolveDrop: Double?
    package var probabilityBelow: Double?
    package var day: Int?
    /// For a rate's threshold and drop rules: months whose denominator is smaller say nothing. A county with 16
    /// registered unemployed last month has a placement rate of 0% or 6% by one person; no alert should ride on that.
    package var minDenominator: Int?

    enum CodingKeys: String, CodingKey {
        case id, kind, indicator, tiers, severity, description, below, above, drop, day
        case forPeriods = "for_periods"
        case keepFiringFor = "keep_firing_for"
        case resolveAbove = "resolve_above"
        case resolveBelow = "resolve_below"
        case trailingMonths = "trailing_months"
        case resolveDrop = "resolve_drop"
        case probabilityBelow = "probability_below"
        case minDenominator = "min_denominator"
    }

    package var requiredPeriods: Int { max(1, forPeriods ?? 1) }
    package var requiredClearPeriods: Int { max(1, keepFiringFor ?? 1) }

    package var indicatorID: IndicatorID {
        switch kind {
        case .missingReports: .reportingRate
        case .missingRecords, .qualityScore: .reportingUnits
        default: IndicatorID(rawValue: indicator ?? "")
        }
    }
}

package struct AlertWebhook: Sendable, Codable, Hashable {
    package var url: String
}

package struct AlertConfiguration: Sendable, Codable {
    package var rules: [AlertRule]
    package var webhooks: [AlertWebhook]?

    package init(rules: [AlertRule], webhooks: [AlertWebhook]? = nil) {
        self.rules = rules
        self.webhooks = webhooks
    }

    package struct Problem: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    package static func parse(_ yaml: String, source: String = "alerts.yaml") throws(Problem) -> AlertConfiguration {
        let configuration: AlertConfiguration
        do {
            configuration = try YAMLDecoder().decode(AlertConfiguration.self, from: yaml)
        } catch let DecodingError.dataCorrupted(context) {
            throw Problem(description: "\(source): \(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw Problem(description: "\(source): \(Self.path(context.codingPath)): '\(key.stringValue)' is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Problem(description: "\(source): \(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw Problem(description: "\(source): \(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw Problem(description: "\(source) is not valid YAML: \(error)")
        }
        var problems: [String] = []
        var seen: Set<String> = []
        for rule in configuration.rules {
            let name = "rule '\(rule.id)'"
            if !seen.insert(rule.id).inserted { problems.append("\(name) is defined twice") }
            if rule.tiers.isEmpty { problems.append("\(name) names no tiers") }
            if let count = rule.forPeriods, count < 1 { problems.append("\(name): for_periods must be at least 1") }
            if let count = rule.keepFiringFor, count < 1 {
                problems.append("\(name): keep_firing_for must be at least 1")
            }
            if ![.missingReports, .missingRecords, .qualityScore].contains(rule.kind) {
                guard let indicator = rule.indicator,
                    IndicatorCatalogue.indicator(IndicatorID(rawValue: indicator)) != nil
                else {
                    problems.append("\(name): indicator '\(rule.indicator ?? "")' is not in the catalogue")
                    continue
                }
            }
            if let minimum = rule.minDenominator {
                if minimum < 1 { problems.append("\(name): min_denominator must be at least 1") }
                if ![.threshold, .drop].contains(rule.kind)
                    || IndicatorCatalogue.indicator(rule.indicatorID)?.unit != .rate
                {
                    problems.append("\(name): min_denominator applies to threshold and drop rules on a rate")
                }
            }
            switch rule.kind {
            case .threshold:
                if (rule.below == nil) == (rule.above == nil) {
                    problems.append("\(name): a threshold rule needs exactly one of below or above")
                }
                if let below = rule.below, let resolve = rule.resolveAbove, resolve < below {
                    problems.append("\(name): resolve_above must not be under below")
                }
                if let above = rule.above, let resolve = rule.resolveBelow, resolve > above {
                    problems.append("\(name): resolve_below must not be over above")
                }
            case .drop:
                if (rule.trailingMonths ?? 0) < 1 {
                    problems.append("\(name): a drop rule needs trailing_months of at least 1")
                }
                guard let drop = rule.drop, drop > 0, drop < 1 else {
                    problems.append("\(name): drop is a share between 0 and 1, e.g. 0.2")
                    break
                }
                if let resolve = rule.resolveDrop, !(0..<drop).contains(resolve) {
                    problems.append("\(name): resolve_drop must be below drop")
                }
            case .targetAtRisk:
                guard let p = rule.probabilityBelow, p > 0, p < 1 else {
                    problems.append("\(name): probability_below is a probability between 0 and 1")
                    break
                }
                if let resolve = rule.resolveAbove, resolve < p {
                    problems.append("\(name): resolve_above must not be under probability_below")
                }
                if IndicatorCatalogue.indicator(rule.indicatorID)?.unit != .count {
                    problems.append("\(name): targets at risk are tracked for count indicators")
                }
            case .missingReports:
                if !(1...28).contains(rule.day ?? 0) {
                    problems.append("\(name): day must be a day of the month from 1 to 28")
                }
            case .missingRecords:
                break
            case .qualityScore:
                guard let below = rule.below, below > 0, below <= 100 else {
                    problems.append("\(name): a quality_score rule needs below, a score from 1 to 100")
                    break
                }
                if let resolve = rule.resolveAbove, resolve < below || resolve > 100 {
                    problems.append("\(name): resolve_above must be from below to 100")
                }
                if rule.tiers != [.village] {
                    problems.append("\(name): quality scores are of villages: tiers must be [village]")
                }
            }
        }
        for hook in configuration.webhooks ?? [] {
            guard let url = URL(string: hook.url), ["http", "https"].contains(url.scheme ?? "") else {
                problems.append("webhook '\(hook.url)' is not an http(s) URL")
                continue
            }
        }
        if !problems.isEmpty {
            throw Problem(description: "\(source):\n" + problems.map { "  " + $0 }.joined(separator: "\n"))
        }
        return configuration
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(
            of: ".[", with: "[")
    }
}
