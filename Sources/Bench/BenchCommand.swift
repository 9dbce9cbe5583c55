import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Kafka
import Logging
import Postgres
import Storage
import TopologyFiles

/// The entry of `empmon-bench`.
package enum BenchMain {
    package static func run() async { await BenchCommand.main(nil) }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empmon-bench", abstract: "Benchmarks, each beside the raw limit measured in the same run.",
        subcommands: [
            FoundationBench.self, Pipeline.self, Forecast.self, API.self, AgentBench.self, AgentCountyBench.self,
            VerifyBench.self, QualityBench.self, CityBench.self, RecoveryBench.self,
        ])

    struct FoundationBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "foundation",
            abstract:
                "Kafka and PostgreSQL layers: Swift consumer vs librdkafka's own loop, COPY vs row-by-row upserts.")

        @Option(help: "Messages to produce and consume (keep under ~5 MiB per mock partition).") var messages = 200_000
        @Option(help: "Rows to load by COPY.") var rows = 1_000_000
        @Option(help: "Rows to write one autocommitted upsert at a time (the naive way).") var naiveRows = 5_000
        @Option(help: "Write the figures as JSON to this file.") var json: String?
        @OptionGroup var connection: ConnectionOptions

        /// The figures `--json` writes.
        struct Figures: Codable {
            var kafkaProducePerS = 0.0
            var kafkaConsumeSwiftPerS = 0.0
            var kafkaConsumeRawPerS = 0.0
            var pgCopyRowsPerS = 0.0
            var pgNaiveUpsertsPerS = 0.0
            var peakMemoryMib = 0.0
        }

        func run() async throws {
            var quiet = Logger(label: "empmon.bench")
            quiet.logLevel = .critical
            let url = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap ?? "",
                home: connection.home
            ).postgresURL
            var results = Figures()
            let clock = ContinuousClock()

            // Kafka: produce, then the Swift group consumer, then librdkafka's bare loop, on one mock cluster.
            let cluster = try MockKafkaCluster(brokers: 3, logger: quiet)
            let topic = "bench.records"
            try cluster.createTopic(topic, partitions: 12)
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: quiet)
            let payload = [UInt8](repeating: 0x42, count: 100)
            print("producing \(messages) messages of \(payload.count) bytes …")
            let produceTime = try await clock.measure {
                for index in 0..<messages {
                    try await producer.send(
                        KafkaProducerMessage(topic: topic, key: "1404\(index % 97)", value: payload))
                }
                try await producer.flush(timeout: .seconds(120))
            }
            results.kafkaProducePerS = Double(messages) / produceTime.seconds

            print("consuming with the Swift group consumer …")
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench"),
                logger: quiet)
            try await consumer.subscribe(topics: [topic])
            var consumed = 0
            var started: ContinuousClock.Instant?
            let deadline = clock.now.advanced(by: .seconds(300))
            while consumed < messages, clock.now < deadline {
                let result = try await consumer.poll(maxMessages: 5000, timeout: .milliseconds(100))
                consumed += result.messages.count
                if case .assigned(let partitions) = result.rebalance {
                    try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .beginning) }))
                    started = clock.now
                }
            }
            let swiftConsumeTime = (started.map { clock.now - $0 }) ?? .zero
            try await consumer.close()
            results.kafkaConsumeSwiftPerS = Double(consumed) / swiftConsumeTime.seconds

            print("consuming with librdkafka's bare loop …")
            var rawCount = 0
            let rawTime = try clock.measure {
                rawCount = try KafkaBaseline.countMessages(
                    bootstrapServers: cluster.bootstrapServers, topic: topic, partitions: 12, expected: messages,
                    timeout: .seconds(300))
            }
            results.kafkaConsumeRawPerS = Double(rawCount) / rawTime.seconds

            // PostgreSQL: COPY against one autocommitted upsert per row.
            let database = try await PostgresConnection.connect(url: url)
            try await database.execute(
                script: """
                    DROP TABLE IF EXISTS bench_copy, bench_naive;
                    CREATE UNLOGGED TABLE bench_copy (id bigint, unit text, value integer);
                    CREATE UNLOGGED TABLE bench_naive (id bigint PRIMARY KEY, unit text, value integer);
                    """)
            print("loading \(rows) rows by COPY …")
            let rowCount = rows
            let copyTime = try await clock.measure {
                try await database.copyIn("COPY bench_copy (id, unit, value) FROM STDIN") { writer in
                    for id in 0..<rowCount { try writer.append([id, "140403001001", id % 1000]) }
                }
            }
            results.pgCopyRowsPerS = Double(rows) / copyTime.seconds
            print("writing \(naiveRows) rows one upsert at a time …")
            let naiveTime = try await clock.measure {
                for id in 0..<naiveRows {
                    try await database.query(
                        "INSERT INTO bench_naive (id, unit, value) VALUES ($1, $2, $3) "
                            + "ON CONFLICT (id) DO UPDATE SET value = bench_naive.value + EXCLUDED.value",
                        [id, "140403001001", id % 1000])
                }
            }
            results.pgNaiveUpsertsPerS = Double(naiveRows) / naiveTime.seconds
            try await database.execute(script: "DROP TABLE bench_copy, bench_naive")
            results.peakMemoryMib = ProcessMemory.peakMiB()

            let rate = { (value: Double) in String(format: "%12.0f /s", value) }
            print("")
            print("Kafka (mock cluster, 3 brokers, 12 partitions, \(messages) × \(payload.count) B)")
            print("  produce, idempotent, acks=all   \(rate(results.kafkaProducePerS))")
            print("  consume, Swift group consumer   \(rate(results.kafkaConsumeSwiftPerS))")
            print("  consume, librdkafka bare loop   \(rate(results.kafkaConsumeRawPerS))   (raw limit)")
            print(
                String(
                    format: "  Swift / raw                     %12.2f",
                    (results.kafkaConsumeSwiftPerS) / max(1, results.kafkaConsumeRawPerS)))
            print("PostgreSQL")
            print("  COPY FROM STDIN                 \(rate(results.pgCopyRowsPerS))")
            print("  one upsert per row (naive)      \(rate(results.pgNaiveUpsertsPerS))")
            print(
                String(
                    format: "  COPY / naive                    %12.0f",
                    (results.pgCopyRowsPerS) / max(1, results.pgNaiveUpsertsPerS)))
            print(String(format: "peak memory (VmHWM)               %9.0f MiB", results.peakMemoryMib))
            try writeFigures(results, to: json)
        }
    }
}

