import Agent
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

/// `empmon bench agent`: the grassroots agent at the city's real size.
///
/// 1. One village's submit (the real command, in its own process) with an empty spool, and again after
///    `--fill` records were spooled and delivered: the spool's cost must follow the submission, not the history.
/// 2. A county's month at scale 1.0: every village's ledger (the city's labour force per village × the county's
///    villages) submitted and then delivered by one agent process, with that process's peak memory.
/// Beside them, the raw limit in the same run: librdkafka producing the same number of messages of the same size.
struct AgentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The agent: one village's submit on an empty and on a full spool; a county's month at scale 1.0.")

    @Option(help: "County whose month is submitted (default: the county with the most villages).") var county: String?
    @Option(help: "Records spooled and delivered before the second village submit.") var fill = 1_000_000
    @Option(help: "Labour force of the whole city (scale 1.0).") var cityLabourForce = 1_700_000
    @Option(help: "Repetitions of each village submit (the median is reported).") var repeats = 5
    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let topology = try Edge.topologyFiles().loadTopology()
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap, home: connection.home)
        let counties = topology.children(of: topology.city.code)
        let chosen: Division
        if let county {
            let code = try resolveUnit(county, in: topology).code
            guard let found = counties.first(where: { $0.code == code }) else {
                throw ValidationError("--county: \(county) is not a county")
            }
            chosen = found
        } else {
            guard
                let largest = counties.max(by: {
                    topology.units(of: .village, under: $0.code).count
                        < topology.units(of: .village, under: $1.code).count
                })
            else { throw ValidationError("the topology has no counties") }
            chosen = largest
        }
        let perVillage = max(1, cityLabourForce / max(1, topology.count(of: .village)))
        let villages = topology.units(of: .village, under: chosen.code)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-agent-bench-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let registry = AgentRegistry(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
        let key = AgentSigningKey()
        let credentials = try await registry.enroll(
            unit: chosen, name: "bench \(chosen.name)", kafkaBootstrap: settings.kafkaBootstrap,
            publicKey: key.publicKey)
        let credentialsFile = root + "/credentials.json"
        guard
            FileManager.default.createFile(
                atPath: credentialsFile, contents: try JSONEncoder().encode(credentials),
                attributes: [.posixPermissions: 0o600])
        else { throw ValidationError("cannot write \(credentialsFile)") }
        var results: [String: Double] = [
            "per_village_persons": Double(perVillage), "county_villages": Double(villages.count),
        ]
        var quiet = Logger(label: "empmon.bench")
        quiet.logLevel = .critical

        // 1. One village's submit, empty spool then full.
        let probeHome = root + "/probe"
        _ = try AgentWorkspace.initialize(home: probeHome, credentialsFile: credentialsFile, registeredKey: key)
        let village = villages[0].code
        let probeFile = root + "/probe.csv"
        try Data(BenchLedger.csv(village: village, persons: perVillage, first: 0).utf8).write(
            to: URL(fileURLWithPath: probeFile))
        print("one village (\(perVillage) persons): submit with an empty spool …")
        results["submit_empty_s"] = try medianSubmit(home: probeHome, file: probeFile, unit: village, period: "2024-01")
        print(String(format: "  %.3f s", results["submit_empty_s"] ?? 0))
        print("spooling and delivering \(fill) records …")
        let filled = try await fillSpool(
            home: probeHome, topology: topology, county: chosen.code, records: fill, perVillage: perVillage,
            logger: quiet)
        results["fill_records"] = Double(filled.records)
        results["fill_spool_s"] = filled.spool
        results["fill_deliver_s"] = filled.deliver
        print("one village: submit after \(filled.records) records …")
        results["submit_after_1m_s"] = try medianSubmit(
            home: probeHome, file: probeFile, unit: village, period: "2024-02")
        results["submit_ratio"] = (results["submit_after_1m_s"] ?? 0) / max(1e-9, results["submit_empty_s"] ?? 1)
        print(
            String(
                format: "  %.3f s (%.2f× the empty spool)", results["submit_after_1m_s"] ?? 0,
                results["submit_ratio"] ?? 0))

        // 2. A county's month, in one agent process.
        let ledgers = root + "/ledgers"
        try FileManager.default.createDirectory(atPath: ledgers, withIntermediateDirectories: true)
        for (index, unit) in villages.enumerated() {
            try Data(BenchLedger.csv(village: unit.code, persons: perVillage, first: index * perVillage).utf8)
                .write(to: URL(fileURLWithPath: ledgers + "/\(unit.code).csv"))
        }
        let countyHome = root + "/county"
        _ = try AgentWorkspace.initialize(home: countyHome, credentialsFile: credentialsFile, registeredKey: key)
        print(
            "\(chosen.name): \(villages.count) villages × \(perVillage) persons, submitted and delivered by one agent process …"
        )
        let output = root + "/county.json"
        let worker = try ChildProcess.run(
            ChildProcess.currentExecutable,
            [
                "agent-county", "--home", countyHome, "--ledgers", ledgers, "--period", "2024-03", "--json",
                output,
            ])
        guard worker.status == 0, let data = FileManager.default.contents(atPath: output),
            let county = try JSONSerialization.jsonObject(with: data) as? [String: Double]
        else { throw ValidationError("the county agent failed (\(worker.status)): \(worker.output.suffix(800))") }
        results.merge(county) { $1 }

        // The raw limit: librdkafka producing as many messages of the same size, in this run.
        let records = Int(results["county_month_records"] ?? 0)
        let size = Int(results["county_month_payload_bytes"] ?? 200)
        print("raw limit: producing \(records) messages of \(size) bytes with librdkafka …")
        // A topic of its own, so that the raw messages never reach a processor; on the dev mock, through its control socket.
        let rawTopic = "empmon.bench.agent-raw"
        if let dev = try? DevHome.resolve(connection.home).loadSettings() {
            _ = try? MockKafkaControl.send("create-topic \(rawTopic) 12 1", socketPath: dev.kafka.controlSocket)
        }
        results["raw_produce_per_s"] = try await rawProduce(
            bootstrap: settings.kafkaBootstrap, topic: rawTopic, messages: records, size: size, logger: quiet)

        print("")
        print(String(format: "village submit, empty spool           %8.3f s", results["submit_empty_s"] ?? 0))
        print(
            String(
                format: "village submit, after %7.0f records %8.3f s   (%.2f×; target ≤ 2×)",
                results["fill_records"] ?? 0, results["submit_after_1m_s"] ?? 0, results["submit_ratio"] ?? 0))
        print(String(format: "county month: %.0f records", results["county_month_records"] ?? 0))
        print(
            String(
                format: "  spooled in                          %8.1f s   (%.0f records/s; target < 60 s)",
                results["county_month_spool_s"] ?? 0,
                (results["county_month_records"] ?? 0) / max(1e-9, results["county_month_spool_s"] ?? 1)))
        print(
            String(
                format: "  delivered in                        %8.1f s   (%.0f records/s; target < 60 s)",
                results["county_month_deliver_s"] ?? 0,
                (results["county_month_records"] ?? 0) / max(1e-9, results["county_month_deliver_s"] ?? 1)))
        print(
            String(
                format: "  raw librdkafka produce              %8.0f /s  (raw limit)", results["raw_produce_per_s"] ?? 0
            ))
        print(
            String(
                format: "  agent peak memory (VmHWM)           %8.0f MiB (target < 300)",
                results["peak_memory_mib"] ?? 0))
        if let json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
    }

    /// The median wall time of `empmon agent submit --offline` for one village file.
    private func medianSubmit(home: String, file: String, unit: DivisionCode, period: String) throws -> Double {
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<max(1, repeats) {
            var status: Int32 = 0
            var output = ""
            let elapsed = try clock.measure {
                (status, output) = try ChildProcess.run(
                    Edge.empmonExecutable,
                    [
                        "agent", "submit", "--period", period, file, "--unit", unit.description, "--offline", "--home",
                        home,
                    ])
            }
            guard status == 0 else { throw ValidationError("village submit failed: \(output)") }
            times.append(elapsed.seconds)
        }
        return times.sorted()[times.count / 2]
    }

    /// Spools `records` persons over the county's villages and months (in bulk, as the simulator does) and
    /// delivers them for real.
    private func fillSpool(
        home: String, topology: Topology, county: DivisionCode, records: Int, perVillage: Int, logger: Logger
    ) async throws -> (
        records: Int, spool: Double, deliver: Double
    ) {
        let workspace = try AgentWorkspace(home: home, durable: false)
        let villages = topology.units(of: .village, under: county)
        let latest = Period(year: 9999, month: 12) ?? .earliest
        let clock = ContinuousClock()
        var spooled = 0
        var file = 0
        let spoolTime = try clock.measure {
            while spooled < records {
                // Months before the probe's, so the probe's month has only its own earlier submissions.
                let period = Period(year: 2022, month: 1)?.advanced(by: file / villages.count) ?? .earliest
                let village = villages[file % villages.count].code
                let text = BenchLedger.csv(
                    village: village, persons: min(perVillage, records - spooled),
                    first: (file % villages.count) * perVillage)
                let report = try workspace.submitPersons(
                    file: "fill.csv", bytes: Array(text.utf8), period: period, unit: village, topology: topology,
                    latestPeriod: latest,
                    skipInvalid: true, reportMissing: false)
                spooled += report.spooled
                file += 1
            }
            try workspace.spool.sync()
        }
        var outcome = Delivery.Outcome()
        let deliverTime = try await clock.measure {
            // Retention is long enough here that nothing of the fill is compacted: the probe meets the full spool.
            (_, outcome) = try await workspace.flush(
                timeout: .seconds(120), keepMonths: 1200, now: latest, security: try Edge.kafkaSecurity(),
                logger: logger)
        }
        guard outcome.failed == 0 else {
            throw ValidationError(
                "filling the spool: \(outcome.failed) records not delivered (\(outcome.lastError ?? ""))")
        }
        return (spooled, spoolTime.seconds, deliverTime.seconds)
    }

    private func rawProduce(bootstrap: String, topic: String, messages: Int, size: Int, logger: Logger) async throws
        -> Double
    {
        guard messages > 0 else { return 0 }
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: bootstrap), logger: logger)
        let payload = [UInt8](repeating: 0x42, count: size)
        let elapsed = try await ContinuousClock().measure {
            for index in 0..<messages {
                try await producer.send(KafkaProducerMessage(topic: topic, key: "1404\(index % 12)", value: payload))
            }
            try await producer.flush(timeout: .seconds(300))
        }
        return Double(messages) / elapsed.seconds
    }
}

