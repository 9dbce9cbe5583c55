import Domain
import Foundation

/// What one simulated month produces: ledger files, activity reports, submission order, and the truth.
package struct SimulatedMonth: Sendable {
    package struct File: Sendable {
        /// Path relative to the output folder.
        package let path: String
        package let unit: DivisionCode
        package let kind: String  // "person" or "activity"
        package let contents: String
    }

    package let period: Period
    package var files: [File] = []
    /// The records the agents will accept from these files (latest version per person), keyed by person key.
    package var acceptedRecords: [String: PersonStatusRecord] = [:]
    package var activityReports: [DivisionCode: UnitActivityReport] = [:]
    /// Files (by path) that arrive late: after the next month's.
    package var late: Set<String> = []
    /// The data-quality faults in this month's files, as the data-quality view should find them.
    package var faults: [InjectedFault] = []
}

/// A data-quality fault the simulator put into a village's month (`faults.csv`).
package struct InjectedFault: Sendable, Hashable {
    package let period: Period
    package let unit: DivisionCode
    /// The `QualitySignal` raw value that should flag it.
    package let signal: String
    package let detail: String
}

/// A village's ledger as sent in a month.
struct SentLedger {
    let contents: String
    let members: [Int]
    let records: [String: PersonStatusRecord]
}

extension Simulation {
    static let headers = "序号,姓名,身份证号,户编号,联系电话,就业状态,就业形式,就业地点,行业,登记失业,人员类别,求职,帮扶,培训,收入档次"

