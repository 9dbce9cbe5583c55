import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Hummingbird
import Logging
import Postgres
import Serve
import Situation
import Storage
import TopologyFiles

extension BenchCommand {
    struct API: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "api",
            abstract: "The HTTP API under load (wrk) beside the HTTP stack's own limit and one database round trip.",
            discussion: """
                Runs on the dev stack's PostgreSQL, in a database of its own (empmon_bench_api, dropped and created \
                anew), filled with --months of the whole simulated city (every count indicator of all 2,790 units, as \
                the processor stores them). Serves the API in this process and loads it with wrk (apt-get install wrk) \
                over --connections keep-alive connections for --seconds per endpoint: first a static document (the \
                HTTP stack's limit), /health (one pooled database round trip), then the analysts' endpoints with a \
                city analyst's token. Load generator, server and PostgreSQL share the machine's cores.
                """)

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Months of simulated history to store.") var months = 24
        @Option(help: "Simulated city size (1.0 ≈ 1.7 million labour force).") var scale = 0.002
        @Option(help: "Seconds of load per endpoint.") var seconds = 10
        @Option(help: "Concurrent connections.") var connections = 16
        @Option(help: "Database connections of the API's pool.") var pool = 8
        @Option(help: "Write the figures as JSON to this file.") var json: String?

        func validate() throws {
            guard (1...120).contains(months) else { throw ValidationError("--months must be 1 to 120") }
            guard seconds >= 1, connections >= 1, pool >= 1 else {
                throw ValidationError("--seconds, --connections and --pool must be positive")
            }
        }

        func run() async throws {
            guard
                let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(
                    where: FileManager.default.isExecutableFile(atPath:))
            else {
                throw ValidationError("the load generator wrk is not installed: apt-get install wrk")
            }
            let stack = try BenchStack(home: connection.home)
            let (dev, files, topology) = (stack.dev, stack.files, stack.topology)
            let clock = ContinuousClock()

            print("simulating \(months) months of the whole city at scale \(scale) …")
            let history = SimulatedHistory(topology: topology, months: months, scale: scale)
            let url = try await FreshDatabase.create("empmon_bench_api", on: dev.postgresURL)
            let database = try PostgresClient(url: url, maxConnections: pool)
            let stored = try await clock.measure { try await Self.store(history, topology: topology, in: database) }
            print(
                String(format: "stored %d unit-months in %.1f s", topology.allDivisions.count * months, stored.seconds))

            let last = history.span.last ?? Period(year: 2024, month: 12)!
            let token = try await APITokens(database: database).create(
                scope: topology.city.code, role: .analyst, name: "bench"
            ).token
            let targets = try Edge.targets(files: files, scale: scale)
            var quiet = Logger(label: "empmon.bench")
            quiet.logLevel = .critical
            let server = APIServer(database: database, topology: topology, targets: targets, logger: quiet)
            let endpoints: [(name: String, path: String, authorized: Bool)] = [
                ("static document, no database (HTTP limit)", "/api/v1/openapi.json", false),
                ("/health: one database round trip", "/health", false),
                (
                    "situation, 12 counties",
                    "/api/v1/situation?tier=county&period=\(last)&indicator=new_urban_employment", true
                ),
                (
                    "situation, 149 townships",
                    "/api/v1/situation?tier=township&period=\(last)&indicator=placement_rate", true
                ),
                ("situation, 2,628 villages", "/api/v1/situation?tier=village&period=\(last)&indicator=employed", true),
                (
                    "series, a county, \(months) months",
                    "/api/v1/units/140403000000/series?indicator=employed&from=\(history.span[0])&to=\(last)", true
                ),
                ("targets of the city", "/api/v1/targets?period=\(last)", true),
                (
                    "open data, villages",
                    "/api/v1/open-data/situation?tier=village&period=\(last)&indicator=registered_unemployed", false
                ),
            ]

            var rows: [[String]] = []
            var figures: [String: Double] = ["months": Double(months), "connections": Double(connections)]
            try await withLoopbackServer(server.router(), logger: quiet) { bound in
                for (index, endpoint) in endpoints.enumerated() {
                    print("loading \(endpoint.name) for \(seconds) s …")
                    let load = try await Self.load(
                        wrk: wrk, url: "http://127.0.0.1:\(bound)\(endpoint.path)",
                        token: endpoint.authorized ? token : nil,
                        seconds: seconds, connections: connections)
                    rows.append([
                        endpoint.name, String(format: "%.0f", load.perSecond), Self.milliseconds(load.p50),
                        Self.milliseconds(load.p99),
                    ])
                    figures["\(index)_per_s"] = load.perSecond
                    figures["\(index)_p99_ms"] = load.p99 * 1000
                }
            }
            let peak = ProcessMemory.peakMiB()
            print("")
            print(Table.render(header: ["endpoint", "requests/s", "p50 ms", "p99 ms"], rows: rows))
            print(
                String(
                    format:
                        "peak memory %.0f MiB (the simulation included); %d cores shared by wrk, the API and PostgreSQL",
                    peak, ProcessInfo.processInfo.activeProcessorCount))
            figures["peak_mib"] = peak
            if let json {
                try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys, .prettyPrinted]).write(
                    to: URL(fileURLWithPath: json))
            }
        }

        /// Writes the history as the processor leaves it: the schema, the months, one row per unit and month.
        static func store(_ history: SimulatedHistory, topology: Topology, in database: PostgresClient) async throws {
            let columns = IndicatorCatalogue.storedCounts
            let units = topology.allDivisions.map(\.code)
            let span = history.span
            let counts = history.counts
            try await database.withConnection { connection in
                _ = try await Schema.migrator().migrate(connection)
                for period in span {
                    try await connection.query(
                        "INSERT INTO monitored_periods (period) VALUES ($1::date)", ["\(period)-01"])
                }
                let statement =
                    "COPY unit_month_counts (period, unit_code, \(columns.map(\.rawValue).joined(separator: ", "))) FROM STDIN"
                try await connection.copyIn(statement) { writer in
                    for unit in units {
                        for period in span {
                            let unitCounts = counts[unit]?[period] ?? [:]
                            let values: [Int64] = columns.map { unitCounts[$0] ?? 0 }
                            try writer.append(
                                ["\(period)-01", unit.description] + values.map { $0 as any PostgresEncodable })
                        }
                    }
                }
            }
        }

        struct Load {
            var perSecond = 0.0
            var p50 = 0.0
            var p99 = 0.0
        }

        /// Runs wrk against one URL and reads its summary; any non-2xx answer fails the bench rather than count.
        static func load(wrk: String, url: String, token: String?, seconds: Int, connections: Int) async throws -> Load
        {
            var arguments = ["-t", "2", "-c", String(connections), "-d", "\(seconds)s", "--latency"]
            if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
            // Waiting for wrk blocks a thread: not one of the few the server's handlers run on.
            let command = arguments + [url]
            let result = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue(label: "empmon.bench.wrk").async {
                    continuation.resume(with: Result { try ChildProcess.run(wrk, command) })
                }
            }
            guard result.status == 0 else {
                throw ValidationError("wrk failed on \(url): \(result.output.suffix(500))")
            }
            if let line = result.output.split(separator: "\n").first(where: { $0.contains("Non-2xx or 3xx responses") })
            {
                throw ValidationError(
                    "\(url): \(line.trimmingCharacters(in: .whitespaces)) — the bench measures answers, not errors")
            }
            var load = Load()
            for line in result.output.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2 else { continue }
                switch fields[0] {
                case "Requests/sec:": load.perSecond = Double(fields[1]) ?? 0
                case "50%": load.p50 = duration(wrk: fields[1]) ?? 0
                case "99%": load.p99 = duration(wrk: fields[1]) ?? 0
                default: continue
                }
            }
            guard load.perSecond > 0 else {
                throw ValidationError("could not read wrk's summary for \(url): \(result.output.suffix(500))")
            }
            return load
        }

        /// wrk writes durations as 812.00us, 1.23ms, 2.01s or 1.50m.
        static func duration(wrk text: Substring) -> Double? {
            for (suffix, factor) in [("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0)] where text.hasSuffix(suffix) {
                return Double(text.dropLast(suffix.count)).map { $0 * factor }
            }
            return nil
        }

        static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }
    }
}