/// The county half of `empmon bench agent`, in its own process so that its peak memory is the agent's alone.
struct AgentCountyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-county",
        abstract: "Submit every <unit>.csv in a folder through one agent, then deliver (used by `bench agent`).",
        shouldDisplay: false)

    @Option var home: String
    @Option var ledgers: String
    @Option var period: String
    @Option var json: String

    func run() async throws {
        guard let period = Period(period) else { throw ValidationError("--period must be YYYY-MM") }
        let topology = try Edge.topologyFiles().loadTopology()
        let workspace = try AgentWorkspace(home: home)
        var quiet = Logger(label: "empmon.bench")
        quiet.logLevel = .critical
        let files = try FileManager.default.contentsOfDirectory(atPath: ledgers).filter { $0.hasSuffix(".csv") }
            .sorted()
        let clock = ContinuousClock()
        var records = 0
        var rejected = 0
        let spoolTime = try clock.measure {
            for name in files {
                guard let unit = DivisionCode(String(name.dropLast(4))),
                    let bytes = FileManager.default.contents(atPath: ledgers + "/" + name)
                else { continue }
                let report = try workspace.submitPersons(
                    file: name, bytes: Array(bytes), period: period, unit: unit, topology: topology,
                    latestPeriod: period, skipInvalid: false)
                records += report.spooled
                rejected += report.errors.count
            }
        }
        let payloadBytes = try workspace.spool.pending(limit: 1).first?.record.payload.count ?? 0
        var outcome = Delivery.Outcome()
        let deliverTime = try await clock.measure {
            (_, outcome) = try await workspace.flush(
                timeout: .seconds(120), now: period, security: try Edge.kafkaSecurity(), logger: quiet)
        }
        let results: [String: Double] = [
            "county_month_records": Double(records), "county_month_rejected_rows": Double(rejected),
            "county_month_spool_s": spoolTime.seconds, "county_month_deliver_s": deliverTime.seconds,
            "county_month_delivered": Double(outcome.delivered), "county_month_payload_bytes": Double(payloadBytes),
            "peak_memory_mib": ProcessMemory.peakMiB(),
        ]
        try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys]).write(
            to: URL(fileURLWithPath: json))
        guard outcome.failed == 0, outcome.delivered == records else {
            throw ValidationError(
                "\(records - outcome.delivered) of \(records) records not delivered: \(outcome.lastError ?? "")")
        }
    }
}

