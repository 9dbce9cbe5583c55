import Domain
import Foundation

/// Runs a simulation into a folder: ledgers, activity reports, `schedule.csv` (the order agents submit
/// the files in and the day each arrives: a month's reports over days 1–10 of the next month by
/// `ReportingSchedule`, late months after the following month), `pending.csv` (the last month's ledgers not yet
/// reported on `SimulationOptions.endsOnDay`), `ground-truth.csv` (every non-zero count indicator of every
/// unit and month, computed from what was reported; absent means zero) and `faults.csv` (the data-quality faults
/// injected, by month, village and the signal that should flag each).
package enum SimulationRun {
    /// When a file arrives: the day of a month, and its place in the whole run's submission order.
    package struct Arrival: Sendable, Hashable {
        package let month: Period
        package let day: Int
        package let order: Int
    }

    /// - Parameter deliver: where each ledger and report goes, in submission order; by default a file
    ///   under `out`. `empmon simulate --publish` passes the agent's submit path instead.
    package static func run(
        topology: Topology, options: SimulationOptions, out: String, progress: (String) -> Void = { _ in },
        deliver: ((SimulatedMonth.File, Arrival) throws -> Void)? = nil
    ) throws {
        var simulation = Simulation(topology: topology, options: options)
        progress(
            "population: \(simulation.personCount) working-age residents in \(topology.count(of: .village)) villages")
        // The simulator's own pseudonyms, only to link a person's months for the ground truth.
        let pseudonymizer = Pseudonymizer(cityKey: Array("empmon simulator ground truth".utf8))
        let computation = IndicatorComputation(topology: topology)
        var personKeys: [Int: String] = [:]
        var previous: SimulatedMonth?
        var schedule: [String] = ["order,period,kind,unit,reported_on,file"]
        var deferred: [SimulatedMonth.File] = []
        var truth = "unit,period,indicator,value\n"
        var faults = "period,unit,signal,detail\n"
        let manager = FileManager.default
        try manager.createDirectory(atPath: out, withIntermediateDirectories: true)
        let write = { (file: SimulatedMonth.File) throws in
            let path = out + "/" + file.path
            try manager.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path))
        }
        var pending: [SimulatedMonth.File] = []
        /// The day of the month after `period` on which a file arrives.
        let day = { (file: SimulatedMonth.File, period: Period) in
            ReportingSchedule.day(of: file.unit, for: period, seed: options.seed)
        }
        let submit = { (file: SimulatedMonth.File, period: Period, on: (month: Period, day: Int)) throws in
            if let deliver {
                try deliver(file, Arrival(month: on.month, day: on.day, order: schedule.count))
            } else {
                try write(file)
            }
            let date = "\(on.month)-" + String(on.day).leftPadded(to: 2)
            schedule.append("\(schedule.count),\(period),\(file.kind),\(file.unit),\(date),\(file.path)")
        }
        for monthIndex in 0..<options.months {
            if monthIndex > 0 { simulation.advance() }
            var month = simulation.emitMonth(pseudonymizer: pseudonymizer, personKeys: &personKeys)
            if options.endsOnDay != nil, monthIndex >= options.months - 2 {
                // A late file of these months would arrive after the run ends (the 11th of the month after next):
                // with the clock stopped, they arrive on their own day like the others.
                month.late = []
                month.faults.removeAll { $0.signal == "late" }
            }
            if monthIndex == options.months - 1, let end = options.endsOnDay {
                // The villages still to report the last month: their files are held back, and the truth is what
                // the ledger holds without them.
                let missing = Set(month.files.filter { $0.kind == "person" && day($0, month.period) > end }.map(\.unit))
                pending = month.files.filter { $0.kind == "person" && missing.contains($0.unit) }
                month.files.removeAll { $0.kind == "person" && missing.contains($0.unit) }
                month.acceptedRecords = month.acceptedRecords.filter { !missing.contains($0.value.unit) }
                month.faults.removeAll { fault in
                    missing.contains(fault.unit) || missing.contains { fault.detail.hasSuffix($0.description) }
                }
            }
            // This month's files on time, day by day over the next month (a corrected file after its first), then
            // last month's late files: after this month's reports, past their own month's close.
            let onTime = month.files.enumerated().filter { !month.late.contains($0.element.path) }
                .sorted { (day($0.element, month.period), $0.offset) < (day($1.element, month.period), $1.offset) }
            for (_, file) in onTime {
                try submit(file, month.period, (month.period.next, day(file, month.period)))
            }
            for file in deferred {
                try submit(file, month.period.advanced(by: -1), (month.period.next, 11))
            }
            deferred = month.files.filter { month.late.contains($0.path) }
            var persons: [Period: [String: PersonStatusRecord]] = [month.period: month.acceptedRecords]
            if let previous { persons[previous.period] = previous.acceptedRecords }
            let table = computation.compute(
                persons: persons, activity: [month.period: month.activityReports], periods: [month.period])
            for (unit, counts) in (table[month.period] ?? [:]).sorted(by: { $0.key < $1.key }) {
                for (indicator, value) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where value != 0 {
                    truth += "\(unit),\(month.period),\(indicator),\(value)\n"
                }
            }
            for fault in month.faults { faults += "\(fault.period),\(fault.unit),\(fault.signal),\(fault.detail)\n" }
            let city = table[month.period]?[topology.city.code] ?? [:]
            progress(
                "\(month.period): \(month.files.count) files, labour force \(city[.labourForce] ?? 0), employed \(city[.employed] ?? 0), registered unemployed \(city[.registeredUnemployed] ?? 0)"
            )
            previous = month
        }
        if let last = previous {
            for file in deferred {
                try submit(file, last.period, (last.period.advanced(by: 2), 11))
            }
        }
        try Data((schedule.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + "/schedule.csv"))
        // Files not yet reported when the run ends (`endsOnDay`): written for a later delivery, not sent.
        var held = ["period,kind,unit,due_on,file"]
        if let last = previous {
            for file in pending {
                try write(file)
                let due = day(file, last.period)
                let dueOn = "\(last.period.next)-" + String(due).leftPadded(to: 2)
                held.append("\(last.period),\(file.kind),\(file.unit),\(dueOn),\(file.path)")
            }
        }
        try Data((held.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + "/pending.csv"))
        try Data(truth.utf8).write(to: URL(fileURLWithPath: out + "/ground-truth.csv"))
        try Data(faults.utf8).write(to: URL(fileURLWithPath: out + "/faults.csv"))
    }
}
