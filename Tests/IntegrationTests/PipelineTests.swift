import DevStack
import Domain
import Foundation
import Kafka
import Logging
import Postgres
import Storage
import TestSupport
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One pipeline under test: its own database (migrated, with its own agents) and its own consumer group,
/// on the shared brokers, starting where the record topics end when it is made.
struct Pipeline {
    let database: TestDatabase
    let group: String
    let directory: URL
    var environment: [String: String] { ["EMPMON_POSTGRES_URL": database.url] }

    static func make() async throws -> Pipeline {
        let database = try await TestDatabase.create()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-pipeline-\(database.name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pipeline = Pipeline(database: database, group: "test-\(database.name)", directory: directory)
        let migrate = try pipeline.run(["db", "migrate"])
        guard migrate.status == 0 else { throw DevStackError("migrate failed: \(migrate.output)") }
        // The group starts where the shared topics end now, so it sees this test's records only.
        try await ConsumerOffsets.preset(group: pipeline.group, try await recordTopicEnds(), on: database.connect())
        return pipeline
    }

    /// A fresh pipeline for `body`, cleaned up however `body` ends: a failed `#require` or a thrown error too.
    static func with(_ body: (Pipeline) async throws -> Void) async throws {
        try await withCleanUp(try await make(), cleanUp: { await $0.cleanUp() }, body)
    }

    func cleanUp() async {
        try? FileManager.default.removeItem(at: directory)
        await database.drop()
    }

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try empmon(arguments, environment: environment)
    }

    func agent(for unit: String) async throws -> AgentSandbox {
        try await AgentSandbox.make(unit: unit, environment: environment)
    }

    /// A new group on the shared broker: what other tests' runs left and the broker aged out is not this test's.
    var processorArguments: [String] {
        ["process", "--group", group, "--metrics-port", "0", "--linger-ms", "100", "--accept-aged-out-records"]
    }

    /// Runs one processor until everything is committed.
    func processAll(batchSize: Int = 5000) throws -> String {
        let result = try run(processorArguments + ["--batch-size", String(batchSize), "--stop-when-caught-up"])
        #expect(result.status == 0, "\(result.output.suffix(2000))")
        return result.output
    }

    func startProcessor(_ extra: [String] = [], log name: String) throws -> (pid: Int32, log: String) {
        let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let log = directory.appendingPathComponent(name).path
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return (try ChildProcess.start(binary, processorArguments + extra, logFile: log, environment: merged), log)
    }

    func query<T: PostgresDecodable>(_ sql: String, _ parameters: [any PostgresEncodable] = [], as type: T.Type)
        async throws -> [T]
    {
        let connection = try await database.connect()
        return try await connection.query(sql, parameters).map { try $0.decode(T.self, at: 0) }
    }

    /// Records this group has committed, over all partitions.
    func committedOffsets() async throws -> Int64 {
        try await query(
            "SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = $1", [group],
            as: Int64.self)[0]
    }

    /// Stored non-zero indicators of the given months, as ground-truth.csv lines.
    func storedLines(periods: Set<String>) async throws -> Set<String> {
        let lines = try await query(
            "SELECT unit_code || ',' || to_char(period, 'YYYY-MM') || ',' || indicator || ',' || value FROM indicator_values WHERE value <> 0",
            as: String.self)
        return Set(lines.filter { periods.contains(String($0.split(separator: ",")[1])) })
    }

    /// Simulates months through a city agent enrolled in this pipeline's database; returns the ground truth.
    func simulate(seed: Int, months: Int = 3, counties: String = "140403000000,140427000000", scale: Double = 0.002)
        async throws -> Set<String>
    {
        let city = try await agent(for: "140400000000")
        let out = directory.appendingPathComponent("sim-\(seed)").path
        let run = try empmon([
            "simulate", "--months", String(months), "--scale", String(scale), "--seed", String(seed), "--counties",
            counties,
            "--late", "0.1", "--corrections", "0.1", "--malformed", "0.01", "--publish", "--agent-home", city.home,
            "--out", out,
        ])
        #expect(run.status == 0, "\(run.output.suffix(800))")
        let truth = try String(contentsOfFile: out + "/ground-truth.csv", encoding: .utf8)
        return Set(truth.split(separator: "\n").dropFirst().map(String.init))
    }
}

