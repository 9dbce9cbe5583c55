import Domain
import Foundation
import Testing

@Suite("Data-quality assessment of villages' months")
struct QualityAssessmentTests {
    static let march = Period(year: 2024, month: 3)!

    /// A village's month in which `compared` employed persons were in its ledger both months, `changed` of them
    /// changed in some field and `statusChanges` in status.
    static func measure(
        _ unit: String, _ period: Period = march, employed compared: Int, changed: Int = 0, statusChanges: Int = 0,
        reportedDay: Int = 5
    ) -> VillageMonthMeasure {
        let next = period.next
        let day = ChinaTime.calendar.date(
            from: DateComponents(year: next.year, month: next.month, day: reportedDay, hour: 9))!
        return VillageMonthMeasure(
            unit: unit, period: period, persons: compared,
            firstReportedAtMilliseconds: Int64(day.timeIntervalSince1970 * 1000), reportedMonthBefore: true,
            byStatus: ["employed": .init(compared: compared, changed: changed, statusChanges: statusChanges)])
    }

    /// The city: 100 villages of 50 employed persons of whom 5 changed in some field and 1 in status (rates 10% and
    /// 2%), and the villages under test.
    static func city(_ period: Period = march, plus villages: [VillageMonthMeasure]) -> [VillageMonthMeasure] {
        (0..<100).map {
            measure("1404030\(String($0).leftPadded(to: 5))", period, employed: 50, changed: 5, statusChanges: 1)
        }
            + villages
    }

    @Test(
        "A ledger identical to the month before is copied forward when that is unlikely at each person's rate of change"
    )
    func copiedForwardByChance() throws {
        let assessment = QualityAssessment()
        // At a 10% monthly rate, 66 unchanged persons have chance 0.9^66 ≈ 0.00096; 65 have 0.00107.
        let measures = Self.city(plus: [
            Self.measure("140403999001", employed: 66), Self.measure("140403999002", employed: 65),
        ])
        let result = Dictionary(
            uniqueKeysWithValues: assessment.assess(period: Self.march, measures: [Self.march: measures]).map {
                ($0.unit, $0)
            })
        let large = try #require(result["140403999001"])
        let small = try #require(result["140403999002"])
        #expect(large.flags == [.copiedForward])
        #expect(abs((large.unchangedChance ?? 1) - pow(0.9, 66)) < 1e-12)
        #expect(small.flags.isEmpty, "65 quiet persons happen by chance more often than 1 in 1,000")
        #expect(large.score == 60 && small.score == 100)
        // The copies do not lower the rate they are judged by.
        #expect(QualityAssessment.rates(measures).any["employed"] == 0.1)
        // A ledger with one change is not a copy, whatever its size.
        let changed = assessment.assess(
            Self.measure("140403999003", employed: 500, changed: 1), rates: QualityAssessment.rates(measures),
            year: nil)
        #expect(changed.flags.isEmpty && changed.unchangedChance == nil)
    }

    @Test("Late when the first record came after the 10th of the month after, by whole days; on the 10th is on time")
    func lateness() {
        let assessment = QualityAssessment()
        let rates = QualityAssessment.rates(Self.city(plus: []))
        let onTime = assessment.assess(
            Self.measure("140403999001", employed: 5, changed: 1, reportedDay: 10), rates: rates, year: nil)
        #expect(onTime.flags.isEmpty && onTime.daysLate == 0 && onTime.firstReportedOn == "2024-04-10")
        let late = assessment.assess(
            Self.measure("140403999001", employed: 5, changed: 1, reportedDay: 13), rates: rates, year: nil)
        #expect(late.flags == [.late] && late.daysLate == 3 && late.score == 87)
    }

    @Test("No status change in twelve reported months is flagged only when unlikely at the city's slowest status rate")
    func quietYear() throws {
        let assessment = QualityAssessment()
        let year = Self.march.advanced(by: -11).through(Self.march)
        func assessYear(persons: Int, lastMonthChanges: Int = 0) throws -> VillageQuality {
            var measures: [Period: [VillageMonthMeasure]] = [:]
            for month in year {
                let village = Self.measure(
                    "140403999001", month, employed: persons, changed: persons,
                    statusChanges: month == Self.march ? lastMonthChanges : 0)
                measures[month] = Self.city(month, plus: [village])
            }
            return try #require(
                assessment.assess(period: Self.march, measures: measures).first { $0.unit == "140403999001" })
        }
        // Judged at 2% a month over the 11 months compared: 0.98^(11·31) ≈ 0.0010 (not flagged), 0.98^(11·32) ≈ 0.00082.
        #expect(try assessYear(persons: 32).flags == [.noChangeInYear])
        #expect(try assessYear(persons: 31).flags.isEmpty)
        #expect(try assessYear(persons: 32).statusChangesInYear == 0)
        let oneChange = try assessYear(persons: 500, lastMonthChanges: 1)
        #expect(oneChange.flags.isEmpty && oneChange.statusChangesInYear == 1)
        // A village that missed a month of the twelve has no year to judge.
        var gap: [Period: [VillageMonthMeasure]] = [:]
        for month in year where month != Self.march.advanced(by: -5) {
            gap[month] = Self.city(month, plus: [Self.measure("140403999001", month, employed: 500, changed: 500)])
        }
        let missing = try #require(
            assessment.assess(period: Self.march, measures: gap).first { $0.unit == "140403999001" })
        #expect(missing.statusChangesInYear == nil && missing.flags.isEmpty)
    }

    @Test(
        "Double reports, status-changing corrections and rejections are flagged, and each takes its weight off the score"
    )
    func otherSignals() {
        let assessment = QualityAssessment()
        let rates = QualityAssessment.rates(Self.city(plus: []))
        var measure = Self.measure("140403999001", employed: 20, changed: 2)
        measure.correctedPersons = 3
        measure.correctedStatuses = 2
        measure.doubleReports = [.init(otherVillage: "140403999002", persons: 1, keptHere: 0)]
        measure.rejected = ["record.invalid_signature": 3]
        let result = assessment.assess(measure, rates: rates, year: nil)
        #expect(result.flags == [.corrected, .doubleReported, .rejected])
        // 100 − (10 + 10% corrected) − 5 − 6.
        #expect(result.score == 69)
        measure.correctedStatuses = 0
        #expect(assessment.assess(measure, rates: rates, year: nil).flags == [.doubleReported, .rejected])
    }
}
