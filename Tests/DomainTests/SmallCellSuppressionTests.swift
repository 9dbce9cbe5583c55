import Domain
import PropertyBased
import Testing

@Suite("Small-cell suppression for open data")
struct SmallCellSuppressionTests {
    static let township = DivisionCode("140403001000")!
    static func village(_ number: Int) -> DivisionCode { DivisionCode(value: 140_403_001_000 + UInt64(number))! }

    @Test("A lone small village takes its smallest non-zero sibling with it; zeros and large cells stay")
    func complementaryPartner() {
        let base: [DivisionCode: Int64] = [
            Self.village(1): 3, Self.village(2): 0, Self.village(3): 40, Self.village(4): 12, Self.village(5): 12,
        ]
        let withheld = SmallCellSuppression().withheld(base, additive: true)
        // Village 4 and 5 tie at 12: the smaller code goes, so the same table always hides the same cells.
        #expect(withheld == [Self.village(1): .primary, Self.village(4): .complementary])
    }

    @Test("Two small siblings already hide each other; rates need no partner")
    func noPartnerNeeded() {
        let base: [DivisionCode: Int64] = [Self.village(1): 3, Self.village(2): 4, Self.village(3): 40]
        #expect(
            SmallCellSuppression().withheld(base, additive: true) == [
                Self.village(1): .primary, Self.village(2): .primary,
            ])
        let rateBase: [DivisionCode: Int64] = [Self.village(1): 3, Self.village(3): 40]
        #expect(SmallCellSuppression().withheld(rateBase, additive: false) == [Self.village(1): .primary])
    }

    @Test("In any table, no withheld count can be had back as the parent's total minus the published siblings")
    func nothingDerivable() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededGenerator(seed: UInt64(seed))
            var base: [DivisionCode: Int64] = [:]
            // Up to four townships of up to six villages, with many small and zero cells.
            for township in 1...Int.random(in: 1...4, using: &random) {
                for village in 1...Int.random(in: 1...6, using: &random) {
                    let code = DivisionCode(value: 140_403_000_000 + UInt64(township) * 1000 + UInt64(village))!
                    base[code] = [0, 1, 2, 4, 5, 9, 30].randomElement(using: &random)!
                }
            }
            let withheld = SmallCellSuppression().withheld(base, additive: true)
            for (unit, count) in base {
                #expect((withheld[unit] == .primary) == (count > 0 && count < 5))
            }
            for (_, siblings) in Dictionary(grouping: base.keys, by: { $0.parent }) {
                let hidden = siblings.filter { withheld[$0] != nil }
                let othersNonZero = siblings.contains { withheld[$0] == nil && base[$0]! > 0 }
                // One unknown in a sum is only safe when every published sibling is zero (then the parent is as small).
                #expect(hidden.count != 1 || !othersNonZero, "\(base)")
            }
        }
    }
}
