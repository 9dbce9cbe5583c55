import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Postgres
import Processor
import Storage
import Synchronization
import TopologyFiles

/// `empmon bench verify`: `verify` on two months of a ledger at the city's real size, for its time and memory,
/// beside the raw limit of reading the same rows once. The ledger is written by PostgreSQL itself
/// (generate_series over every village), in a database of the bench's own; nothing is stored for the
/// indicators, so every recomputed count shows as a difference: the figures here are time and memory.
struct VerifyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "verify on two months of a city-sized ledger: seconds and peak memory, beside one bare read of the rows.")

    @Option(help: "Persons per month (the city's labour force is ~1.7 million).") var persons = 1_700_000
    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @OptionGroup var connection: ConnectionOptions

    /// The figures `--json` writes.
    struct Figures: Codable {
        var persons: Int
        var fillS: Double
        var rawReadRowsPerS = 0.0
        var memoryBeforeVerifyMib = 0.0
        var verifyS = 0.0
        var verifyRowsPerS = 0.0
        var verifyPeakMemoryMib = 0.0
        var valuesCompared = 0
    }

    func run() async throws {
        let ledger = try await TwoMonthLedger.write("empmon_bench_verify", persons: persons, home: connection.home)
        let (database, url, topology, months) = (ledger.database, ledger.url, ledger.topology, TwoMonthLedger.months)
        let clock = ContinuousClock()
        var figures = Figures(persons: persons, fillS: ledger.writeSeconds)

        // The raw limit: every row of both months read once, row by row, and nothing computed.
        print("raw limit: reading the rows once …")
        let rows = Atomic<Int>(0)
        let read = try await clock.measure {
            try await database.forEachRow(
                "SELECT * FROM person_ledger WHERE period = ANY($1::date[])", [PostgresArray(months)]
            ) { _ in
                rows.wrappingAdd(1, ordering: .relaxed)
            }
        }
        figures.rawReadRowsPerS = Double(rows.load(ordering: .relaxed)) / read.seconds

        print("verify …")
        ProcessMemory.resetPeak()
        figures.memoryBeforeVerifyMib = ProcessMemory.currentMiB()
        let verify = try await clock.measure {
            figures.valuesCompared = try await IndicatorVerifier(topology: topology, databaseURL: url).verify()
                .valuesCompared
        }
        figures.verifyS = verify.seconds
        figures.verifyRowsPerS = Double(persons * months.count) / verify.seconds
        figures.verifyPeakMemoryMib = ProcessMemory.peakMiB()
        try await ledger.drop()

        print("")
        print(
            String(format: "ledger: %d persons × %d months, written in %.0f s", persons, months.count, figures.fillS))
        print(String(format: "  read once, row by row (raw limit)  %10.0f rows/s", figures.rawReadRowsPerS))
        print(
            String(
                format: "  verify                             %10.0f rows/s   %.1f s, %d values compared",
                figures.verifyRowsPerS, figures.verifyS, figures.valuesCompared))
        print(
            String(
                format: "  verify peak memory (VmHWM)         %10.0f MiB (%.0f before it started; target ≤ 2 GiB)",
                figures.verifyPeakMemoryMib, figures.memoryBeforeVerifyMib))
        try writeFigures(figures, to: json)
    }
}
