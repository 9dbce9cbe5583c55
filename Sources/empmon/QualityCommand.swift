import ArgumentParser
import CommandEdge
import Domain
import Foundation
import Postgres
import Situation

struct QualityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract:
            "Data quality of each village's month: timeliness, corrections, copied-forward ledgers, a year without a status change, persons two villages reported, rejected records; each flag and a score.",
        discussion: """
            Signals and thresholds: late — the first record arrived after the month closed (the 10th of the month \
            after); corrected — a correction changed someone's status; copied_forward — every person and field as \
            the month before, with a chance below 0.001 at the city's rate of change that month; \
            no_change_in_year — no status change in twelve reported months, chance below 0.001; double_reported — \
            another village reported one of its persons that month; rejected — the city refused records of it. \
            Score: 100 less each flag's weight.
            """)

    @OptionGroup var options: QueryOptions
    @Option(help: "Month, YYYY-MM; default the latest month reported.") var period: String?
    @Option(help: "Only villages under this unit (12-digit code or exact name).") var within: String?
    @Flag(help: "Only villages with a flag.") var flagged = false
    @Flag(help: "Recompute every month of the year's signal, not only the month and the month before.")
    var refreshAll = false

    func run() async throws {
        let (query, topology) = try options.query()
        let scope = try within.map { try resolveUnit($0, in: topology).code }
        let month: Period
        if let period {
            guard let parsed = Period(period) else { throw ValidationError("--period '\(period)' is not YYYY-MM") }
            month = parsed
        } else {
            guard let latest = try await query.history.lastReportedPeriod() else {
                throw ValidationError("nothing has been reported yet: there is no month to assess")
            }
            month = latest
        }
        let view = DataQualityView(database: query.history.database, topology: topology)
        var table = try await view.table(period: month, within: scope, refreshAll: refreshAll, maxAge: 0)
        if flagged { table = table.keepingFlagged() }
        if options.format == "json" {
            try options.printJSON(table)
            return
        }
        let unitName = topology[scope ?? topology.city.code]?.name ?? topology.city.name
        if try options.emitRows(
            header: DataQualityTable.header, rows: table.rows, title: table.title(unitName: unitName))
        {
            return
        }
        print(
            "数据质量 data quality · \(unitName) · \(month) · \(table.villages.count) villages · city change rate "
                + String(format: "%.1f%% (status %.1f%%)", table.changeRate * 100, table.statusChangeRate * 100))
        let counts = QualitySignal.allCases.map { "\($0.rawValue) \(table.flagged[$0.rawValue] ?? 0)" }
        print("flagged: " + counts.joined(separator: ", "))
        print(Table.render(header: DataQualityTable.header, rows: table.rows))
    }
}
