/// Whether an indicator counts people or events, or is a ratio.
package enum IndicatorUnit: String, Sendable, Hashable, Codable { case count, rate }

/// How an indicator rolls up the tiers.
package enum Rollup: Sendable, Hashable {
    /// Children's values add up to the parent's.
    case sum
    /// Computed from the summed numerator and denominator, never averaged.
    case ratio(numerator: IndicatorID, denominator: IndicatorID)
}

package struct IndicatorID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }
    package init(stringLiteral value: String) { rawValue = value }
    package var description: String { rawValue }
}

/// One indicator of the catalogue (DESIGN.md, "Indicators").
package struct Indicator: Sendable, Hashable {
    package let id: IndicatorID
    package let chineseName: String
    package let englishName: String
    package let unit: IndicatorUnit
    package let rollup: Rollup
    /// Whether a higher value is good news; decides the direction of alerts and of "movers".
    package let higherIsBetter: Bool?
}

/// The catalogue of indicators computed for every unit, tier and month.
package enum IndicatorCatalogue {
    package static let all: [Indicator] = counts + activity + rates

    /// The counts stored for every unit and month (one column each of `unit_month_counts`), in catalogue order;
    /// rates are never stored.
    package static let storedCounts: [IndicatorID] = (counts + activity).map(\.id)

    package static func indicator(_ id: IndicatorID) -> Indicator? { byID[id] }

    private static let byID = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    private static func count(_ id: IndicatorID, _ chinese: String, _ english: String, better: Bool? = nil) -> Indicator
    {
        Indicator(
            id: id, chineseName: chinese, englishName: english, unit: .count, rollup: .sum, higherIsBetter: better)
    }

    private static func rate(
        _ id: IndicatorID, _ chinese: String, _ english: String, _ numerator: IndicatorID, _ denominator: IndicatorID,
        better: Bool
    ) -> Indicator {
        Indicator(
            id: id, chineseName: chinese, englishName: english, unit: .rate,
            rollup: .ratio(numerator: numerator, denominator: denominator), higherIsBetter: better)
    }

    package static let counts: [Indicator] = [
        count("labour_force", "劳动力人数", "Labour force"),
        count("employed", "就业人数", "Employed", better: true),
        count("unemployed", "失业人数", "Unemployed", better: false),
        count("registered_unemployed", "登记失业人数", "Registered unemployed", better: false),
        count("new_employment", "新增就业人数", "New employment", better: true),
        count("new_urban_employment", "城镇新增就业人数", "New urban employment", better: true),
        count("reemployed", "失业人员再就业人数", "Re-employed unemployed", better: true),
        count("hard_to_employ_reemployed", "就业困难人员就业人数", "Hard-to-employ re-employed", better: true),
        count("rural_labour_employed", "农村劳动力转移就业人数", "Rural labour employed", better: true),
        count("rural_labour_employed_local", "农村劳动力就地就近就业人数", "Rural labour employed locally", better: true),
        count("rural_labour_employed_in_province", "农村劳动力省内就业人数", "Rural labour employed in province", better: true),
        count(
            "rural_labour_employed_out_of_province", "农村劳动力省外就业人数", "Rural labour employed out of province",
            better: true),
        count("zero_employment_households", "零就业家庭户数", "Zero-employment households", better: false),
        count("trained", "培训人数", "Trained", better: true),
        count("assisted", "帮扶人数", "Assisted", better: true),
        count("assistance_target", "应帮扶人数", "Persons due assistance"),
        count("unemployed_last_month", "上月失业人数", "Unemployed last month"),
        count("college_graduates", "高校毕业生人数", "College graduates"),
        count("college_graduates_employed", "高校毕业生就业人数", "College graduates employed", better: true),
        count("reporting_units", "已报送单位数", "Reporting units", better: true),
        count("expected_units", "应报送单位数", "Expected reporting units"),
        count("urban_labour_force", "城镇劳动力人数", "Urban labour force"),
        count("urban_registered_unemployed", "城镇登记失业人数", "Urban registered unemployed", better: false),
    ]

    package static let activity: [Indicator] = [
        count("jobs_collected", "岗位征集数", "Jobs collected", better: true),
        count("recruitment_events", "招聘活动场次", "Recruitment events", better: true),
        count("internship_posts", "就业见习岗位数", "Internship posts", better: true),
        count("gig_market_services", "零工市场服务人次", "Gig-market services", better: true),
        count("entrepreneurship_trainees", "创业培训人数", "Entrepreneurship trainees", better: true),
        count("jobs_created_by_entrepreneurship", "创业带动就业人数", "Jobs created by entrepreneurship", better: true),
        count("training_completions", "补贴性职业技能培训人数", "Subsidised training completions", better: true),
        count("labour_disputes_handled", "劳动争议处理件数", "Labour disputes handled"),
        count("wage_arrears_cases", "欠薪案件数", "Wage-arrears cases", better: false),
    ]

    package static let rates: [Indicator] = [
        rate(
            "registered_unemployment_rate", "登记失业率（全部劳动力）", "Registered unemployment rate (whole labour force)",
            "registered_unemployed", "labour_force", better: false),
        rate(
            "urban_registered_unemployment_rate", "城镇登记失业率", "Urban registered unemployment rate",
            "urban_registered_unemployed", "urban_labour_force", better: false),
        rate("placement_rate", "失业人员再就业率", "Placement rate", "reemployed", "unemployed_last_month", better: true),
        rate("assistance_rate", "就业援助帮扶率", "Assistance rate", "assisted", "assistance_target", better: true),
        rate(
            "graduate_employment_rate", "高校毕业生就业率", "Graduate employment rate", "college_graduates_employed",
            "college_graduates", better: true),
        rate("reporting_rate", "报送率", "Reporting completeness", "reporting_units", "expected_units", better: true),
    ]
}

extension Indicator {
    /// Whether a year's figure is the sum of its months (new employment, activity counters) rather than a level
    /// at a point in time (labour force, employed persons) or a rate. Decides year-to-date sums and targets.
    package var accumulatesOverYear: Bool { IndicatorCatalogue.flows.contains(id) }

    /// The stored counts this indicator is made of: itself, or a rate's numerator and denominator.
    package var countIDs: [IndicatorID] {
        switch rollup {
        case .sum: [id]
        case .ratio(let numerator, let denominator): [numerator, denominator]
        }
    }
}

extension IndicatorCatalogue {
    static let flows: Set<IndicatorID> = Set(
        ["new_employment", "new_urban_employment", "reemployed", "hard_to_employ_reemployed", "trained", "assisted"]
            + activity.map(\.id.rawValue).map(IndicatorID.init(rawValue:)))
}

extension IndicatorCatalogue {
    /// A rate from counts, nil when its denominator is zero.
    package static func rate(_ indicator: Indicator, in counts: IndicatorCounts) -> Double? {
        guard case .ratio(let numerator, let denominator) = indicator.rollup else { return nil }
        let below = counts[denominator] ?? 0
        guard below != 0 else { return nil }
        return Double(counts[numerator] ?? 0) / Double(below)
    }
}

extension Indicator {
    /// This indicator's value in a unit-month's counts: the count, or the rate from its numerator and denominator
    /// (nil when the denominator is zero).
    package func value(in counts: IndicatorCounts) -> Double? {
        unit == .count ? Double(counts[id] ?? 0) : IndicatorCatalogue.rate(self, in: counts)
    }
}
