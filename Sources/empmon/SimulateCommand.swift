import ArgumentParser
import Domain
import Simulator
import TopologyFiles

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate Changzhi's labour force month by month: ledgers per village, activity reports, ground truth.")

    @Option(help: "Months to simulate.") var months = 12
    @Option(help: "1.0 ≈ the city's ~1.7 million labour force.") var scale = 0.001
    @Option(help: "Random seed; the same seed gives the same files.") var seed: UInt64 = 1
    @Option(help: "First month, YYYY-MM.") var start = "2024-01"
    @Option(help: "Share of rows written broken, as clerks sometimes do.") var malformed = 0.0
    @Option(help: "Share of village-months submitted after the following month.") var late = 0.0
    @Option(help: "Share of village-months corrected by a second file.") var corrections = 0.0
    @Option(help: "Output folder.") var out: String

    func run() async throws {
        guard let first = Period(start) else { throw ValidationError("--start must be YYYY-MM") }
        guard months >= 1, months <= 120 else { throw ValidationError("--months must be 1 to 120") }
        guard scale > 0, scale <= 2 else { throw ValidationError("--scale must be above 0 and at most 2") }
        for (name, share) in [("--malformed", malformed), ("--late", late), ("--corrections", corrections)] where !(0...1).contains(share) {
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
        let topology = try TopologyFiles.locate().loadTopology()
        try SimulationRun.run(topology: topology, options: options, out: out) { print($0) }
        print("wrote \(out)/ledgers, \(out)/activity, \(out)/schedule.csv, \(out)/ground-truth.csv")
    }
}
