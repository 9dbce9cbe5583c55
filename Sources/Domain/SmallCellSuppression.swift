/// Which cells of a published table must be withheld so that no figure points at a handful of persons.
///
/// Primary suppression hides every cell counting more than zero but fewer than `smallest` persons. That
/// alone is not enough for counts that add up the tree: a township's total minus its published villages
/// gives back the one village withheld. So in every group of siblings (units with the same parent) where
/// exactly one cell is withheld, the smallest other non-zero sibling is withheld as well (complementary
/// suppression, as statistics offices practise it), leaving at least two unknowns in every sum.
package struct SmallCellSuppression: Sendable {
    package enum Reason: String, Sendable, Codable, Hashable {
        /// The cell itself counts fewer than the smallest publishable number of persons.
        case primary
        /// The cell is large enough, but publishing it would let the withheld sibling be derived.
        case complementary
    }

    package let smallest: Int64

    package init(smallest: Int64 = 5) {
        self.smallest = smallest
    }

    /// The withheld cells and why. `base` is the number of persons behind each cell (for a rate, its
    /// denominator); `additive` says whether the figures add up to the parent's, which is when siblings
    /// need complementary suppression.
    package func withheld(_ base: [DivisionCode: Int64], additive: Bool) -> [DivisionCode: Reason] {
        var result: [DivisionCode: Reason] = [:]
        for (unit, count) in base where count > 0 && count < smallest { result[unit] = .primary }
        guard additive else { return result }
        let families = Dictionary(grouping: base.keys) { $0.parent }
        for (_, siblings) in families {
            let hidden = siblings.filter { result[$0] != nil }
            guard hidden.count == 1 else { continue }
            // Ties go to the smaller code, so that the same table always hides the same cells.
            let partner =
                siblings
                .filter { result[$0] == nil && (base[$0] ?? 0) > 0 }
                .min { (base[$0] ?? 0, $0) < (base[$1] ?? 0, $1) }
            if let partner { result[partner] = .complementary }
        }
        return result
    }
}
