import Foundation

/// What the city's ledger shows of one village's month, the raw material of its data-quality signals
/// (`QualityAssessment`). Read from the ledger by `Situation.DataQualityView`.
package struct VillageMonthMeasure: Sendable, Codable, Hashable {
    /// Another village that reported one of this village's persons in the same month.
    package struct DoubleReport: Sendable, Codable, Hashable {
        package var otherVillage: String
        /// Persons both villages reported.
        package var persons: Int
        /// Of them, persons whose record the ledger kept from this village (the newer one wins).
        package var keptHere: Int

        package init(otherVillage: String, persons: Int, keptHere: Int) {
            self.otherVillage = otherVillage
            self.persons = persons
            self.keptHere = keptHere
        }
    }

    /// Persons in the village's ledger in both months with one status the month before: how many, how many of
    /// them changed in any reported field, and how many changed status.
    package struct Changes: Sendable, Codable, Hashable {
        package var compared: Int
        package var changed: Int
        package var statusChanges: Int

        package init(compared: Int, changed: Int, statusChanges: Int) {
            self.compared = compared
            self.changed = changed
            self.statusChanges = statusChanges
        }
    }

    package var unit: String
    package var period: Period
    /// Persons the ledger holds from the village for the month.
    package var persons: Int
    /// The earliest and latest report time of the village's records of the month (every version), Unix ms.
    package var firstReportedAtMilliseconds: Int64?
    package var lastReportedAtMilliseconds: Int64?
    /// Persons whose stored record the village replaced with a newer one of its own that differs in a reported
    /// field, and of them those whose status differs.
    package var correctedPersons: Int
    package var correctedStatuses: Int
    package var lastCorrectionAtMilliseconds: Int64?
    /// Whether the village had persons in the ledger in the month before.
    package var reportedMonthBefore: Bool
    /// Persons in the village's ledger in both months, by their status the month before (`EmploymentStatus`
    /// raw value). Persons who joined or left the village's ledger count apart.
    package var byStatus: [String: Changes]
    package var joined: Int
    package var left: Int
    package var doubleReports: [DoubleReport]
    /// Records of the village's month the city refused, by reason code.
    package var rejected: [String: Int]

    package init(
        unit: String, period: Period, persons: Int, firstReportedAtMilliseconds: Int64? = nil,
        lastReportedAtMilliseconds: Int64? = nil, correctedPersons: Int = 0, correctedStatuses: Int = 0,
        lastCorrectionAtMilliseconds: Int64? = nil, reportedMonthBefore: Bool = false,
        byStatus: [String: Changes] = [:], joined: Int = 0, left: Int = 0, doubleReports: [DoubleReport] = [],
        rejected: [String: Int] = [:]
    ) {
        self.unit = unit
        self.period = period
        self.persons = persons
        self.firstReportedAtMilliseconds = firstReportedAtMilliseconds
        self.lastReportedAtMilliseconds = lastReportedAtMilliseconds
        self.correctedPersons = correctedPersons
        self.correctedStatuses = correctedStatuses
        self.lastCorrectionAtMilliseconds = lastCorrectionAtMilliseconds
        self.reportedMonthBefore = reportedMonthBefore
        self.byStatus = byStatus
        self.joined = joined
        self.left = left
        self.doubleReports = doubleReports
        self.rejected = rejected
    }

    package var comparedPersons: Int { byStatus.values.reduce(0) { $0 + $1.compared } }
    package var changedPersons: Int { byStatus.values.reduce(0) { $0 + $1.changed } }
    package var statusChanges: Int { byStatus.values.reduce(0) { $0 + $1.statusChanges } }

    /// Every person of the month is the village's person of the month before, with every reported field the same.
    package var identicalToMonthBefore: Bool {
        persons > 0 && reportedMonthBefore && joined == 0 && left == 0 && changedPersons == 0
    }
}

/// The data-quality signals of a village's month. Each has a definition and a threshold (docs/analysis.md, "Data
/// quality"); a signal over its threshold is a flag, and every flag lowers the village's score.
package enum QualitySignal: String, Sendable, Codable, CaseIterable, Comparable {
    /// The village's first record of the month arrived after the month closed (the 10th of the month after).
    case late
    /// A correction changed at least one person's status: the village's first figures were wrong.
    case corrected
    /// The ledger is the month before's, person for person and field for field, and a month without any change
    /// is unlikely at the city's rate of change (chance below `QualityThresholds.chance`): copied forward.
    case copiedForward = "copied_forward"
    /// No person's status changed in twelve reported months, unlikely even at the city's slowest rate of status
    /// change (chance below `QualityThresholds.chance`).
    case noChangeInYear = "no_change_in_year"
    /// Another village reported one of the village's persons in the same month.
    case doubleReported = "double_reported"
    /// The city refused records of the village's month.
    case rejected

    package static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    package var chineseName: String {
        switch self {
        case .late: "逾期报送"
        case .corrected: "更正改变就业状态"
        case .copiedForward: "照抄上月"
        case .noChangeInYear: "全年无状态变化"
        case .doubleReported: "重复填报"
        case .rejected: "记录被拒"
        }
    }
}

