import Domain

/// The day of the following month on which a unit's report for a month arrives. Reports are due by the 10th;
/// clerks keep habits (a village that reports on the 3rd tends to report on the 3rd), so each unit has a habitual
/// day, and a month moves it by a day or so. Most reports are in by the 6th, the last stragglers on the 10th.
/// Late months (`SimulationOptions.lateShare`) come after the following month's reports instead.
///
/// The day depends only on the seed, the unit and the month: the same village reports on the same day in a run
/// of the whole city and in a run of its county alone.
package enum ReportingSchedule {
    /// Shares of units whose habitual day is the 1st … the 10th, in per cent.
    static let habitualDayShares = [4, 8, 12, 15, 15, 13, 11, 9, 7, 6]

    package static func day(of unit: DivisionCode, for period: Period, seed: UInt64) -> Int {
        var habit = SeededGenerator(seed: seed &* 0x2545_F491_4F6C_DD1D ^ unit.value)
        let draw = Int.random(in: 0..<habitualDayShares.reduce(0, +), using: &habit)
        var cumulative = 0
        var habitual = habitualDayShares.count
        for (index, share) in habitualDayShares.enumerated() {
            cumulative += share
            if draw < cumulative {
                habitual = index + 1
                break
            }
        }
        var month = SeededGenerator(seed: habit.next() ^ UInt64(period.year * 12 + period.month))
        let shift = [-1, 0, 0, 0, 1][Int.random(in: 0..<5, using: &month)]
        return min(10, max(1, habitual + shift))
    }
}
