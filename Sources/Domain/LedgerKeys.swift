/// A person's record for one month, addressed by person and month.
package struct PersonMonthKey: Hashable, Sendable, Comparable {
    package let personKey: String
    package let period: Period

    package init(personKey: String, period: Period) {
        self.personKey = personKey
        self.period = period
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { (lhs.personKey, lhs.period) < (rhs.personKey, rhs.period) }

    /// The first 24 UTF-8 bytes of `personKey` as three integers, most significant first (zeros past its end):
    /// ordered as the keys are wherever those bytes differ (UTF-8's byte order is its characters' order, and
    /// person keys are hex), and compared in three steps instead of a string comparison.
    package static func orderPrefix(_ personKey: String) -> (UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var taken = 0
        for byte in personKey.utf8.prefix(24) {
            let shift = UInt64(56 - 8 * (taken % 8))
            switch taken / 8 {
            case 0: words.0 |= UInt64(byte) << shift
            case 1: words.1 |= UInt64(byte) << shift
            default: words.2 |= UInt64(byte) << shift
            }
            taken += 1
        }
        return words
    }
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
