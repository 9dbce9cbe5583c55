import Domain
import Foundation
import Ledger
import Simulator
import TestSupport
import Testing
import TopologyFiles

@Suite("The simulator")
struct SimulatorTests {
    static func options(seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions()
        options.months = 3
        options.scale = 0.0005
        options.seed = seed
        options.start = Period("2024-06")!
        options.malformedShare = 0.02
        options.lateShare = 0.05
        options.correctionShare = 0.05
        return options
    }

    static func run(seed: UInt64) throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-sim-\(UUID().uuidString.prefix(8))"
        ).path
        try SimulationRun.run(topology: Fixtures.topology, options: options(seed: seed), out: out)
        return out
    }

    static func contents(of folder: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files[path] = FileManager.default.contents(atPath: folder + "/" + path)
            }
        }
        return files
    }

    @Test("The same seed gives the same files; another seed does not")
    func deterministic() throws {
        let first = try Self.run(seed: 42)
        let second = try Self.run(seed: 42)
        let third = try Self.run(seed: 43)
        defer { for folder in [first, second, third] { try? FileManager.default.removeItem(atPath: folder) } }
        let a = try Self.contents(of: first)
        let b = try Self.contents(of: second)
        let c = try Self.contents(of: third)
        #expect(a.count > 3 * 2628)
        #expect(a == b)
        #expect(a["ground-truth.csv"] != c["ground-truth.csv"])
    }

    @Test("The ground truth equals the indicators recomputed from the files, read as an agent reads them")
    func groundTruthMatchesFiles() throws {
        let out = try Self.run(seed: 7)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let builder = { (unit: DivisionCode, period: Period) in
            SubmissionBuilder(
                unit: unit, period: period, agentID: "check",
                pseudonymizer: Pseudonymizer(cityKey: Array("any key".utf8)),
                signer: .hmac(RecordSigner(secret: [1])),
                validator: RecordValidator(topology: Fixtures.topology, latestPeriod: Period("2099-12")!))
        }
        var persons: [Period: [String: PersonStatusRecord]] = [:]
        var activity: [Period: [DivisionCode: UnitActivityReport]] = [:]
        var rejectedRows = 0
        let schedule = try String(contentsOfFile: out + "/schedule.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst()
        var lateSeen = false
        var lastPeriod = Period.earliest
        var lastArrival = ""
        var arrivalDays: Set<String> = []
        for line in schedule {
            let fields = line.split(separator: ",").map(String.init)
            let (period, kind, unit, arrival, path) = (
                Period(fields[1])!, fields[2], DivisionCode(fields[3])!, fields[4], fields[5]
            )
            if period < lastPeriod { lateSeen = true }
            lastPeriod = max(lastPeriod, period)
            // Files go out in the order they arrive: over the days of the following month, late ones after.
            #expect(
                arrival >= lastArrival, "\(path) arrives on \(arrival), before the file ahead of it (\(lastArrival))")
            #expect(
                arrival.hasPrefix(period.next.description) || arrival.hasPrefix(period.advanced(by: 2).description),
                "\(path) arrives on \(arrival)")
            lastArrival = arrival
            if arrival.hasPrefix(period.next.description) { arrivalDays.insert(String(arrival.suffix(2))) }
            let bytes = Array(FileManager.default.contents(atPath: out + "/" + path) ?? Data())
            if kind == "activity" {
                let ledger = try ActivityLedger.read(bytes, format: .csv)
                #expect(ledger.errors.isEmpty)
                activity[period, default: [:]][unit] = UnitActivityReport(
                    recordID: .random(), unit: unit, period: period, counters: ledger.counters,
                    reportedAtMilliseconds: 0, agentID: "check")
            } else {
                let built = builder(unit, period).build(
                    try PersonLedger.read(bytes, format: .csv), reportedAtMilliseconds: 0)
                rejectedRows += Set(built.errors.map(\.line)).count
                for (_, record) in built.records { persons[period, default: [:]][record.personKey] = record }
            }
        }
        #expect(rejectedRows > 0, "malformed rows were written and refused")
        #expect(lateSeen, "some months arrive late")
        #expect(
            arrivalDays == Set((1...10).map { $0 < 10 ? "0\($0)" : "\($0)" }),
            "on-time reports arrive on every day up to the 10th")
        let periods = Period("2024-06")!.through(Period("2024-08")!)
        let table = IndicatorComputation(topology: Fixtures.topology).compute(
            persons: persons, activity: activity, periods: periods)
        var recomputed: [String: Int64] = [:]
        for (period, units) in table {
            for (unit, counts) in units {
                for (id, value) in counts where value != 0 { recomputed["\(unit),\(period),\(id)"] = value }
            }
        }
        var truth: [String: Int64] = [:]
        for line in try String(contentsOfFile: out + "/ground-truth.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst()
        {
            let parts = line.split(separator: ",")
            truth[parts[0...2].joined(separator: ",")] = Int64(parts[3])
        }
        #expect(truth.count > 10_000)
        let differences = Set(truth.keys).union(recomputed.keys).filter { truth[$0] != recomputed[$0] }
        #expect(
            differences.isEmpty,
            "\(differences.count) differ, e.g. \(differences.sorted().prefix(5).map { "\($0): truth \(truth[$0] ?? 0), files \(recomputed[$0] ?? 0)" })"
        )
        let city = "140400000000,2024-07,"
        #expect((truth[city + "employed"] ?? 0) > 0 && (truth[city + "jobs_collected"] ?? 0) > 0)
    }

    /// The demo's year must look like the plan's city (issue 15): the same check as `empmon simulate --calibration`.
    @Test("A simulated year at scale 0.01 lands every judged figure within its band of the 2024 plan")
    func simulatedYearLandsNearThePlan() throws {
        var options = SimulationOptions()
        options.scale = 0.01
        options.seed = 1
        let targets = try TopologyFiles(directory: Fixtures.topologyDirectory).loadTargets().targets
        let calibration = SimulationCalibration.measure(topology: Fixtures.topology, options: options, targets: targets)
        let judged = calibration.rows.filter { $0.withinBand != nil }.map(\.indicator)
        for required: IndicatorID in [
            .newUrbanEmployment, .reemployed, .ruralLabourEmployed, .graduateEmploymentRate,
            .assistanceRate,
            .urbanRegisteredUnemploymentRate, .labourForce,
        ] {
            #expect(judged.contains(required), "\(required) is judged at scale 0.01")
        }
        for row in calibration.failures {
            Issue.record("\(row.indicator): simulated \(row.simulated), band \(row.band.map { "\($0)" } ?? "-")")
        }
    }

    /// A run that ends before the 10th leaves its last month preliminary: the villages whose day has not come are
    /// held back (pending.csv), and every village that did report arrived on or before that day.
    @Test("A run ending on the 5th holds back exactly the villages that report after the 5th")
    func aRunEndingEarlyHoldsBackLateVillages() throws {
        var options = Self.options(seed: 11)
        options.months = 2
        options.lateShare = 0
        options.endsOnDay = 5
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-sim-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try SimulationRun.run(topology: Fixtures.topology, options: options, out: out)
        let last = Period("2024-07")!
        func rows(_ file: String) throws -> [[String]] {
            try String(contentsOfFile: out + "/" + file, encoding: .utf8).split(separator: "\n").dropFirst().map {
                $0.split(separator: ",").map(String.init)
            }
        }
        let reported = try rows("schedule.csv").filter { $0[1] == last.description && $0[2] == "person" }
        let held = try rows("pending.csv")
        #expect(!reported.isEmpty && !held.isEmpty)
        for row in reported { #expect(row[4] <= "2024-08-05", "\(row[5]) was sent, arriving on \(row[4])") }
        for row in held {
            #expect(row[0] == last.description && row[3] > "2024-08-05", "\(row[4]) is held back, due on \(row[3])")
            #expect(
                FileManager.default.fileExists(atPath: out + "/" + row[4]),
                "the held-back ledger is written for a later delivery")
        }
        let reportedVillages = Set(reported.map { $0[3] })
        let heldVillages = Set(held.map { $0[2] })
        #expect(reportedVillages.isDisjoint(with: heldVillages))
        let share = Double(heldVillages.count) / Double(reportedVillages.count + heldVillages.count)
        #expect(
            (0.3...0.7).contains(share),
            "\(heldVillages.count) of \(reportedVillages.count + heldVillages.count) villages held back")
        // Between them, the villages of the complete first month (a few may have emptied or filled since).
        let first = Set(try rows("schedule.csv").filter { $0[1] == "2024-06" && $0[2] == "person" }.map { $0[3] })
        #expect(first.symmetricDifference(reportedVillages.union(heldVillages)).count <= first.count / 50)
    }

    /// `--counties` simulates the chosen counties at their own size: the same villages, residents and labour force as
    /// in the whole city (same seed and scale), not the city's whole population packed into them.
    @Test("A county simulated alone has the labour force it has in the whole city, within 1%")
    func aCountyAloneKeepsItsSize() throws {
        let county = DivisionCode("140406000000")!
        func labourForce(counties: Set<DivisionCode>) -> Int {
            var options = SimulationOptions()
            options.scale = 0.005
            options.seed = 5
            options.counties = counties
            var simulation = Simulation(topology: Fixtures.topology, options: options)
            var keys: [Int: String] = [:]
            let month = simulation.emitMonth(
                pseudonymizer: Pseudonymizer(cityKey: Array("size".utf8)), personKeys: &keys)
            return month.acceptedRecords.values.filter {
                $0.unit.isInSubtree(of: county) && $0.status != .notInLabourForce
            }.count
        }
        let alone = labourForce(counties: [county])
        let inTheCity = labourForce(counties: [])
        #expect(inTheCity > 500)
        #expect(
            abs(Double(alone - inTheCity)) <= 0.01 * Double(inTheCity), "alone \(alone), in the whole city \(inTheCity)"
        )
    }
}