package struct QualityThresholds: Sendable, Codable, Hashable {
    /// A month without change (or a year without a status change) is flagged when it would happen by chance less
    /// often than this, given the city's rate of change that month.
    package var chance = 0.001
    /// The day of the month after by which a month's reports are due.
    package var closingDay = 10
    package init() {}
}

/// One village's month, assessed.
package struct VillageQuality: Sendable, Codable, Hashable {
    package var unit: String
    package var name: String
    package var period: String
    package var persons: Int
    /// The China date the village's first record of the month arrived, and the days after the close.
    package var firstReportedOn: String?
    package var daysLate: Int?
    package var correctedPersons: Int
    package var correctedStatuses: Int
    package var changedPersons: Int
    package var statusChanges: Int
    /// Chance that a ledger of this size changes in nothing, at the city's rate of change this month (nil when it
    /// changed).
    package var unchangedChance: Double?
    /// Status changes over the twelve months through this one, when the village reported all twelve.
    package var statusChangesInYear: Int?
    package var doubleReports: [VillageMonthMeasure.DoubleReport]
    package var rejected: [String: Int]
    package var flags: [QualitySignal]
    /// 100 with nothing flagged; each flag takes off its weight (`QualityAssessment.penalty`).
    package var score: Int
}

/// Assesses villages' months from their measures, against the city's rates of change.
package struct QualityAssessment: Sendable {
    package var thresholds: QualityThresholds

    package init(thresholds: QualityThresholds = QualityThresholds()) { self.thresholds = thresholds }

    /// The city's monthly rates of change by status the month before: the share of persons in their village's
    /// ledger both months whose record changed in any reported field, and whose status changed. Persons differ:
    /// the unemployed find work often, the employed rarely leave it, so an unchanged ledger is judged person by
    /// person at their own status's rate. Counted over the villages whose ledger changed at all, so that copied
    /// ledgers do not lower the rates they are judged by.
    package struct ChangeRates: Sendable, Hashable {
        package var any: [String: Double] = [:]
        package var status: [String: Double] = [:]
        package var overallAny = 0.0
        package var overallStatus = 0.0
        /// The lowest status-change rate of a status the city has at least `minimumCompared` persons of: what a year
        /// without a status change is judged at. Persons of one status differ too (the long-term registered
        /// unemployed find work far less often than the rest), and over eleven months that compounds: judged at
        /// the slowest rate, a village of retirees or of the long-term unemployed is not flagged for being quiet.
        package var slowestStatus = 0.0
        static let minimumCompared = 100

        /// The chance that none of the persons of `changes` changes in any field, each at their status's rate.
        func unchangedChance(_ changes: [String: VillageMonthMeasure.Changes]) -> Double {
            changes.reduce(1.0) { chance, entry in chance * pow(1 - (any[entry.key] ?? 0), Double(entry.value.compared))
            }
        }
    }

    package static func rates(_ measures: [VillageMonthMeasure]) -> ChangeRates {
        var totals: [String: VillageMonthMeasure.Changes] = [:]
        for measure in measures where !measure.identicalToMonthBefore {
            for (status, changes) in measure.byStatus {
                var total = totals[status] ?? .init(compared: 0, changed: 0, statusChanges: 0)
                total.compared += changes.compared
                total.changed += changes.changed
                total.statusChanges += changes.statusChanges
                totals[status] = total
            }
        }
        var rates = ChangeRates()
        for (status, total) in totals where total.compared > 0 {
            rates.any[status] = Double(total.changed) / Double(total.compared)
            rates.status[status] = Double(total.statusChanges) / Double(total.compared)
        }
        rates.slowestStatus =
            totals.values.filter { $0.compared >= ChangeRates.minimumCompared }
            .map { Double($0.statusChanges) / Double($0.compared) }.min() ?? 0
        let compared = totals.values.reduce(0) { $0 + $1.compared }
        if compared > 0 {
            rates.overallAny = Double(totals.values.reduce(0) { $0 + $1.changed }) / Double(compared)
            rates.overallStatus = Double(totals.values.reduce(0) { $0 + $1.statusChanges }) / Double(compared)
        }
        return rates
    }

    /// The villages of `period`, from the measures of it and of the eleven months before (for the year's signal).
    /// `measures` holds every village's measures of those months (the rates are the city's), `names` the names to
    /// show.
    package func assess(
        period: Period, measures: [Period: [VillageMonthMeasure]], names: [String: String] = [:]
    ) -> [VillageQuality] {
        let rates = Dictionary(uniqueKeysWithValues: measures.map { ($0.key, Self.rates($0.value)) })
        var byVillage: [String: [Period: VillageMonthMeasure]] = [:]
        for (month, list) in measures {
            for measure in list { byVillage[measure.unit, default: [:]][month] = measure }
        }
        let year = period.advanced(by: -11).through(period)
        return (measures[period] ?? []).filter { $0.persons > 0 }.sorted { $0.unit < $1.unit }.map { measure in
            let months = byVillage[measure.unit] ?? [:]
            return assess(
                measure, rates: rates[period] ?? ChangeRates(),
                year: year.allSatisfy { (months[$0]?.persons ?? 0) > 0 }
                    ? year.compactMap { month in months[month].map { ($0, rates[month] ?? ChangeRates()) } } : nil,
                name: names[measure.unit] ?? "")
        }
    }

    /// One village's month. `year` is its twelve months through this one with the city's rates of each, when it
    /// reported all twelve.
    package func assess(
        _ measure: VillageMonthMeasure, rates: ChangeRates, year: [(VillageMonthMeasure, ChangeRates)]?,
        name: String = ""
    ) -> VillageQuality {
        var flags: [QualitySignal] = []
        let close = ChinaTime.closes(measure.period, closingDay: thresholds.closingDay)
        var daysLate: Int?
        if let first = measure.firstReportedAtMilliseconds {
            let late = Double(first) / 1000 - close.timeIntervalSince1970
            daysLate = late > 0 ? Int((late / 86_400).rounded(.up)) : 0
            if late > 0 { flags.append(.late) }
        }
        if measure.correctedStatuses > 0 { flags.append(.corrected) }
        var unchangedChance: Double?
        if measure.identicalToMonthBefore {
            let chance = rates.unchangedChance(measure.byStatus)
            unchangedChance = chance
            if chance < thresholds.chance { flags.append(.copiedForward) }
        }
        var statusChangesInYear: Int?
        if let year {
            // The first of the twelve months is compared with a month outside the year.
            let compared = year.dropFirst()
            let changes = compared.reduce(0) { $0 + $1.0.statusChanges + $1.0.joined + $1.0.left }
            statusChangesInYear = changes
            if changes == 0 {
                let chance = compared.reduce(1.0) { $0 * pow(1 - $1.1.slowestStatus, Double($1.0.comparedPersons)) }
                if chance < thresholds.chance { flags.append(.noChangeInYear) }
            }
        }
        if !measure.doubleReports.isEmpty { flags.append(.doubleReported) }
        if measure.rejected.values.reduce(0, +) > 0 { flags.append(.rejected) }
        return VillageQuality(
            unit: measure.unit, name: name, period: measure.period.description, persons: measure.persons,
            firstReportedOn: measure.firstReportedAtMilliseconds.map(ChinaTime.dateText(milliseconds:)),
            daysLate: daysLate, correctedPersons: measure.correctedPersons,
            correctedStatuses: measure.correctedStatuses, changedPersons: measure.changedPersons,
            statusChanges: measure.statusChanges, unchangedChance: unchangedChance,
            statusChangesInYear: statusChangesInYear, doubleReports: measure.doubleReports,
            rejected: measure.rejected, flags: flags, score: Self.score(measure, flags: flags, daysLate: daysLate))
    }

    /// 100 less each flag's weight: copied forward 40, no change in a year 30, late 10 plus a point a day (at most
    /// 30), a status-changing correction 10 plus the corrected share of persons in points (at most 30), double
    /// reports 5 a person (at most 20), rejections 2 a record (at most 20). Never below 0.
    package static func score(_ measure: VillageMonthMeasure, flags: [QualitySignal], daysLate: Int?) -> Int {
        var score = 100
        for flag in flags {
            switch flag {
            case .copiedForward: score -= 40
            case .noChangeInYear: score -= 30
            case .late: score -= min(30, 10 + (daysLate ?? 0))
            case .corrected:
                let share = measure.persons > 0 ? Double(measure.correctedStatuses) / Double(measure.persons) : 0
                score -= min(30, 10 + Int((share * 100).rounded()))
            case .doubleReported:
                score -= min(20, 5 * measure.doubleReports.reduce(0) { $0 + $1.persons })
            case .rejected: score -= min(20, 2 * measure.rejected.values.reduce(0, +))
            }
        }
        return max(0, score)
    }
}
