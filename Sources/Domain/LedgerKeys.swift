import Crypto

/// A person key as the batch's maps hold it: its 64 lowercase hex digits as 32 bytes in four words. A batch
/// hashes and compares each person's key some twenty times; as a 64-character string that was a tenth of the
/// processor's CPU, in hashing, comparing bytes and counting references. Ordered as the hex texts are.
package struct PersonKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let high: (UInt64, UInt64)
    private let low: (UInt64, UInt64)

    /// A text that is not 64 lowercase hex digits (validation refuses such records before any batch sees them) is
    /// kept as its SHA-256, so that different texts stay different keys; `text` then gives that digest's hex.
    package init(_ text: String) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        var valid = true
        for byte in text.utf8 {
            let nibble: UInt8
            switch byte {
            case 48...57: nibble = byte - 48
            case 97...102: nibble = byte - 87
            default: nibble = 0xFF
            }
            guard nibble != 0xFF, count < 64 else {
                valid = false
                break
            }
            let shift = UInt64(60 - 4 * (count % 16))
            switch count / 16 {
            case 0: words.0 |= UInt64(nibble) << shift
            case 1: words.1 |= UInt64(nibble) << shift
            case 2: words.2 |= UInt64(nibble) << shift
            default: words.3 |= UInt64(nibble) << shift
            }
            count += 1
        }
        if !valid || count != 64 {
            let digest = Array(SHA256.hash(data: Array(text.utf8)))
            words = (Self.word(digest, 0), Self.word(digest, 8), Self.word(digest, 16), Self.word(digest, 24))
        }
        high = (words.0, words.1)
        low = (words.2, words.3)
    }

    private static func word(_ bytes: [UInt8], _ start: Int) -> UInt64 {
        bytes[start..<start + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The 64 lowercase hex digits.
    package var text: String {
        var digits: [UInt8] = []
        digits.reserveCapacity(64)
        appendHex(to: &digits)
        return String(decoding: digits, as: UTF8.self)
    }

    /// Appends the 64 lowercase hex digits to `bytes`: many keys go into one text without a string each.
    package func appendHex(to bytes: inout [UInt8]) {
        for word in [high.0, high.1, low.0, low.1] {
            for nibble in 0..<16 {
                let value = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * nibble) & 0xF)
                bytes.append(value < 10 ? value + 48 : value + 87)
            }
        }
    }

    package var description: String { text }

    /// The key's first 12 bits: the advisory lock a batch takes for the person (one of 1,024 per batch at most).
    package var lockBucket: Int { Int(high.0 >> 52) }

    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.high == rhs.high && lhs.low == rhs.low }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.high.0, lhs.high.1, lhs.low.0, lhs.low.1) < (rhs.high.0, rhs.high.1, rhs.low.0, rhs.low.1)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(high.0)
        hasher.combine(high.1)
        hasher.combine(low.0)
        hasher.combine(low.1)
    }
}

/// A person's record for one month, addressed by person and month.
package struct PersonMonthKey: Hashable, Sendable, Comparable {
    package let person: PersonKey
    package let period: Period

    package init(person: PersonKey, period: Period) {
        self.person = person
        self.period = period
    }

    package init(personKey: String, period: Period) { self.init(person: PersonKey(personKey), period: period) }

    /// The record's own key: person and month.
    package init(_ record: PersonStatusRecord) { self.init(person: record.person, period: record.period) }

    package var personKey: String { person.text }

    package static func < (lhs: Self, rhs: Self) -> Bool { (lhs.person, lhs.period) < (rhs.person, rhs.period) }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(person)
        hasher.combine(period.year &* 16 &+ period.month)
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
