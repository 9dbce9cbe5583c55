import Agent
import ArgumentParser
import CommandEdge
import Domain
import Foundation
import Harness
import Ledger
import Logging
import Simulator
import TopologyFiles

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Simulate Changzhi's labour force month by month: ledgers per village, activity reports, ground truth.")

    @Option(help: "Months to simulate.") var months = 12
    @Option(help: "1.0 ≈ the city's ~1.7 million labour force.") var scale = 0.001
    @Option(help: "Random seed; the same seed gives the same files.") var seed: UInt64 = 1
    @Option(help: "First month, YYYY-MM.") var start = "2024-01"
    @Option(help: "Share of rows written broken, as clerks sometimes do.") var malformed = 0.0
    @Option(help: "Share of village-months submitted after the following month.") var late = 0.0
    @Option(help: "Share of village-months corrected by a second file.") var corrections = 0.0
    @Option(help: "Fault: share of village-months whose clerk sends the month before's ledger again unchanged.")
    var copyForward = 0.0
    @Option(help: "Fault: share of village-months that also list a resident of a neighbouring village.")
    var doubleReport = 0.0
    @Option(
        help: """
            The day (1-31) of the month after the last on which the run ends. Reports arrive over days 1-10; the \
            last month's villages whose day is later have not reported (a preliminary month): their ledgers go to the \
            output folder and pending.csv, not to the agents. Default: every report has arrived.
            """)
    var endsOnDay: Int?
    @Option(help: "Only these counties (12-digit codes, comma-separated); default: the whole city.") var counties:
        String?
    @Option(help: "Output folder (ground truth and schedule; with --publish, no ledgers are written).") var out: String?
    @Flag(
        help:
            "Write nothing: print the simulated year against the plan's targets, and fail if a row is outside its band."
    )
    var calibration = false
    @Flag(help: "Send every ledger and report through the agent code path instead of writing files.") var publish =
        false
    @Option(
        help:
            "With --publish: the home of an agent enrolled for the city (140400000000), set up with `empmon agent init`."
    )
    var agentHome: String?
    @Flag(
        help: """
            With --publish: stamp each ledger with the day the schedule delivers it (09:00 China time, in submission             order), as if the months were reported then, instead of the time it is sent. Timeliness reads the stamps.
            """)
    var stampSchedule = false

    func run() async throws {
        guard let first = Period(start) else { throw ValidationError("--start must be YYYY-MM") }
        guard months >= 1, months <= 120 else { throw ValidationError("--months must be 1 to 120") }
        guard scale > 0, scale <= 2 else { throw ValidationError("--scale must be above 0 and at most 2") }
        for (name, share) in [
            ("--malformed", malformed), ("--late", late), ("--corrections", corrections),
            ("--copy-forward", copyForward), ("--double-report", doubleReport),
        ]
        where !(0...1).contains(share) {
            throw ValidationError("\(name) is a share from 0 to 1")
        }
        var options = SimulationOptions()
        options.months = months
        options.scale = scale
        options.seed = seed
        options.start = first
        options.malformedShare = malformed
        options.lateShare = late
        options.correctionShare = corrections
        options.copyForwardShare = copyForward
        options.doubleReportShare = doubleReport
        if let endsOnDay, !(1...31).contains(endsOnDay) {
            throw ValidationError("--ends-on-day must be a day of the month, 1 to 31")
        }
        options.endsOnDay = endsOnDay
        let topology = try Edge.topologyFiles().loadTopology()
        for text in (counties ?? "").split(separator: ",") {
            guard let code = DivisionCode(text.trimmingCharacters(in: .whitespaces)), code.tier == .county,
                topology.contains(code)
            else {
                throw ValidationError("--counties: '\(text)' is not a county of \(topology.city.name)")
            }
            options.counties.insert(code)
        }
        if calibration {
            try printCalibration(topology: topology, options: options)
            return
        }
        guard let out else { throw ValidationError("--out is required (or --calibration)") }
        guard publish else {
            try SimulationRun.run(topology: topology, options: options, out: out) { print($0) }
            print("wrote \(out)/ledgers, \(out)/activity, \(out)/schedule.csv, \(out)/ground-truth.csv")
            return
        }
        let workspace = try AgentWorkspace(home: Edge.agentHome(agentHome), durable: false)
        guard workspace.credentials.unit == topology.city.code else {
            throw ValidationError(
                "--publish needs an agent enrolled for the city \(topology.city.code), not \(workspace.credentials.unit)"
            )
        }
        var logger = Logger(label: "empmon.simulate")
        logger.logLevel = .critical
        var spooled = 0
        var rejected = 0
        // Everything is spooled first (in submission order, late months late), then delivered in one flush.
        try SimulationRun.run(
            topology: topology, options: options, out: out, progress: { print($0) },
            deliver: { file, arrival in
                let stamp = stampSchedule ? Self.milliseconds(of: arrival) : nil
                let report = try submitSimulated(file, through: workspace, topology: topology, reportedAt: stamp)
                spooled += report.spooled
                rejected += Set(report.errors.map(\.line)).count
            })
        try workspace.spool.sync()
        print("spooled \(spooled) records through the agent (\(rejected) rows refused); delivering …")
        let (pending, outcome) = try await workspace.flush(
            timeout: .seconds(120), now: currentPeriod(), security: try Edge.kafkaSecurity(), logger: logger)
        print(
            "delivered \(outcome.delivered) of \(pending)"
                + (outcome.failed > 0 ? "; \(outcome.failed) still pending — run `empmon agent flush`" : ""))
        print("wrote \(out)/schedule.csv, \(out)/ground-truth.csv")
        if outcome.failed > 0 { throw ExitCode(2) }
    }

    /// 09:00 China time on the arrival's day, plus a millisecond for each file before it: later files stay later.
    static func milliseconds(of arrival: SimulationRun.Arrival) -> Int64 {
        let morning = ChinaTime.calendar.date(
            from: DateComponents(year: arrival.month.year, month: arrival.month.month, day: arrival.day, hour: 9))
        return Int64((morning?.timeIntervalSince1970 ?? 0) * 1000) + Int64(arrival.order)
    }

    func printCalibration(topology: Topology, options: SimulationOptions) throws {
        let targets = try Edge.topologyFiles().loadTargets().targets
        let result = SimulationCalibration.measure(topology: topology, options: options, targets: targets)
        let scope =
            options.counties.isEmpty
            ? "the whole city" : "counties \(options.counties.sorted().map(\.description).joined(separator: ","))"
        print(
            "Simulated \(options.months) months from \(options.start), scale \(options.scale), seed \(options.seed), \(scope)"
        )
        print("(flows summed over the months, stocks and rates in the last; counts judged at target × scale ± 15%)")
        func show(_ value: Double, _ measure: SimulationCalibration.Measure) -> String {
            measure == .rate ? String(format: "%.1f%%", value * 100) : String(format: "%.0f", value)
        }
        var table: [[String]] = [
            ["indicator", "name", "measure", "simulated", "target × scale", "band", "ratio", "verdict"]
        ]
        for row in result.rows {
            let band = row.band.map { "\(show($0.lowerBound, row.measure))–\(show($0.upperBound, row.measure))" } ?? "—"
            let ratio =
                row.target.flatMap { $0 > 0 && row.measure != .rate ? String(format: "%.2f", row.simulated / $0) : nil }
                ?? ""
            let verdict = row.withinBand.map { $0 ? "ok" : "OUT" } ?? "not judged: \(row.unjudged ?? "")"
            table.append([
                row.indicator.rawValue, row.name, row.measure.rawValue, show(row.simulated, row.measure),
                row.target.map { show($0, row.measure) } ?? "", band, ratio, verdict,
            ])
        }
        let widths = table[0].indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for line in table {
            print(
                line.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                    separator: "  "))
        }
        if !result.failures.isEmpty {
            print(
                "\(result.failures.count) rows outside their band: \(result.failures.map(\.indicator.rawValue).joined(separator: ", "))"
            )
            throw ExitCode(1)
        }
    }
}
