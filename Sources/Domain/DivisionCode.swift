/// The four administrative tiers of the monitoring system.
package enum Tier: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case city, county, township, village

    package var depth: Int {
        switch self {
        case .city: 0
        case .county: 1
        case .township: 2
        case .village: 3
        }
    }

    package var chineseName: String {
        switch self {
        case .city: "市"
        case .county: "县（区）"
        case .township: "乡镇（街道）"
        case .village: "村（社区）"
        }
    }

    package static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.depth < rhs.depth }
}

/// A 12-digit statistical division code `PPCCXXTTTVVV` (国家统计局 统计用区划代码).
///
/// The tier follows from which trailing groups are zero, and the parent from zeroing the lowest
/// non-zero group. The city (`PPCC00000000`) is the root: its own parent, the province, lies outside the
/// system.
package struct DivisionCode: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The code as a number (at most 12 digits), which keeps comparison and hashing cheap.
    package let value: UInt64

    /// Parses exactly 12 ASCII digits naming a unit below a city (county digits `XX` may be zero only for
    /// the city itself). Returns nil for anything else.
    package init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 12, utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        var value: UInt64 = 0
        for digit in utf8 { value = value * 10 + UInt64(digit - 48) }
        self.init(value: value)
    }

    package init?(value: UInt64) {
        guard value < 1_000_000_000_000 else { return nil }
        let province = value / 10_000_000_000
        let city = (value / 100_000_000) % 100
        guard province >= 11, city >= 1 else { return nil }
        let county = (value / 1_000_000) % 100
        let township = (value / 1000) % 1000
        let village = value % 1000
        // A lower group may be set only when every group above it is.
        if county == 0, township != 0 || village != 0 { return nil }
        if township == 0, village != 0 { return nil }
        self.value = value
    }

    package var tier: Tier {
        if value % 100_000_000 == 0 { return .city }
        if value % 1_000_000 == 0 { return .county }
        if value % 1000 == 0 { return .township }
        return .village
    }

    /// The unit one tier up; nil for a city.
    package var parent: DivisionCode? {
        switch tier {
        case .city: nil
        case .county: DivisionCode(uncheckedValue: value / 100_000_000 * 100_000_000)
        case .township: DivisionCode(uncheckedValue: value / 1_000_000 * 1_000_000)
        case .village: DivisionCode(uncheckedValue: value / 1000 * 1000)
        }
    }

    /// Every unit above this one, nearest first, ending with the city.
    package var ancestors: [DivisionCode] {
        var result: [DivisionCode] = []
        var current = parent
        while let code = current {
            result.append(code)
            current = code.parent
        }
        return result
    }

    /// The unit of the given tier that contains this one (itself when the tiers are equal); nil when
    /// `tier` is below this unit's.
    package func ancestor(at tier: Tier) -> DivisionCode? {
        if tier == self.tier { return self }
        return ancestors.first { $0.tier == tier }
    }

    /// True when `self` is `root` or lies below it.
    package func isInSubtree(of root: DivisionCode) -> Bool {
        switch root.tier {
        case .city: value / 100_000_000 == root.value / 100_000_000
        case .county: value / 1_000_000 == root.value / 1_000_000
        case .township: value / 1000 == root.value / 1000
        case .village: value == root.value
        }
    }

    /// The leading digits every code of this unit's subtree shares (`PPCC` for the city, `PPCCXX` for a
    /// county, `PPCCXXTTT` for a township, all twelve for a village): what a SQL `LIKE prefix || '%'` needs.
    package var subtreePrefix: String {
        let digits: Int
        switch tier {
        case .city: digits = 4
        case .county: digits = 6
        case .township: digits = 9
        case .village: digits = 12
        }
        return String(description.prefix(digits))
    }

    /// The county digits `PPCCXX`, by which records are keyed so that one county's subtree goes to one
    /// partition. The city itself keys as `PPCC00`.
    package var countyKey: String { String(String(description).prefix(6)) }

    package var description: String {
        let digits = String(value)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }

    package static func < (lhs: DivisionCode, rhs: DivisionCode) -> Bool { lhs.value < rhs.value }

    private init(uncheckedValue: UInt64) { value = uncheckedValue }

    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let code = DivisionCode(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a division code: \(text)"))
        }
        self = code
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
