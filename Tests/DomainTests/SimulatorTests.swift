import Domain
import Foundation
import Ledger
import Simulator
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
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-sim-\(UUID().uuidString.prefix(8))").path
        try SimulationRun.run(topology: Fixtures.topology, options: options(seed: seed), out: out)
        return out
    }

    static func contents(of folder: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = FileManager.default.contents(atPath: folder + "/" + path)
            }
        }
        return files
    }

    @Test("The same seed gives the same files; another seed does not")
    func deterministic() throws {
        let first = try Self.run(seed: 42), second = try Self.run(seed: 42), third = try Self.run(seed: 43)
        defer { [first, second, third].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        let a = try Self.contents(of: first), b = try Self.contents(of: second), c = try Self.contents(of: third)
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
                unit: unit, period: period, agentID: "check", pseudonymizer: Pseudonymizer(cityKey: Array("any key".utf8)),
                signer: RecordSigner(secret: [1]), validator: RecordValidator(topology: Fixtures.topology, latestPeriod: Period("2099-12")!))
        }
        var persons: [Period: [String: PersonStatusRecord]] = [:]
        var activity: [Period: [DivisionCode: UnitActivityReport]] = [:]
        var rejectedRows = 0
        let schedule = try String(contentsOfFile: out + "/schedule.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        var lateSeen = false
        var lastPeriod = Period.earliest
        for line in schedule {
            let fields = line.split(separator: ",").map(String.init)
            let (period, kind, unit, path) = (Period(fields[1])!, fields[2], DivisionCode(fields[3])!, fields[4])
            if period < lastPeriod { lateSeen = true }
            lastPeriod = max(lastPeriod, period)
            let bytes = Array(FileManager.default.contents(atPath: out + "/" + path) ?? Data())
            if kind == "activity" {
                let ledger = try ActivityLedger.read(bytes, format: .csv)
                #expect(ledger.errors.isEmpty)
                activity[period, default: [:]][unit] = UnitActivityReport(
                    recordID: .random(), unit: unit, period: period, counters: ledger.counters, reportedAtMilliseconds: 0, agentID: "check")
            } else {
                let built = builder(unit, period).build(try PersonLedger.read(bytes, format: .csv), reportedAtMilliseconds: 0)
                rejectedRows += Set(built.errors.map(\.line)).count
                for (_, record) in built.records { persons[period, default: [:]][record.personKey] = record }
            }
        }
        #expect(rejectedRows > 0, "malformed rows were written and refused")
        #expect(lateSeen, "some months arrive late")
        let periods = Period("2024-06")!.through(Period("2024-08")!)
        let table = IndicatorComputation(topology: Fixtures.topology).compute(persons: persons, activity: activity, periods: periods)
        var recomputed: [String: Int64] = [:]
        for (period, units) in table {
            for (unit, counts) in units { for (id, value) in counts where value != 0 { recomputed["\(unit),\(period),\(id)"] = value } }
        }
        var truth: [String: Int64] = [:]
        for line in try String(contentsOfFile: out + "/ground-truth.csv", encoding: .utf8).split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",")
            truth[parts[0...2].joined(separator: ",")] = Int64(parts[3])
        }
        #expect(truth.count > 10_000)
        let differences = Set(truth.keys).union(recomputed.keys).filter { truth[$0] != recomputed[$0] }
        #expect(differences.isEmpty, "\(differences.count) differ, e.g. \(differences.sorted().prefix(5).map { "\($0): truth \(truth[$0] ?? 0), files \(recomputed[$0] ?? 0)" })")
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
        for required in ["new_urban_employment", "reemployed", "rural_labour_employed", "graduate_employment_rate", "assistance_rate",
            "urban_registered_unemployment_rate", "labour_force"] {
            #expect(judged.contains(required), "\(required) is judged at scale 0.01")
        }
        for row in calibration.failures {
            Issue.record("\(row.indicator): simulated \(row.simulated), band \(row.band.map { "\($0)" } ?? "-")")
        }
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
            let month = simulation.emitMonth(pseudonymizer: Pseudonymizer(cityKey: Array("size".utf8)), personKeys: &keys)
            return month.acceptedRecords.values.filter { $0.unit.isInSubtree(of: county) && $0.status != .notInLabourForce }.count
        }
        let alone = labourForce(counties: [county])
        let inTheCity = labourForce(counties: [])
        #expect(inTheCity > 500)
        #expect(abs(Double(alone - inTheCity)) <= 0.01 * Double(inTheCity), "alone \(alone), in the whole city \(inTheCity)")
    }
}
