/// Whether an indicator counts people or events, or is a ratio.
package enum IndicatorUnit: String, Sendable, Hashable, Codable { case count, rate }

/// How an indicator rolls up the tiers.
package enum Rollup: Sendable, Hashable {
    /// Children's values add up to the parent's.
    case sum
    /// Computed from the summed numerator and denominator, never averaged.
    case ratio(numerator: IndicatorID, denominator: IndicatorID)
}

/// An indicator's name as stored and as the API spells it. Code names one through the static members below, so a
/// misspelt indicator does not compile; text from outside becomes one through `IndicatorCatalogue.indicator`.
package struct IndicatorID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }
    package var description: String { rawValue }
}

extension IndicatorID {
    package static let labourForce = IndicatorID(rawValue: "labour_force")
    package static let employed = IndicatorID(rawValue: "employed")
    package static let unemployed = IndicatorID(rawValue: "unemployed")
    package static let registeredUnemployed = IndicatorID(rawValue: "registered_unemployed")
    package static let newEmployment = IndicatorID(rawValue: "new_employment")
    package static let newUrbanEmployment = IndicatorID(rawValue: "new_urban_employment")
    package static let reemployed = IndicatorID(rawValue: "reemployed")
    package static let hardToEmployReemployed = IndicatorID(rawValue: "hard_to_employ_reemployed")
    package static let ruralLabourEmployed = IndicatorID(rawValue: "rural_labour_employed")
    package static let ruralLabourEmployedLocal = IndicatorID(rawValue: "rural_labour_employed_local")
    package static let ruralLabourEmployedInProvince = IndicatorID(rawValue: "rural_labour_employed_in_province")
    package static let ruralLabourEmployedOutOfProvince = IndicatorID(rawValue: "rural_labour_employed_out_of_province")
    package static let zeroEmploymentHouseholds = IndicatorID(rawValue: "zero_employment_households")
    package static let trained = IndicatorID(rawValue: "trained")
    package static let assisted = IndicatorID(rawValue: "assisted")
    package static let assistanceTarget = IndicatorID(rawValue: "assistance_target")
    package static let unemployedLastMonth = IndicatorID(rawValue: "unemployed_last_month")
    package static let collegeGraduates = IndicatorID(rawValue: "college_graduates")
    package static let collegeGraduatesEmployed = IndicatorID(rawValue: "college_graduates_employed")
    package static let reportingUnits = IndicatorID(rawValue: "reporting_units")
    package static let expectedUnits = IndicatorID(rawValue: "expected_units")
    package static let urbanLabourForce = IndicatorID(rawValue: "urban_labour_force")
    package static let urbanRegisteredUnemployed = IndicatorID(rawValue: "urban_registered_unemployed")
    package static let jobsCollected = IndicatorID(rawValue: "jobs_collected")
    package static let recruitmentEvents = IndicatorID(rawValue: "recruitment_events")
    package static let internshipPosts = IndicatorID(rawValue: "internship_posts")
    package static let gigMarketServices = IndicatorID(rawValue: "gig_market_services")
    package static let entrepreneurshipTrainees = IndicatorID(rawValue: "entrepreneurship_trainees")
    package static let jobsCreatedByEntrepreneurship = IndicatorID(rawValue: "jobs_created_by_entrepreneurship")
    package static let trainingCompletions = IndicatorID(rawValue: "training_completions")
    package static let labourDisputesHandled = IndicatorID(rawValue: "labour_disputes_handled")
    package static let wageArrearsCases = IndicatorID(rawValue: "wage_arrears_cases")
    package static let registeredUnemploymentRate = IndicatorID(rawValue: "registered_unemployment_rate")
    package static let urbanRegisteredUnemploymentRate = IndicatorID(rawValue: "urban_registered_unemployment_rate")
    package static let placementRate = IndicatorID(rawValue: "placement_rate")
    package static let assistanceRate = IndicatorID(rawValue: "assistance_rate")
    package static let graduateEmploymentRate = IndicatorID(rawValue: "graduate_employment_rate")
    package static let reportingRate = IndicatorID(rawValue: "reporting_rate")
}

