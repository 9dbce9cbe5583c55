import Domain
import Foundation

/// Runs a simulation into a folder: ledgers, activity reports, `schedule.csv` (the order agents submit
/// the files in, late months after the following month) and `ground-truth.csv` (every non-zero count
/// indicator of every unit and month, computed from the simulator's own state; absent means zero).
public enum SimulationRun {
    /// - Parameter deliver: where each ledger and report goes, in submission order; by default a file
    ///   under `out`. `empmon simulate --publish` passes the agent's submit path instead.
    public static func run(
        topology: Topology, options: SimulationOptions, out: String, progress: (String) -> Void = { _ in },
        deliver: ((SimulatedMonth.File) throws -> Void)? = nil
    ) throws {
        var simulation = Simulation(topology: topology, options: options)
        progress("population: \(simulation.personCount) working-age residents in \(topology.count(of: .village)) villages")
        // The simulator's own pseudonyms, only to link a person's months for the ground truth.
        let pseudonymizer = Pseudonymizer(cityKey: Array("empmon simulator ground truth".utf8))
        let computation = IndicatorComputation(topology: topology)
        var personKeys: [Int: String] = [:]
        var previous: SimulatedMonth?
        var schedule: [String] = ["order,period,kind,unit,file"]
        var deferred: [SimulatedMonth.File] = []
        var truth = "unit,period,indicator,value\n"
        let manager = FileManager.default
        try manager.createDirectory(atPath: out, withIntermediateDirectories: true)
        let write = { (file: SimulatedMonth.File) throws in
            let path = out + "/" + file.path
            try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path))
        }
        var pendingDraw = SeededGenerator(seed: options.seed &+ 0x7065_6E64)
        var pending: [SimulatedMonth.File] = []
        for monthIndex in 0..<options.months {
            if monthIndex > 0 { simulation.advance() }
            var month = simulation.emitMonth(pseudonymizer: pseudonymizer, personKeys: &personKeys)
            if monthIndex == options.months - 1, options.pendingShare > 0 {
                // The villages still to report the last month: their files are held back, and the truth is what
                // the ledger holds without them.
                let villages = Set(month.files.filter { $0.kind == "person" }.map(\.unit)).sorted()
                let missing = Set(villages.filter { _ in Double.random(in: 0..<1, using: &pendingDraw) < options.pendingShare })
                pending = month.files.filter { $0.kind == "person" && missing.contains($0.unit) }
                month.files.removeAll { $0.kind == "person" && missing.contains($0.unit) }
                month.acceptedRecords = month.acceptedRecords.filter { !missing.contains($0.value.unit) }
            }
            let onTime = month.files.filter { !month.late.contains($0.path) }
            for file in onTime + deferred {
                try (deliver ?? write)(file)
                schedule.append("\(schedule.count),\(file.path.split(separator: "/")[1]),\(file.kind),\(file.unit),\(file.path)")
            }
            deferred = month.files.filter { month.late.contains($0.path) }
            var persons: [Period: [String: PersonStatusRecord]] = [month.period: month.acceptedRecords]
            if let previous { persons[previous.period] = previous.acceptedRecords }
            let table = computation.compute(persons: persons, activity: [month.period: month.activityReports], periods: [month.period])
            for (unit, counts) in (table[month.period] ?? [:]).sorted(by: { $0.key < $1.key }) {
                for (indicator, value) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where value != 0 {
                    truth += "\(unit),\(month.period),\(indicator),\(value)\n"
                }
            }
            let city = table[month.period]?[topology.city.code] ?? [:]
            progress("\(month.period): \(month.files.count) files, labour force \(city["labour_force"] ?? 0), employed \(city["employed"] ?? 0), registered unemployed \(city["registered_unemployed"] ?? 0)")
            previous = month
        }
        for file in deferred {
            try (deliver ?? write)(file)
            schedule.append("\(schedule.count),\(file.path.split(separator: "/")[1]),\(file.kind),\(file.unit),\(file.path)")
        }
        try Data((schedule.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + "/schedule.csv"))
        // Files not yet reported when the run ends (`pendingShare`): written for a later delivery, not sent.
        var held = ["period,kind,unit,file"]
        for file in pending {
            try write(file)
            held.append("\(file.path.split(separator: "/")[1]),\(file.kind),\(file.unit),\(file.path)")
        }
        try Data((held.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + "/pending.csv"))
        try Data(truth.utf8).write(to: URL(fileURLWithPath: out + "/ground-truth.csv"))
    }
}
