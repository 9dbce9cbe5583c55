import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Postgres
import Reporting
import Situation
import TopologyFiles

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "Write the month's situation report (就业形势分析) as one HTML page with inline SVG charts, ready to print.",
        discussion: """
            With --pdf it is also printed to A4 as a PDF beside the page (report.html → report.pdf) by headless \
            Chromium: $EMPMON_CHROMIUM, else chromium, chromium-browser or google-chrome on the PATH. Without one \
            the HTML is still written and the command says how to get the PDF.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Month, YYYY-MM (default: the latest month with reports).") var period: String?
    @Option(help: "Output HTML file.") var out = "report.html"
    @Option(help: "Scale of the count targets; default $EMPMON_TARGET_SCALE or 1.") var targetScale: Double?
    @Flag(help: "Also print the report to an A4 PDF beside the HTML, with headless Chromium.") var pdf = false

    func run() async throws {
        let files = try Edge.topologyFiles()
        let topology = try files.loadTopology()
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let database = try PostgresClient(url: settings.postgresURL, maxConnections: 2)
        let month: Period
        if let period {
            guard let parsed = Period(period) else { throw ValidationError("--period '\(period)' is not YYYY-MM") }
            month = parsed
        } else {
            guard let latest = try await IndicatorHistory(database: database).lastReportedPeriod() else {
                throw ValidationError("nothing has been reported yet; give --period")
            }
            month = latest
        }
        let report = try await ReportBuilder(
            database: database, topology: topology, targets: try Edge.targets(files: files, scale: targetScale),
            countyMap: try files.loadCountyMap(for: topology)
        )
        .build(period: month)
        try writeOutput(ReportHTML.render(report), to: out)
        print(
            "wrote \(out): \(topology.city.name)就业形势分析 \(month) (\(report.counties.rows.count) counties, \(report.alerts.count) firing alerts)"
        )
        if pdf {
            let target = (out.hasSuffix(".html") ? String(out.dropLast(5)) : out) + ".pdf"
            try await printToPDF(html: out, pdf: target)
            print("wrote \(target): the same, on A4")
        }
    }

    /// Prints the page with headless Chromium, whose print engine honours the report's @page rules (A4, margins,
    /// page numbers in the footer).
    func printToPDF(html: String, pdf: String) async throws {
        let environment = ProcessInfo.processInfo.environment
        let candidates =
            [environment["EMPMON_CHROMIUM"]].compactMap { $0 }
            + (environment["PATH"] ?? "/usr/bin").split(separator: ":").flatMap { folder in
                ["chromium", "chromium-browser", "google-chrome"].map { "\(folder)/\($0)" }
            }
        guard let chromium = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError(
                "--pdf needs headless Chromium (apt-get install chromium, or set EMPMON_CHROMIUM to its path); \(html) is written and prints to A4 from any browser"
            )
        }
        let page = URL(fileURLWithPath: html).standardizedFileURL.absoluteString
        try? FileManager.default.removeItem(atPath: pdf)
        // Chromium's sandbox cannot start as root; as anyone else it stays on.
        let sandbox = getuid() == 0 ? ["--no-sandbox"] : []
        let log = pdf + ".chromium.log"
        let pid = try ChildProcess.start(
            chromium,
            ["--headless", "--disable-gpu", "--no-pdf-header-footer", "--print-to-pdf=\(pdf)"] + sandbox + [page],
            logFile: log)
        let status = await ChildProcess.wait(pid, timeout: .seconds(120))
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        guard let status else {
            throw ValidationError("\(chromium) did not finish printing \(html) within 120 s")
        }
        guard status == 0, FileManager.default.fileExists(atPath: pdf) else {
            throw ValidationError(
                "\(chromium) could not print \(html) (exit \(status)): \(output.suffix(400))")
        }
    }
}