func periods(of lines: Set<String>) -> Set<String> { Set(lines.map { String($0.split(separator: ",")[1]) }) }

func waitUntil(_ seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(seconds))
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}

extension SharedStackTests {
    @Test(
        "Two counties' simulated months through agents and the processor equal the ground truth at every unit, tier and month"
    )
    func pipelineEqualsGroundTruth() async throws {
        try await Pipeline.with { pipeline in
            let truth = try await pipeline.simulate(seed: 11)
            let output = try pipeline.processAll()
            let stored = try await pipeline.storedLines(periods: periods(of: truth))
            #expect(truth.count > 1000)
            #expect(stored.subtracting(truth).sorted().prefix(10) == [], "stored but not true")
            #expect(truth.subtracting(stored).sorted().prefix(10) == [], "true but not stored")
            // The four tiers are all there: a village, its township, its county and the city.
            for unit in ["140400000000", "140403000000", "140403001000", "140403001001"] {
                #expect(stored.contains { $0.hasPrefix(unit + ",") })
            }
            // Corrections, late months and refused rows included, every unit-month holds exactly what its agent declared.
            let verify = try pipeline.run(["verify", "--manifests"])
            #expect(
                verify.status == 0 && verify.output.contains("equal the recomputation"), "\(verify.output.suffix(1500))"
            )
            #expect(
                verify.output.contains("holds exactly the records its agent's latest manifest declares"),
                "\(verify.output.suffix(1500))")
            #expect(output.contains("processor leaving the group"))
            // Running again changes nothing: the offsets are stored with the indicators.
            let before = try await pipeline.committedOffsets()
            _ = try pipeline.processAll()
            #expect(try await pipeline.committedOffsets() == before)
            #expect(try await pipeline.storedLines(periods: periods(of: truth)) == stored)
            let indicators = try pipeline.run(["indicators", "--unit", "140403000000", "--period", "2024-02"])
            let line = try #require(truth.first { $0.hasPrefix("140403000000,2024-02,employed,") })
            #expect(
                indicators.output.contains("employed")
                    && indicators.output.contains(String(line.split(separator: ",")[3])),
                "\(indicators.output)")
        }
    }

    @Test("SIGKILL mid-batch three times, SIGTERM, brokers down and up, PostgreSQL connections cut: exactly once")
    func crashesAndOutages() async throws {
        try await Pipeline.with { pipeline in
            let truth = try await pipeline.simulate(seed: 12)
            var total: Int64 = 0
            for topic in [WireTopics.personStatus, WireTopics.unitActivity] { total += try await highWatermarks(topic) }

            // SIGKILL while batches are committing (small batches, so the kill lands inside one).
            var committed: [Int64] = [try await pipeline.committedOffsets()]
            for round in 1...3 {
                let (pid, log) = try pipeline.startProcessor(["--batch-size", "200"], log: "kill-\(round).log")
                let floor = committed.last!
                let progressed = try await waitUntil(120) { try await pipeline.committedOffsets() > floor }
                #expect(
                    progressed,
                    "processor \(round) made progress: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(1500) ?? "")"
                )
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...400)))
                kill(pid, SIGKILL)
                #expect(ChildProcess.wait(pid) == 128 + SIGKILL)
                committed.append(try await pipeline.committedOffsets())
            }
            #expect(committed.last! < total, "the kills came before the end")

            // SIGTERM: the batch in hand is committed and the member leaves the group; exit status 0.
            let (termPID, termLog) = try pipeline.startProcessor(["--batch-size", "200"], log: "term.log")
            let floor = committed.last!
            let termProgressed = try await waitUntil(120) { try await pipeline.committedOffsets() > floor }
            #expect(
                termProgressed,
                "the processor to be stopped made progress first: \((try? String(contentsOfFile: termLog, encoding: .utf8))?.suffix(1500) ?? "")"
            )
            kill(termPID, SIGTERM)
            #expect(ChildProcess.wait(termPID) == 0)
            let termOutput = (try? String(contentsOfFile: termLog, encoding: .utf8)) ?? ""
            #expect(termOutput.contains("processor leaving the group"), "\(termOutput.suffix(1000))")

            // All three brokers down for a while mid-run, then back. The processor may have finished the simulated
            // months by then, so one more record follows the outage (from an agent nobody enrolled: rejected, it
            // counts nowhere) and must be committed.
            let (outagePID, outageLog) = try pipeline.startProcessor(["--batch-size", "200"], log: "outage.log")
            let beforeOutage = try await pipeline.committedOffsets()
            // It commits more before the outage, unless the earlier members left nothing to commit.
            let runningBeforeOutage = try await waitUntil(120) {
                let committed = try await pipeline.committedOffsets()
                return committed > beforeOutage || committed >= total
            }
            #expect(
                runningBeforeOutage, "\((try? String(contentsOfFile: outageLog, encoding: .utf8))?.suffix(1500) ?? "")")
            for broker in 1...3 { #expect(try empmon(["dev", "broker", "down", String(broker)]).status == 0) }
            try await Task.sleep(for: .seconds(3))
            for broker in 1...3 { #expect(try empmon(["dev", "broker", "up", String(broker)]).status == 0) }
            let afterOutage = try await pipeline.committedOffsets()
            try await produce([
                try message(person("b", unit: "140403001001", period: "2024-01", .employed, agent: "outage-probe"))
            ])
            let resumed = try await waitUntil(120) { try await pipeline.committedOffsets() > afterOutage }
            #expect(resumed, "\((try? String(contentsOfFile: outageLog, encoding: .utf8))?.suffix(1500) ?? "")")

            // PostgreSQL cuts the processor's connection, twice; it reconnects and carries on. The processor may
            // have caught up and sit idle, and an idle processor only finds out on its next batch: so each cut is
            // followed by one record (from an agent nobody enrolled, so it is rejected and counts nowhere) that
            // the processor must commit on a connection it no longer has.
            let processorConnections =
                "FROM pg_stat_activity WHERE application_name = 'empmon-processor' AND datname = current_database()"
            for round in 1...2 {
                let connected = try await waitUntil(60) {
                    try await pipeline.query("SELECT count(*)::bigint " + processorConnections, as: Int64.self) == [1]
                }
                #expect(connected, "round \(round): the processor holds its connection")
                let cut = try await pipeline.query(
                    "SELECT count(pg_terminate_backend(pid))::bigint " + processorConnections, as: Int64.self)
                #expect(cut == [1])
                let beforeProbe = try await pipeline.committedOffsets()
                try await produce([
                    try message(
                        person(
                            "c", unit: "140403001001", period: "2024-01", .employed, agent: "connection-probe-\(round)")
                    )
                ])
                let committedAfterCut = try await waitUntil(120) { try await pipeline.committedOffsets() > beforeProbe }
                #expect(committedAfterCut, "round \(round): a batch committed after the cut")
            }
            kill(outagePID, SIGTERM)
            #expect(ChildProcess.wait(outagePID) == 0)
            let outageOutput = (try? String(contentsOfFile: outageLog, encoding: .utf8)) ?? ""
            #expect(outageOutput.contains("retrying"), "the cut connection was noticed and the batch retried")

            _ = try pipeline.processAll()
            #expect(try await pipeline.storedLines(periods: periods(of: truth)) == truth)
            let verify = try pipeline.run(["verify"])
            #expect(verify.status == 0, "\(verify.output.suffix(1500))")
        }
    }

    @Test("Three processors in one group: no deadlock, no double count, nothing lost")
    func threeProcessors() async throws {
        try await Pipeline.with { pipeline in
            let truth = try await pipeline.simulate(
                seed: 13, counties: "140403000000,140427000000,140404000000,140431000000")
            var members: [(pid: Int32, log: String)] = []
            let metricsPort = Int.random(in: 20_000..<30_000)
            for index in 1...3 {
                let metrics = index == 1 ? ["--metrics-port", String(metricsPort)] : []
                members.append(
                    try pipeline.startProcessor(
                        ["--batch-size", "300", "--client-id", "member-\(index)"] + metrics, log: "member-\(index).log")
                )
            }
            // Let them share the work until it is done; then ask them to leave.
            var total: Int64 = 0
            for topic in [WireTopics.personStatus, WireTopics.unitActivity] { total += try await highWatermarks(topic) }
            let finished = try await waitUntil(300) { try await pipeline.committedOffsets() >= total }
            #expect(finished)
            // Member 1's operational numbers, in Prometheus text form.
            let metrics = try await scrapeMetrics(port: metricsPort)
            let accepted = metricValue(metrics, "empmon_processor_records_total{outcome=\"accepted\"}")
            #expect((accepted ?? 0) > 0, "\(metrics.prefix(1500))")
            #expect(
                metrics.contains("empmon_processor_lag_records{")
                    && metrics.contains("empmon_processor_batch_duration_seconds_bucket"))
            for member in members { kill(member.pid, SIGTERM) }
            var logs = ""
            for member in members {
                #expect(ChildProcess.wait(member.pid) == 0)
                logs += (try? String(contentsOfFile: member.log, encoding: .utf8)) ?? ""
            }
            #expect(logs.components(separatedBy: "partitions assigned").count - 1 >= 3, "every member got partitions")
            #expect(try await pipeline.storedLines(periods: periods(of: truth)) == truth)
            let verify = try pipeline.run(["verify"])
            #expect(verify.status == 0, "\(verify.output.suffix(1500))")
        }
    }
}