/// Village ledgers as clerks keep them (the simulator's columns), with valid, distinct ID numbers.
enum BenchLedger {
    static let header = "序号,姓名,身份证号,户编号,联系电话,就业状态,就业形式,就业地点,行业,登记失业,人员类别,求职,帮扶,培训,收入档次"

    /// `persons` rows; person `first + row` of the county gets the same ID number in every call, and distinct
    /// ones get distinct numbers (up to 14 million), so one county's villages never share a person by chance.
    static func csv(village: DivisionCode, persons: Int, first: Int) -> String {
        var generator = SeededGenerator(seed: UInt64(first) &* 2_654_435_761 &+ 17)
        var lines = [header]
        lines.reserveCapacity(persons + 1)
        let county = String(village.description.prefix(6))
        for row in 0..<persons {
            let person = first + row
            let body =
                county
                + String(
                    format: "%04d%02d%02d%03d", 1965 + (person / 336) % 42, 1 + (person / 28) % 12, 1 + person % 28,
                    (person / 14_112) % 1000)
            let id = ResidentID.appendingCheckCharacter(to: body) ?? body
            let draw = Int.random(in: 0..<100, using: &generator)
            let employed = draw < 88
            let status = employed ? "就业" : (draw < 95 ? "失业" : "未在劳动力中")
            let form = employed ? ["单位就业", "灵活就业", "自主创业", "公益性岗位"][draw % 4] : ""
            let location = employed ? ["本地", "省内", "省外"][draw % 3] : ""
            let sector = employed ? ["A", "C", "E", "F", "H"][draw % 5] : ""
            let registered = status == "失业" ? "是" : "否"
            let groups = draw % 3 == 0 ? "农村劳动力" : (draw % 7 == 0 ? "高校毕业生" : "")
            lines.append(
                "\(row + 1),某某\(row),\(id),H\(person / 3),1380000\(String(format: "%04d", row % 10_000)),\(status),\(form),\(location),\(sector),\(registered),\(groups),否,否,否,"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
