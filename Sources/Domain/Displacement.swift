/// Records of one unit that the ledger does not hold because another unit's newer record of the same person and
/// month is current: a person two villages reported in one month, of whom the later report counts (docs/design.md).
/// Such a record is neither lost nor refused. A unit-month's control total counts it beside the stored ones, so
/// that the month still balances, and the receipt names it, so that the agent stops waiting for it.
package struct Displacement: Sendable, Equatable {
    /// A unit's claim on a person-month.
    package struct UnitPerson: Hashable, Sendable {
        package let unit: DivisionCode
        package let key: PersonMonthKey

        package init(unit: DivisionCode, key: PersonMonthKey) {
            self.unit = unit
            self.key = key
        }
    }

    /// Per unit and person-month, the unit's newest record of it, where another unit's record is current.
    package var displaced: [PersonStatusRecord] = []
    /// Person-months whose current record is now their unit's own again, after another unit's: whatever that
    /// unit had displaced there is current now.
    package var restored: [UnitPerson] = []

    package var isEmpty: Bool { displaced.isEmpty && restored.isEmpty }

    /// What a batch of records (every version it carries) changes, against the stored records of their
    /// person-months.
    package static func of(batch: [PersonStatusRecord], stored: [PersonMonthKey: PersonStatusRecord]) -> Displacement {
        // Almost every person-month comes from one unit only: those are passed over with one lookup.
        var first: [PersonMonthKey: DivisionCode] = [:]
        first.reserveCapacity(batch.count)
        var mixed: Set<PersonMonthKey> = []
        for record in batch {
            let key = PersonMonthKey(person: record.person, period: record.period)
            if let unit = first[key] {
                if unit != record.unit { mixed.insert(key) }
            } else {
                first[key] = record.unit
                if let previous = stored[key], previous.unit != record.unit { mixed.insert(key) }
            }
        }
        guard !mixed.isEmpty else { return Displacement() }
        var versions: [PersonMonthKey: [PersonStatusRecord]] = [:]
        for record in batch {
            let key = PersonMonthKey(person: record.person, period: record.period)
            if mixed.contains(key) { versions[key, default: []].append(record) }
        }
        var result = Displacement()
        for (key, records) in versions.sorted(by: { $0.key < $1.key }) {
            let previous = stored[key]
            let all = records + (previous.map { [$0] } ?? [])
            guard let winner = all.max(by: { RecordVersion.isNewer($1, than: $0) }) else { continue }
            var newestOfUnit: [DivisionCode: PersonStatusRecord] = [:]
            for record in all where record.unit != winner.unit {
                if let held = newestOfUnit[record.unit], !RecordVersion.isNewer(record, than: held) { continue }
                newestOfUnit[record.unit] = record
            }
            result.displaced += newestOfUnit.values.sorted { $0.unit < $1.unit }
            if let previous, previous.unit != winner.unit {
                result.restored.append(UnitPerson(unit: winner.unit, key: key))
            }
        }
        return result
    }
}
