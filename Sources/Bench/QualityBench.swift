import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Postgres
import Situation
import Storage
import TopologyFiles

/// `empmon bench quality`: the data-quality view on two months of a ledger at the city's real size. One month's
/// refresh (the statement over that month and the month before), then a read of the view as the API answers it,
/// beside two raw limits: one grouped pass over the same two months' rows (the least any per-village measure of
/// them costs) and the two months' person keys paired (the least any comparison of them costs). The ledger is written by PostgreSQL itself, in a database of the bench's own.
struct QualityBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "The data-quality view on a city-sized ledger: a month's refresh and a read, beside one grouped pass."
    )

    @Option(help: "Persons per month (the city's labour force is ~1.7 million).") var persons = 1_700_000
    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @OptionGroup var connection: ConnectionOptions

    /// The figures `--json` writes.
    struct Figures: Codable {
        var persons: Int
        var fillS: Double
        var rawGroupedPassS = 0.0
        var rawKeyJoinS = 0.0
        var refreshMonthS = 0.0
        var readS = 0.0
        var villages = 0
    }

    func run() async throws {
        let ledger = try await TwoMonthLedger.write("empmon_bench_quality", persons: persons, home: connection.home)
        let (database, months) = (ledger.database, TwoMonthLedger.months)
        let clock = ContinuousClock()
        var figures = Figures(persons: persons, fillS: ledger.writeSeconds)

        print("raw limit: one grouped pass over both months …")
        figures.rawGroupedPassS = try await clock.measure {
            _ = try await database.query(
                "SELECT period, unit_code, count(*) FROM person_ledger WHERE period = ANY($1::date[]) GROUP BY 1, 2",
                [PostgresArray(months)])
        }.seconds

        // The least a comparison of the two months costs: their persons' keys paired, and nothing else carried.
        figures.rawKeyJoinS = try await clock.measure {
            _ = try await database.query(
                """
                SELECT count(*) FROM (SELECT person_key, unit_code FROM person_ledger WHERE period = $1::date) AS a
                FULL JOIN (SELECT person_key, unit_code FROM person_ledger WHERE period = $2::date) AS b USING (person_key, unit_code)
                """, [months[1], months[0]])
        }.seconds

        let client = try PostgresClient(url: ledger.url, maxConnections: 2)
        let view = DataQualityView(database: client, topology: ledger.topology)
        guard let february = Period("2024-02") else { return }
        print("refreshing February (compared with January) …")
        figures.refreshMonthS = try await clock.measure { try await view.refresh(february) }.seconds
        // The first read computes the other eleven months of the year (empty here); the second is a read as the
        // dashboard's next request makes it.
        _ = try await view.table(period: february)
        var villagesAssessed = 0
        figures.readS = try await clock.measure {
            villagesAssessed = try await view.table(period: february).villages.count
        }.seconds
        figures.villages = villagesAssessed
        try await ledger.drop()

        print("")
        print(String(format: "ledger: %d persons × 2 months (written in %.0f s)", persons, figures.fillS))
        print(String(format: "  one grouped pass over both months (raw limit)  %6.2f s", figures.rawGroupedPassS))
        print(String(format: "  the two months' keys paired (raw limit)        %6.2f s", figures.rawKeyJoinS))
        print(String(format: "  refresh of one month's measures                %6.2f s", figures.refreshMonthS))
        print(
            String(
                format: "  read and assess (%d villages, 12 months)      %6.3f s", villagesAssessed, figures.readS))
        try writeFigures(figures, to: json)
    }
}
