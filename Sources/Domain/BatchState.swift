/// What a village's person records for one month add up to, beyond each person's own counts: whether the village
/// reported (any records), and how many of its employed persons have no record in the month before.
///
/// The second number is the new-entrant rule of new employment (`IndicatorComputation`): such a person counts as
/// newly employed when the village reported in the month before, since the person is then really new to it. The
/// count is kept per village and month so that a late report of the month before, which turns these persons into new
/// employment, changes the indicators without reading them one by one.
package struct VillageMonthCounts: Hashable, Sendable {
    /// Person records of the village in the month: it has reported when this is above zero.
    package var persons: Int
    /// Of them, employed persons with no record (anywhere) in the month before.
    package var employedNewToLedger: Int

    package init(persons: Int = 0, employedNewToLedger: Int = 0) {
        self.persons = persons
        self.employedNewToLedger = employedNewToLedger
    }

    package var hasReported: Bool { persons > 0 }
}

/// How many of a household's reported members are in the labour force and employed.
package struct HouseholdMembers: Hashable, Sendable {
    package var inLabourForce: Int
    package var employed: Int

    package init(inLabourForce: Int = 0, employed: Int = 0) {
        self.inLabourForce = inLabourForce
        self.employed = employed
    }

    package var isZeroEmployment: Bool { inLabourForce > 0 && employed == 0 }
}

/// What stored state a batch needs to see before its effect can be computed.
package struct BatchState: Sendable {
    /// Stored person records for the batch's persons in the months around the batch's months
    /// (every key of `IndicatorDelta.neighbourKeys`); absent keys have no record.
    package var persons: [PersonMonthKey: PersonStatusRecord]
    /// Stored member counts of every household the batch touches (`IndicatorDelta.householdsTouched`).
    package var households: [HouseholdMonth: HouseholdMembers]
    /// Stored counts of the villages and months the batch touches, and of the months on either side
    /// (`IndicatorDelta.householdsTouched`); absent keys have no records.
    package var villages: [UnitMonth: VillageMonthCounts]
    /// Stored activity reports of the units and months the batch reports for.
    package var activity: [UnitMonth: UnitActivityReport]

    package init(
        persons: [PersonMonthKey: PersonStatusRecord] = [:], households: [HouseholdMonth: HouseholdMembers] = [:],
        villages: [UnitMonth: VillageMonthCounts] = [:], activity: [UnitMonth: UnitActivityReport] = [:]
    ) {
        self.persons = persons
        self.households = households
        self.villages = villages
        self.activity = activity
    }
}

/// The change a batch makes: the records that replace stored ones, the new derived state to store, and
/// the change of every indicator of every unit at all four tiers.
package struct BatchEffect: Sendable {
    /// Person records newer than what is stored (at most one per person and month).
    package var acceptedPersons: [PersonStatusRecord] = []
    /// The stored records they replace.
    package var supersededPersons: [PersonStatusRecord] = []
    /// Records that were not newer than the stored or another version in the batch (replays, stale corrections).
    package var ignoredPersons = 0
    package var acceptedActivity: [UnitActivityReport] = []
    package var ignoredActivity = 0
    /// New member counts of every household whose counts changed.
    package var households: [HouseholdMonth: HouseholdMembers] = [:]
    /// New counts of every village and month whose counts changed.
    package var villages: [UnitMonth: VillageMonthCounts] = [:]
    /// Non-zero changes, rolled up to every ancestor.
    package var indicatorChanges: [UnitMonth: IndicatorCounts] = [:]
    /// The months the accepted records are for, and the months their changes reach.
    package var periods: Set<Period> = []
}

/// Of a batch's newest person records, those newer than the stored version (at most one per person and month),
/// the stored records they replace, and how many lost.
package struct PersonAcceptance: Sendable {
    package var accepted: [PersonStatusRecord] = []
    package var superseded: [PersonStatusRecord] = []
    package var ignored = 0
}

/// What the accepted person records change, before households and villages: each unit-month's own counts
/// (not yet rolled up) and each village-month's change in employed persons new to the ledger.
package struct PersonCountChanges: Sendable {
    var own: [UnitMonth: IndicatorCounts] = [:]
    var employedNewToLedger: [UnitMonth: Int] = [:]
}
