/// One batch's work as values, in the order the processor does it: the newest record per person-month and
/// per unit-month, the stored rows to read (in two rounds: the persons first, then the households and villages
/// their records touch), and, once read, what the batch changes. The processor runs the plan against
/// PostgreSQL inside the batch's transaction; the incremental property test runs the same plan against
/// dictionaries, so both follow one sequence of steps.
package struct BatchPlan: Sendable {
    /// The newest record per person and month, and per unit and month: an older one in the same batch never counts.
    package let persons: [PersonStatusRecord]
    package let activity: [UnitActivityReport]
    /// Records that lost to a newer one of the same key within the batch.
    package let droppedWithinBatch: Int

    package init(persons: [PersonStatusRecord], activity: [UnitActivityReport]) {
        let newestPersons = IndicatorDelta.newestPerKey(persons)
        let newestActivity = IndicatorDelta.newestPerKey(activity)
        self.persons = newestPersons.newest
        self.activity = newestActivity.newest
        droppedWithinBatch = newestPersons.dropped + newestActivity.dropped
    }

    /// The months the batch's person records are for (their ledger partitions must exist).
    package var personMonths: Set<Period> { Set(persons.map(\.period)) }

    /// First read: the stored records of the batch's persons in their months and the months either side.
    package var personKeys: Set<PersonMonthKey> { IndicatorDelta.neighbourKeys(of: persons) }

    /// The stored activity reports the batch's reports would replace.
    package var activityKeys: Set<UnitMonth> { Set(activity.map { UnitMonth(unit: $0.unit, period: $0.period) }) }

    /// Second read, once the stored persons are known: the households and village-months whose counts change.
    package func touched(stored: [PersonMonthKey: PersonStatusRecord]) -> (
        households: Set<HouseholdMonth>, villages: Set<UnitMonth>
    ) {
        IndicatorDelta.householdsTouched(by: persons, stored: stored)
    }

    /// The touched households that can have a stored row: those of village-months with a stored village row.
    ///
    /// A household row is only ever written in the transaction that writes its village-month's row: every record
    /// that changes a household's members changes its village-month's count of persons, and the first records of
    /// a village-month raise that count from nothing, so the row is written then. No village row is ever deleted.
    /// A village-month with no row therefore has no households stored, and a batch that opens a village's month
    /// (the common case: a submission's first records) need not probe for each of its households.
    package static func householdsToRead(
        _ households: Set<HouseholdMonth>, storedVillages: [UnitMonth: VillageMonthCounts]
    ) -> Set<HouseholdMonth> {
        households.filter { storedVillages[UnitMonth(unit: $0.unit, period: $0.period)] != nil }
    }

    /// After the first read: which records are stored, and which they replace. The ledger's rows need nothing
    /// more.
    package func acceptance(stored: [PersonMonthKey: PersonStatusRecord]) -> PersonAcceptance {
        IndicatorDelta.acceptance(of: persons, stored: stored)
    }

    /// After the first read too: the costly part of the counts, which the processor computes while the second
    /// read and the ledger's writes run.
    package func personCounts(
        of delta: IndicatorDelta, _ acceptance: PersonAcceptance, stored: [PersonMonthKey: PersonStatusRecord]
    ) -> PersonCountChanges {
        delta.personCounts(acceptance, stored: stored)
    }

    /// The indicator changes to store: the effect's, plus every village's expected report in each month the
    /// batch opened (a month no batch had reported for before).
    package static func changes(of effect: BatchEffect, opened: [Period], delta: IndicatorDelta) -> [UnitMonth:
        IndicatorCounts]
    {
        var changes = effect.indicatorChanges
        for period in opened {
            changes.merge(delta.expectedUnits(for: period)) { $0.merging($1, uniquingKeysWith: +) }
        }
        return changes
    }
}
