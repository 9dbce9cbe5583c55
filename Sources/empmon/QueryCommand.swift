import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Ledger
import Postgres
import Situation
import TopologyFiles

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Situation queries on the stored indicators.",
        subcommands: [SituationCommand.self, SeriesCommand.self])
}

/// What the query commands share: where the data is, the format, and a past moment to see the figures as of.
struct QueryOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions
    @Option(
        help:
            "table, csv, csv-excel (CSV with the byte-order mark Excel and WPS need), xlsx (a workbook: needs --out) or json."
    )
    var format = "table"
    @Option(help: "The file an xlsx workbook is written to.") var out: String?
    @Option(help: "Figures as they stood at this moment (ISO 8601, e.g. 2025-02-15 or 2025-02-15T08:00:00+08:00).")
    var asOf: String?
    @Option(
        help:
            "Scale of the count targets (a simulated city smaller than the real one); default $EMPMON_TARGET_SCALE or 1."
    )
    var targetScale: Double?

    func validate() throws {
        guard ["table", "csv", "csv-excel", "xlsx", "json"].contains(format) else {
            throw ValidationError("--format must be table, csv, csv-excel, xlsx or json, not '\(format)'")
        }
        if format == "xlsx", out == nil {
            throw ValidationError("--format xlsx writes a workbook: name its file with --out")
        }
        _ = try moment()
    }

    func moment() throws -> Date? {
        try asOf.map { try parseMoment($0, option: "--as-of") }
    }

    func query() throws -> (SituationQuery, Topology) {
        let files = try Edge.topologyFiles()
        let topology = try files.loadTopology()
        let targets = try files.loadTargets()
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let database = try PostgresClient(url: settings.postgresURL, maxConnections: 2)
        let unitTargets = UnitTargets(
            year: targets.year, city: targets.unit, targets: targets.targets,
            scale: targetScale ?? Edge.environmentTargetScale)
        return (SituationQuery(database: database, topology: topology, targets: unitTargets), topology)
    }

    /// The table as asked for by `--format`: CSV to standard output (csv-excel with a byte-order mark first), or
    /// a workbook to `--out`. False when the format is not a table of rows (table or json).
    func emitRows(header: [String], rows: [[String]], title: String) throws -> Bool {
        guard let export = TableExport(rawValue: format) else { return false }
        try writeTable(export, header: header, rows: rows, title: title, to: out)
        return true
    }

    func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

struct SituationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "situation",
        abstract:
            "Every unit of a tier for one month: the indicator, month-on-month and year-on-year change, rank, reporting completeness, progress against the annual target."
    )

    @OptionGroup var options: QueryOptions
    @Option(help: "city, county, township or village.") var tier = "county"
    @Option(help: "Month, YYYY-MM.") var period: String
    @Option(help: "Indicator to compare and rank by.") var indicator = "new_urban_employment"
    @Option(help: "Only units under this one (12-digit code or exact name).") var within: String?

    func run() async throws {
        guard let month = Period(period) else { throw ValidationError("--period '\(period)' is not YYYY-MM") }
        guard let level = Tier(rawValue: tier) else {
            throw ValidationError("--tier must be city, county, township or village")
        }
        guard let chosen = IndicatorCatalogue.indicator(IndicatorID(rawValue: indicator)) else {
            throw ValidationError("--indicator '\(indicator)' is not in the catalogue")
        }
        let (query, topology) = try options.query()
        let scope = try within.map { try resolveUnit($0, in: topology).code }
        let table = try await query.situation(
            tier: level, period: month, indicator: chosen.id, within: scope, asOf: try options.moment())
        if options.format == "json" {
            try options.printJSON(table)
            return
        }
        let header = [
            "unit", "name", indicator, "mom", "yoy", "rank", "reported", "estimate", "ytd", "target", "progress",
            "status",
        ]
        let rows = table.rows.map { row -> [String] in
            [
                row.unit, row.name, Format.value(row.value, of: chosen), Format.change(row.monthOnMonth, of: chosen),
                Format.change(row.yearOnYear, of: chosen),
                row.rank.map(String.init) ?? "–", Format.rate(row.reportingRate),
                row.estimate.map { "\(Format.value($0, of: chosen)) (\(row.estimatedVillages) est.)" } ?? "–",
                Format.value(row.yearToDate, of: chosen), Format.value(row.target, of: chosen),
                Format.rate(row.progress), row.status.rawValue,
            ]
        }
        if options.format != "table" {
            let raw = table.rows.map { row -> [String] in
                [
                    row.unit, row.name, row.value.map { "\($0)" } ?? "", row.monthOnMonth.map { "\($0)" } ?? "",
                    row.yearOnYear.map { "\($0)" } ?? "",
                    row.rank.map(String.init) ?? "", row.reportingRate.map { "\($0)" } ?? "",
                    row.estimate.map { "\($0)" } ?? "",
                    row.yearToDate.map { "\($0)" } ?? "", row.target.map { "\($0)" } ?? "",
                    row.progress.map { "\($0)" } ?? "", row.status.rawValue,
                ]
            }
            let header = [
                "unit", "name", indicator, "mom", "yoy", "rank", "reported", "estimate", "ytd", "target", "progress",
                "status",
            ]
            _ = try options.emitRows(
                header: header, rows: raw, title: "\(chosen.chineseName) · 各\(level.chineseName) · \(month)")
            return
        }
        print(
            "\(chosen.chineseName) (\(chosen.id)) · \(tier) · \(month)" + (options.asOf.map { " · as of \($0)" } ?? "")
                + String(format: " · year elapsed %.0f%%", table.yearElapsed * 100))
        print(Table.render(header: header, rows: rows))
    }
}