    /// Writes the current month: one ledger per village (plus corrections), one activity report per
    /// township and county, with the records the pipeline will accept.
    package mutating func emitMonth(pseudonymizer: Pseudonymizer, personKeys: inout [Int: String]) -> SimulatedMonth {
        var month = SimulatedMonth(period: period)
        var byVillage: [Int: [Int]] = [:]
        for person in persons where person.present { byVillage[person.village, default: []].append(person.index) }
        var copied: Set<Int> = []
        var villageFiles: [Int: Int] = [:]
        var villageRecords: [Int: [String: PersonStatusRecord]] = [:]
        for (villageIndex, village) in villages.enumerated() {
            guard let members = byVillage[villageIndex] else { continue }
            let base = "ledgers/\(period)/\(village.code)"
            // Draws for faults only when asked for: the city of a seed stays the same without them.
            if options.copyForwardShare > 0, let last = lastLedgers[villageIndex], last.members == members,
                generator.chance(options.copyForwardShare)
            {
                copied.insert(villageIndex)
                villageFiles[villageIndex] = month.files.count
                month.files.append(
                    .init(path: base + ".csv", unit: village.code, kind: "person", contents: last.contents))
                var records: [String: PersonStatusRecord] = [:]
                for (key, record) in last.records {
                    var copy = record
                    copy.period = period
                    month.acceptedRecords[key] = copy
                    records[key] = copy
                }
                villageRecords[villageIndex] = records
                lastLedgers[villageIndex] = SentLedger(contents: last.contents, members: members, records: records)
                month.faults.append(
                    InjectedFault(
                        period: period, unit: village.code, signal: "copied_forward",
                        detail: "\(members.count) persons as in \(period.previous)"))
                if generator.chance(options.lateShare) { month.late.insert(base + ".csv") }
                continue
            }
            let corrected = generator.chance(options.correctionShare)
            var records: [String: PersonStatusRecord] = [:]
            var firstVersion: [String] = [Self.headers]
            var finalVersion: [String] = [Self.headers]
            for (row, index) in members.enumerated() {
                let person = persons[index]
                var broken = generator.chance(options.malformedShare)
                let good = line(row + 1, person)
                var written = good
                if broken {
                    written = brokenLine(row + 1, person)
                } else {
                    let key = personKeys[index] ?? (try? ResidentID(person.idNumber)).map(pseudonymizer.personKey(for:))
                    personKeys[index] = key
                    if let key, let record = record(person, key: key, unit: village.code, pseudonymizer: pseudonymizer)
                    {
                        month.acceptedRecords[key] = record
                        records[key] = record
                    } else {
                        broken = true
                    }
                }
                finalVersion.append(written)
                // A first version with mistakes the clerk corrects later in the month.
                firstVersion.append(
                    corrected && !broken && generator.chance(0.1) ? flippedLine(row + 1, person) : written)
            }
            let finalContents = finalVersion.joined(separator: "\n") + "\n"
            // Kept only for copies: a month of the city's ledgers is a quarter of a gigabyte of text.
            if options.copyForwardShare > 0 {
                lastLedgers[villageIndex] = SentLedger(contents: finalContents, members: members, records: records)
            }
            if options.doubleReportShare > 0 { villageRecords[villageIndex] = records }
            if corrected {
                month.files.append(
                    .init(
                        path: base + ".csv", unit: village.code, kind: "person",
                        contents: firstVersion.joined(separator: "\n") + "\n"))
                month.files.append(
                    .init(path: base + ".v2.csv", unit: village.code, kind: "person", contents: finalContents))
            } else {
                villageFiles[villageIndex] = month.files.count
                month.files.append(
                    .init(path: base + ".csv", unit: village.code, kind: "person", contents: finalContents))
            }
            if generator.chance(options.lateShare) {
                month.late.insert(base + ".csv")
                if corrected { month.late.insert(base + ".v2.csv") }
            }
        }
        for file in month.files where month.late.contains(file.path) && file.kind == "person" {
            guard !file.path.hasSuffix(".v2.csv") else { continue }
            month.faults.append(
                InjectedFault(period: period, unit: file.unit, signal: "late", detail: "sent after \(period.next)"))
        }
        if options.doubleReportShare > 0 {
            injectDoubleReports(
                into: &month, files: villageFiles, records: villageRecords, byVillage: byVillage, skip: copied,
                pseudonymizer: pseudonymizer)
        }
        for station in topology.allDivisions
        where (station.tier == .township || station.tier == .county) && options.includes(station.code) {
            let counters = activityCounters(for: station)
            let lines =
                ["指标,数值"]
                + counters.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue),\($0.value)" }
            month.files.append(
                .init(
                    path: "activity/\(period)/\(station.code).csv", unit: station.code, kind: "activity",
                    contents: lines.joined(separator: "\n") + "\n"))
            month.activityReports[station.code] = UnitActivityReport(
                recordID: RecordID.random(using: &generator), unit: station.code, period: period, counters: counters,
                reportedAtMilliseconds: 0, agentID: "simulator")
        }
        return month
    }

    /// Adds to some villages' ledgers a resident of another village of their township. Only villages with one
    /// on-time file take part, each in one pair a month, so the later file (by `ReportingSchedule`, then by
    /// position) is the one the ledger keeps, and no other fault hides the pair.
    private mutating func injectDoubleReports(
        into month: inout SimulatedMonth, files: [Int: Int], records: [Int: [String: PersonStatusRecord]],
        byVillage: [Int: [Int]], skip: Set<Int>, pseudonymizer: Pseudonymizer
    ) {
        let lateUnits = Set(month.files.filter { month.late.contains($0.path) }.map(\.unit))
        let eligible = Set(
            files.keys.filter { !skip.contains($0) && !lateUnits.contains(villages[$0].code) && records[$0] != nil })
        var paired: Set<Int> = []
        for reporter in eligible.sorted() where !paired.contains(reporter) {
            guard generator.chance(options.doubleReportShare) else { continue }
            let township = villages[reporter].code.ancestor(at: .township)
            let partners = eligible.sorted().filter { other in
                other != reporter && !paired.contains(other)
                    && villages[other].code.ancestor(at: .township) == township && !(records[other] ?? [:]).isEmpty
            }
            guard let home = partners.randomElement(using: &generator),
                let members = byVillage[home], let fileIndex = files[reporter], let homeFile = files[home]
            else { continue }
            let candidates = members.filter { index in
                personKeyOf(index, in: records[home] ?? [:], pseudonymizer: pseudonymizer) != nil
            }
            guard let index = candidates.randomElement(using: &generator),
                let key = personKeyOf(index, in: records[home] ?? [:], pseudonymizer: pseudonymizer)
            else { continue }
            paired.formUnion([reporter, home])
            let person = persons[index]
            let file = month.files[fileIndex]
            let rows = file.contents.split(separator: "\n").count
            month.files[fileIndex] = .init(
                path: file.path, unit: file.unit, kind: file.kind, contents: file.contents + line(rows, person) + "\n")
            let reporterDay = ReportingSchedule.day(of: villages[reporter].code, for: period, seed: options.seed)
            let homeDay = ReportingSchedule.day(of: villages[home].code, for: period, seed: options.seed)
            if (reporterDay, fileIndex) > (homeDay, homeFile),
                let record = record(person, key: key, unit: villages[reporter].code, pseudonymizer: pseudonymizer)
            {
                month.acceptedRecords[key] = record
            }
            let reporterCode = villages[reporter].code
            let homeCode = villages[home].code
            month.faults.append(
                InjectedFault(period: period, unit: reporterCode, signal: "double_reported", detail: "with \(homeCode)")
            )
            month.faults.append(
                InjectedFault(period: period, unit: homeCode, signal: "double_reported", detail: "with \(reporterCode)")
            )
        }
    }

    /// The person key of resident `index` when the village's accepted records hold it (the line was not broken).
    private func personKeyOf(_ index: Int, in records: [String: PersonStatusRecord], pseudonymizer: Pseudonymizer)
        -> String?
    {
        guard let id = try? ResidentID(persons[index].idNumber) else { return nil }
        let key = pseudonymizer.personKey(for: id)
        return records[key] != nil ? key : nil
    }

    /// Station counters sized so that at scale 1 the city's year lands near the plan's targets; small
    /// scales round stochastically, so sums stay right on average.
    private mutating func activityCounters(for station: Division) -> [UnitActivityReport.Counter: Int64] {
        let weight = station.tier == .county ? 4.0 : 1.0
        let spring = [2, 3].contains(period.month) ? 1.8 : 0.84  // 春风行动 recruitment season; averages 1 over the year
        func amount(_ perStationMonth: Double) -> Int64 {
            let expected =
                perStationMonth * weight * spring * options.scale * Double.random(in: 0.6...1.4, using: &generator)
            let whole = expected.rounded(.down)
            return Int64(whole) + (generator.chance(expected - whole) ? 1 : 0)
        }
        return [
            .jobsCollected: amount(85), .recruitmentEvents: amount(0.085), .internshipPosts: amount(4.2),
            .gigMarketServices: amount(21), .entrepreneurshipTrainees: amount(1.7),
            .jobsCreatedByEntrepreneurship: amount(1.27),
            .trainingCompletions: amount(17), .labourDisputesHandled: amount(0.5), .wageArrearsCases: amount(0.2),
        ]
    }

    private func record(_ person: SimPerson, key: String, unit: DivisionCode, pseudonymizer: Pseudonymizer)
        -> PersonStatusRecord?
    {
        guard let household = try? pseudonymizer.householdKey(for: person.household),
            let id = try? ResidentID(person.idNumber)
        else { return nil }
        return PersonStatusRecord(
            recordID: RecordID(String(repeating: "0", count: 8) + "-0000-4000-8000-000000000000")!, unit: unit,
            period: period,
            personKey: key, householdKey: household, birthYear: id.birthYear, sex: id.sex, status: person.status,
            employmentForm: person.form, workLocation: person.location, sector: person.sector,
            registeredUnemployed: person.registered, groups: person.groups, seekingWork: person.status == .unemployed,
            assisted: person.assisted, trained: person.trained, incomeBand: person.income, reportedAtMilliseconds: 0,
            agentID: "simulator")
    }

    private func line(_ row: Int, _ person: SimPerson, status: EmploymentStatus? = nil) -> String {
        let status = status ?? person.status
        let employed = status == .employed
        let cells: [String] = [
            String(row), "居民\(person.index)", person.idNumber, person.household,
            "1390000\(String(person.index % 10000))",
            Self.statusText[status] ?? "", employed ? Self.formText[person.form ?? .employee] ?? "" : "",
            employed ? Self.locationText[person.location ?? .local] ?? "" : "",
            employed ? (person.sector ?? .c).rawValue : "",
            person.registered && !employed ? "是" : "否",
            person.groups.sorted().compactMap { Self.groupText[$0] }.joined(separator: "、"),
            status == .unemployed ? "是" : "否", person.assisted ? "是" : "否", person.trained ? "是" : "否",
            employed ? Self.incomeText[person.income ?? .from2000To3999] ?? "" : "",
        ]
        return cells.joined(separator: ",")
    }

    /// The person as the clerk first (wrongly) wrote them: the opposite of their real status.
    private func flippedLine(_ row: Int, _ person: SimPerson) -> String {
        switch person.status {
        case .employed:
            line(
                row,
                SimPerson(
                    index: person.index, idNumber: person.idNumber, household: person.household,
                    village: person.village,
                    birthYear: person.birthYear, groups: person.groups, status: .unemployed, registered: false))
        default: line(row, person, status: .employed)
        }
    }

    private func brokenLine(_ row: Int, _ person: SimPerson) -> String {
        var id = person.idNumber
        let last = id.removeLast()
        id.append(last == "1" ? "2" : "1")
        return line(row, person).replacingFirst(person.idNumber, with: id)
    }

    static let statusText: [EmploymentStatus: String] = [
        .employed: "就业", .unemployed: "失业", .notInLabourForce: "未在劳动力中",
    ]
    static let formText: [EmploymentForm: String] = [
        .employee: "单位就业", .flexible: "灵活就业", .selfEmployed: "自主创业", .publicWelfarePost: "公益性岗位",
    ]
    static let locationText: [WorkLocation: String] = [.local: "本地", .inProvince: "省内", .outOfProvince: "省外"]
    static let groupText: [PersonGroup: String] = [
        .collegeGraduate: "高校毕业生", .ruralLabour: "农村劳动力", .hardToEmploy: "就业困难人员", .povertyAlleviated: "脱贫人口",
        .disabled: "残疾人", .veteran: "退役军人",
    ]
    static let incomeText: [IncomeBand: String] = [
        .below2000: "2000以下", .from2000To3999: "2000-3999", .from4000To5999: "4000-5999", .from6000To7999: "6000-7999",
        .atLeast8000: "8000以上",
    ]
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