/// Where both record topics end now, as a group's starting offsets: a group preset with them sees only what is
/// produced after.
func recordTopicEnds() async throws -> [ConsumerOffsets.Start] {
    var starts: [ConsumerOffsets.Start] = []
    for topic in [WireTopics.personStatus, WireTopics.unitActivity] {
        for (partition, end) in try await partitionEnds(topic) {
            starts.append(ConsumerOffsets.Start(topic: topic, partition: partition, next: end))
        }
    }
    return starts
}

/// A processor's `/metrics` page, in Prometheus text form.
func scrapeMetrics(port: Int) async throws -> String {
    let (body, _) = try await URLSession.shared.data(
        from: try #require(URL(string: "http://127.0.0.1:\(port)/metrics")))
    return String(decoding: body, as: UTF8.self)
}

/// The value on the line of `metrics` that starts with `series` (a name, with its labels if it has any).
func metricValue(_ metrics: String, _ series: String) -> Double? {
    metrics.split(separator: "\n").first { $0.hasPrefix(series) }?.split(separator: " ").last.flatMap { Double($0) }
}

/// The sum of a topic's high watermarks: every message ever written to it.
func highWatermarks(_ topic: String) async throws -> Int64 {
    try await partitionEnds(topic).reduce(0) { $0 + $1.end }
}

/// A consumer of the dev stack's brokers in a group of its own (so that it reads without moving anyone's offsets),
/// logging only what is critical: the tests' way of looking at a topic.
func checkingConsumer(group prefix: String) throws -> KafkaConsumer {
    let settings = try #require(try DevHome.resolve(nil).loadSettings(), "run through scripts/test.sh")
    var quiet = Logger(label: "test")
    quiet.logLevel = .critical
    return try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            bootstrapServers: settings.kafkaBootstrap, groupID: "\(prefix)-\(UUID().uuidString)"),
        logger: quiet)
}

/// Each partition's high watermark.
func partitionEnds(_ topic: String) async throws -> [(partition: Int, end: Int64)] {
    try await partitionWatermarks(topic).map { ($0.partition, $0.high) }
}

/// Each partition's oldest kept offset.
func partitionStarts(_ topic: String) async throws -> [Int: Int64] {
    Dictionary(uniqueKeysWithValues: try await partitionWatermarks(topic).map { ($0.partition, $0.low) })
}

/// Each partition's oldest kept offset and high watermark.
func partitionWatermarks(_ topic: String) async throws -> [(partition: Int, low: Int64, high: Int64)] {
    let consumer = try checkingConsumer(group: "watermarks")
    var marks: [(partition: Int, low: Int64, high: Int64)] = []
    for partition in 0..<12 {
        let mark = try await consumer.watermarks(of: KafkaTopicPartition(topic: topic, partition: Int32(partition)))
        marks.append((partition, mark.low, mark.high))
    }
    try await consumer.close()
    return marks
}