struct SeriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "series",
        abstract:
            "One indicator of one unit over months: raw, seasonally adjusted (X-11 style), changes, preliminary or revised."
    )

    @OptionGroup var options: QueryOptions
    @Option(help: "Unit: 12-digit code or exact name.") var unit: String
    @Option(help: "Indicator ID.") var indicator: String
    @Option(help: "First month, YYYY-MM.") var from: String
    @Option(help: "Last month, YYYY-MM.") var to: String

    func run() async throws {
        guard let first = Period(from) else { throw ValidationError("--from '\(from)' is not YYYY-MM") }
        guard let last = Period(to) else { throw ValidationError("--to '\(to)' is not YYYY-MM") }
        guard first <= last, first.distance(to: last) < 240 else {
            throw ValidationError("--from must not be after --to, and at most 240 months apart")
        }
        guard let chosen = IndicatorCatalogue.indicator(IndicatorID(rawValue: indicator)) else {
            throw ValidationError("--indicator '\(indicator)' is not in the catalogue")
        }
        let (query, topology) = try options.query()
        let division = try resolveUnit(unit, in: topology)
        let points = try await query.series(
            unit: division.code, indicator: chosen.id, from: first, through: last, asOf: try options.moment())
        if options.format == "json" {
            struct Output: Encodable {
                let unit: String
                let name: String
                let indicator: String
                let points: [SeriesPoint]
            }
            try options.printJSON(
                Output(unit: division.code.description, name: division.name, indicator: indicator, points: points))
            return
        }
        let header = ["period", indicator, "seasonally_adjusted", "trend", "mom", "yoy", "status"]
        let text = { (value: Double?) in value.map { "\($0)" } ?? "" }
        let raw = points.map {
            [
                $0.period, text($0.value), text($0.seasonallyAdjusted), text($0.trend), text($0.monthOnMonth),
                text($0.yearOnYear), $0.status.rawValue,
            ]
        }
        if try options.emitRows(header: header, rows: raw, title: "\(division.name) \(division.code) · \(indicator)") {
            return
        }
        print("\(division.name) \(division.code) · \(chosen.chineseName) (\(chosen.id))")
        print(
            Table.render(
                header: header,
                rows: points.map {
                    [
                        $0.period, Format.value($0.value, of: chosen), Format.value($0.seasonallyAdjusted, of: chosen),
                        Format.value($0.trend, of: chosen),
                        Format.change($0.monthOnMonth, of: chosen), Format.change($0.yearOnYear, of: chosen),
                        $0.status.rawValue,
                    ]
                }))
        if points.allSatisfy({ $0.seasonallyAdjusted == nil }) {
            print("(seasonal adjustment needs \(36) complete months of history)")
        }
    }
}

/// A moment from the command line: an ISO 8601 timestamp, or a day (YYYY-MM-DD) meaning its end, China time.
func parseMoment(_ text: String, option: String) throws -> Date {
    if let date = ISO8601DateFormatter().date(from: text) { return date }
    let day = DateFormatter()
    day.dateFormat = "yyyy-MM-dd"
    day.timeZone = ChinaTime.zone
    if let date = day.date(from: text) { return date.addingTimeInterval(86_400 - 0.001) }
    throw ValidationError("\(option) '\(text)' is neither a day YYYY-MM-DD nor an ISO 8601 moment")
}