/// Two months of a city-sized ledger written by PostgreSQL itself (`fillLedgerMonth`), in a fresh database of a
/// bench's own beside the dev stack's (`bench verify`, `bench quality`).
struct TwoMonthLedger {
    static let months = ["2024-01-01", "2024-02-01"]
    let devURL: String
    let name: String
    let url: String
    let database: PostgresConnection
    let topology: Topology
    /// Seconds the two months took to write.
    let writeSeconds: Double

    static func write(_ name: String, persons: Int, home: String?) async throws -> TwoMonthLedger {
        guard persons > 0 else { throw ValidationError("--persons must be positive") }
        let stack = try BenchStack(home: home)
        let (dev, topology) = (stack.dev, stack.topology)
        let url = try await FreshDatabase.create(name, on: dev.postgresURL)
        let database = try await PostgresConnection.connect(url: url)
        _ = try await Schema.migrator().migrate(database)
        let villages = PostgresArray(topology.allDivisions.filter { $0.tier == .village }.map(\.code.description))
        print("writing \(persons) persons × \(months.count) months into the ledger …")
        let seconds = try await ContinuousClock().measure {
            for (index, month) in months.enumerated() {
                try await fillLedgerMonth(month, persons: persons, variant: index, villages: villages, on: database)
                try await database.query("INSERT INTO monitored_periods (period) VALUES ($1::date)", [month])
            }
            try await database.query("ANALYZE person_ledger")
        }.seconds
        return TwoMonthLedger(
            devURL: dev.postgresURL, name: name, url: url, database: database, topology: topology,
            writeSeconds: seconds)
    }

    func drop() async throws {
        try await FreshDatabase.drop(name, on: devURL)
    }
}

/// Writes one month of `persons` ledger rows with PostgreSQL's own generate_series: households of three
/// spread over `villages`, four in five employed; `variant` shifts a tenth of the persons to another status,
/// so consecutive months differ. For the benches that need a city-sized ledger in place.
func fillLedgerMonth(
    _ month: String, persons: Int, variant: Int, villages: PostgresArray, on database: PostgresConnection
) async throws {
    try await database.query("SELECT empmon_ensure_month($1::date)", [month])
    try await database.query(
        """
        INSERT INTO person_ledger (period, person_key, record_id, unit_code, household_key, birth_year, sex, status,
            employment_form, work_location, sector, registered_unemployed, groups, seeking_work, assisted, trained,
            income_band, reported_at_ms, agent_id, signature)
        SELECT $1::date, sha256(int8send(i)), gen_random_uuid(), v[1 + (i / 3) % n], sha256(int8send(i / 3)),
            1960 + i % 45, CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, s,
            CASE WHEN s = 'employed' THEN 'employee' END, CASE WHEN s = 'employed' THEN 'local' END,
            CASE WHEN s = 'employed' THEN 'C' END, s = 'unemployed',
            CASE WHEN i % 3 = 0 THEN '{rural_labour}'::text[] ELSE '{}'::text[] END, s = 'unemployed', false, false,
            NULL, 0, 'bench', '\\x00'::bytea
        FROM generate_series(0, $2::bigint - 1) i,
            LATERAL (SELECT CASE WHEN (i + $3::int * (i % 10 / 9)) % 10 < 8 THEN 'employed'
                WHEN (i + $3::int * (i % 10 / 9)) % 10 < 9 THEN 'unemployed' ELSE 'not_in_labour_force' END AS s) status,
            (SELECT $4::text[] AS v, cardinality($4::text[]) AS n) codes
        """,
        [month, persons, variant, villages])
}

/// The dev stack a bench runs on, and the topology beside it.
struct BenchStack {
    let home: DevHome
    let dev: DevSettings
    let files: TopologyFiles
    let topology: Topology

    init(home: String?) throws {
        self.home = DevHome.resolve(home)
        guard let dev = try self.home.loadSettings() else {
            throw ValidationError("start the dev stack first: empmon dev up")
        }
        self.dev = dev
        files = try Edge.topologyFiles()
        topology = try files.loadTopology()
    }
}

/// Writes a bench's figures to `path` as JSON, when one is given: keys in snake case (`refreshMonthS` is
/// `refresh_month_s`), as earlier runs' files and docs/benchmarks.md name them.
func writeFigures(_ figures: some Encodable, to path: String?) throws {
    guard let path else { return }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(figures).write(to: URL(fileURLWithPath: path))
}