/// One indicator of the catalogue (docs/design.md, "Indicators").
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
        count(.labourForce, "劳动力人数", "Labour force"),
        count(.employed, "就业人数", "Employed", better: true),
        count(.unemployed, "失业人数", "Unemployed", better: false),
        count(.registeredUnemployed, "登记失业人数", "Registered unemployed", better: false),
        count(.newEmployment, "新增就业人数", "New employment", better: true),
        count(.newUrbanEmployment, "城镇新增就业人数", "New urban employment", better: true),
        count(.reemployed, "失业人员再就业人数", "Re-employed unemployed", better: true),
        count(.hardToEmployReemployed, "就业困难人员就业人数", "Hard-to-employ re-employed", better: true),
        count(.ruralLabourEmployed, "农村劳动力转移就业人数", "Rural labour employed", better: true),
        count(.ruralLabourEmployedLocal, "农村劳动力就地就近就业人数", "Rural labour employed locally", better: true),
        count(.ruralLabourEmployedInProvince, "农村劳动力省内就业人数", "Rural labour employed in province", better: true),
        count(
            .ruralLabourEmployedOutOfProvince, "农村劳动力省外就业人数", "Rural labour employed out of province",
            better: true),
        count(.zeroEmploymentHouseholds, "零就业家庭户数", "Zero-employment households", better: false),
        count(.trained, "培训人数", "Trained", better: true),
        count(.assisted, "帮扶人数", "Assisted", better: true),
        count(.assistanceTarget, "应帮扶人数", "Persons due assistance"),
        count(.unemployedLastMonth, "上月失业人数", "Unemployed last month"),
        count(.collegeGraduates, "高校毕业生人数", "College graduates"),
        count(.collegeGraduatesEmployed, "高校毕业生就业人数", "College graduates employed", better: true),
        count(.reportingUnits, "已报送单位数", "Reporting units", better: true),
        count(.expectedUnits, "应报送单位数", "Expected reporting units"),
        count(.urbanLabourForce, "城镇劳动力人数", "Urban labour force"),
        count(.urbanRegisteredUnemployed, "城镇登记失业人数", "Urban registered unemployed", better: false),
    ]

    package static let activity: [Indicator] = [
        count(.jobsCollected, "岗位征集数", "Jobs collected", better: true),
        count(.recruitmentEvents, "招聘活动场次", "Recruitment events", better: true),
        count(.internshipPosts, "就业见习岗位数", "Internship posts", better: true),
        count(.gigMarketServices, "零工市场服务人次", "Gig-market services", better: true),
        count(.entrepreneurshipTrainees, "创业培训人数", "Entrepreneurship trainees", better: true),
        count(.jobsCreatedByEntrepreneurship, "创业带动就业人数", "Jobs created by entrepreneurship", better: true),
        count(.trainingCompletions, "补贴性职业技能培训人数", "Subsidised training completions", better: true),
        count(.labourDisputesHandled, "劳动争议处理件数", "Labour disputes handled"),
        count(.wageArrearsCases, "欠薪案件数", "Wage-arrears cases", better: false),
    ]

    package static let rates: [Indicator] = [
        rate(
            .registeredUnemploymentRate, "登记失业率（全部劳动力）", "Registered unemployment rate (whole labour force)",
            .registeredUnemployed, .labourForce, better: false),
        rate(
            .urbanRegisteredUnemploymentRate, "城镇登记失业率", "Urban registered unemployment rate",
            .urbanRegisteredUnemployed, .urbanLabourForce, better: false),
        rate(.placementRate, "失业人员再就业率", "Placement rate", .reemployed, .unemployedLastMonth, better: true),
        rate(.assistanceRate, "就业援助帮扶率", "Assistance rate", .assisted, .assistanceTarget, better: true),
        rate(
            .graduateEmploymentRate, "高校毕业生就业率", "Graduate employment rate", .collegeGraduatesEmployed,
            .collegeGraduates, better: true),
        rate(.reportingRate, "报送率", "Reporting completeness", .reportingUnits, .expectedUnits, better: true),
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
        [.newEmployment, .newUrbanEmployment, .reemployed, .hardToEmployReemployed, .trained, .assisted]
            + activity.map(\.id))
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
