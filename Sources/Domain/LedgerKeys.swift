/// A person's record for one month, addressed by person and month.
package struct PersonMonthKey: Hashable, Sendable, Comparable {
    package let personKey: String
    package let period: Period

    package init(personKey: String, period: Period) {
        self.personKey = personKey
        self.period = period
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { (lhs.personKey, lhs.period) < (rhs.personKey, rhs.period) }
}

/// One unit in one month.
package struct UnitMonth: Hashable, Sendable, Comparable {
    package let unit: DivisionCode
    package let period: Period

    package init(unit: DivisionCode, period: Period) {
        self.unit = unit
        self.period = period
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { (lhs.period, lhs.unit) < (rhs.period, rhs.unit) }
}

/// One household as seen from one village in one month (zero-employment households are counted per unit).
package struct HouseholdMonth: Hashable, Sendable {
    package let unit: DivisionCode
    package let period: Period
    package let householdKey: String

    package init(unit: DivisionCode, period: Period, householdKey: String) {
        self.unit = unit
        self.period = period
        self.householdKey = householdKey
    }
}

/// Which version of a record wins: the later report, and between reports of the same instant the larger id,
/// so that every processor and every replay picks the same one.
package enum RecordVersion {
    package static func isNewer(_ candidate: PersonStatusRecord, than current: PersonStatusRecord) -> Bool {
        (candidate.reportedAtMilliseconds, candidate.recordID) > (current.reportedAtMilliseconds, current.recordID)
    }

    package static func isNewer(_ candidate: UnitActivityReport, than current: UnitActivityReport) -> Bool {
        (candidate.reportedAtMilliseconds, candidate.recordID) > (current.reportedAtMilliseconds, current.recordID)
    }
}
