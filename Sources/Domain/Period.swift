/// A calendar month, `YYYY-MM`, the unit of reporting.
package struct Period: Hashable, Sendable, Comparable, CustomStringConvertible, Codable, Strideable {
    package let year: Int
    package let month: Int

    /// The first month the system accepts records for.
    package static let earliest = Period(uncheckedYear: 2020, month: 1)

    package init?(year: Int, month: Int) {
        guard (1...12).contains(month), (1900...9999).contains(year) else { return nil }
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM` exactly (four-digit year, two-digit month).
    package init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 7, utf8[4] == UInt8(ascii: "-") else { return nil }
        let digits = utf8[0..<4] + utf8[5..<7]
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let number = { (slice: ArraySlice<UInt8>) in slice.reduce(0) { $0 * 10 + Int($1 - 48) } }
        self.init(year: number(utf8[0..<4]), month: number(utf8[5..<7]))
    }

    private init(uncheckedYear year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// Months since year 0, which makes arithmetic and ordering plain integer work.
    package var ordinal: Int { year * 12 + (month - 1) }

    package init?(ordinal: Int) {
        self.init(year: ordinal >= 0 ? ordinal / 12 : -1, month: ordinal >= 0 ? ordinal % 12 + 1 : 0)
    }

    package var next: Period { advanced(by: 1) }
    package var previous: Period { advanced(by: -1) }

    package func advanced(by months: Int) -> Period {
        let ordinal = self.ordinal + months
        return Period(uncheckedYear: ordinal / 12, month: ordinal % 12 + 1)
    }

    package func distance(to other: Period) -> Int { other.ordinal - ordinal }

    /// Every month from `self` through `last`, inclusive; empty if `last` is earlier.
    package func through(_ last: Period) -> [Period] {
        last < self ? [] : Array(stride(from: self, through: last, by: 1))
    }

    /// January of the same year, where year-to-date sums start.
    package var startOfYear: Period { Period(uncheckedYear: year, month: 1) }

    package var description: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + (month < 10 ? "-0" : "-") + String(month)
    }

    package static func < (lhs: Period, rhs: Period) -> Bool { lhs.ordinal < rhs.ordinal }

    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let period = Period(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM period: \(text)"))
        }
        self = period
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
