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
import Simulator
import Storage
import TopologyFiles

#if canImport(Glibc)
    import Glibc
#endif

/// `empmon bench recover`: records lost with their control totals between agent and city come back by the
/// receipts loop alone, and how long that takes.
struct RecoveryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract:
            "One county's months delivered while no processor runs, so that the mock broker's retention deletes most of them; then the processor (accepting the loss) and the agent's receipts loop, until the ledger holds every record.",
        discussion: """
            Runs on the dev stack, in a database of its own (empmon_recover). The county's agent delivers its \
            spool at full speed with no processor running: the mock broker keeps ~5 MiB a partition, and a \
            county's records share one partition, so most are deleted unread, control totals with them. The \
            processor then starts with --accept-aged-out-records. The agent flushes every few seconds, reading \
            the city's receipts and sending again, whole, every unit-month not confirmed within --confirm-within; \
            the re-sending waits on the group's lag (as bench city's agents do), since the mock's retention would \
            delete it again otherwise (a production broker keeps a year). Reports the time to recover, the \
            ledger against the agent's records row for row, verify --manifests before and after, and the \
            simulator's ground truth.
            """)

    @Option(help: "The county whose months are lost and recovered.") var county = "140403000000"
    @Option(help: "1.0 ≈ the city's ~1.7 million labour force.") var scale = 1.0
    @Option(help: "Months to simulate.") var months = 2
    @Option(help: "Random seed.") var seed: UInt64 = 2024
    @Option(help: "Seconds the agent gives the city to confirm a delivered unit-month before sending it again.")
    var confirmWithin = 30
    @Option(help: "Records a partition may hold that the group has not committed before a re-send waits.")
    var lagLimit = 4_000
    @Option(help: "Give up after this many seconds of recovery.") var timeout = 1_800
    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard scale > 0, scale <= 1.5 else { throw ValidationError("--scale must be above 0 and at most 1.5") }
        guard (1...12).contains(months) else { throw ValidationError("--months must be 1 to 12") }
        guard (5...3600).contains(confirmWithin) else { throw ValidationError("--confirm-within must be 5 to 3600") }
        guard (500...12_000).contains(lagLimit) else { throw ValidationError("--lag-limit must be 500 to 12000") }
    }

    func run() async throws {
        var quiet = Logger(label: "empmon.bench")
        quiet.logLevel = .critical
        let stack = try BenchStack(home: connection.home)
        let (home, dev, topology) = (stack.home, stack.dev, stack.topology)
        guard let countyCode = DivisionCode(county), topology[countyCode]?.tier == .county else {
            throw ValidationError("--county \(county) is no county of \(topology.city.name)")
        }
        let clock = ContinuousClock()
        let began = clock.now
        func step(_ text: String) { say("[\(String(format: "%6.1f", (clock.now - began).seconds))s] \(text)") }
        var results: [String: Double] = ["scale": scale, "months": Double(months)]

        let url = try await FreshDatabase.create("empmon_recover", on: dev.postgresURL)
        let database = try PostgresClient(url: url, maxConnections: 2)
        _ = try await database.withConnection { try await Schema.migrator().migrate($0) }
        let work = home.path + "/bench-recover"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let agents = try await enrollCountyAgents(
            topology: topology, registry: AgentRegistry(database: database), kafkaBootstrap: dev.kafkaBootstrap,
            root: work + "/agents", note: "恢复")
        guard let agent = agents[countyCode] else { throw ValidationError("no agent for \(county)") }
        let group = "empmon-recover"
        let starts = try await RecordTopics(
            bootstrap: dev.kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics()
        ).ends(logger: quiet)
        try await presetGroupOffsets(starts, group: group, database: database)

        // 1. The county's months into its agent's spool. No late months or corrections: every record is current,
        // so the ledger must end holding each one.
        var options = SimulationOptions()
        options.months = months
        options.scale = scale
        options.seed = seed
        options.start = Period(year: 2024, month: 1) ?? .earliest
        options.counties = [countyCode]
        var spooled = 0
        try SimulationRun.run(
            topology: topology, options: options, out: work + "/simulation", progress: { _ in },
            deliver: { file, _ in spooled += try submitThroughCountyAgent(file, agents: agents, topology: topology) })
        try agent.spool.sync()
        results["spooled"] = Double(spooled)
        step("\(topology[countyCode]?.name ?? county): \(spooled) records spooled in its agent")

        // 2. Delivered at full speed while no processor runs.
        let security = try Edge.kafkaSecurity()
        let delivery = Delivery(
            spool: agent.spool, kafka: try Edge.kafka(dev.kafkaBootstrap), agentID: agent.credentials.agentID,
            logger: quiet)
        let delivered = try await delivery.deliverPending(timeout: .seconds(300))
        guard delivered.failed == 0 else {
            throw ValidationError("the agent could not deliver \(delivered.failed): \(delivered.lastError ?? "")")
        }
        let lows = try await RecordTopics(bootstrap: dev.kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics())
            .starts(logger: quiet)
        let deleted = starts.reduce(Int64(0)) { $0 + max(0, (lows[$1.key] ?? $1.value) - $1.value) }
        results["deleted_by_retention"] = Double(deleted)
        step(
            "delivered \(delivered.delivered) records and \(delivered.manifests) control totals with no processor running; the broker deleted \(deleted) unread"
        )

        // 3. The processor, told to go on from the oldest kept record.
        let watch = LagWatch(starts: starts)
        let monitor = Task { [watch, database] in
            try await watch.run(bootstrap: dev.kafkaBootstrap, database: database, group: group)
        }
        let processor = try ChildProcess.start(
            Edge.empmonExecutable,
            [
                "process", "--postgres-url", url, "--kafka", dev.kafkaBootstrap, "--group", group,
                "--client-id", "empmon-recover", "--metrics-port", "0", "--alert-rules", "none",
                "--accept-aged-out-records",
            ],
            logFile: work + "/processor.log")
        defer {
            monitor.cancel()
            kill(processor, SIGKILL)
            _ = ChildProcess.wait(processor)
        }
        let recoveryStarted = clock.now
        try await watch.waitUntilCommitted(
            try await RecordTopics(bootstrap: dev.kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics()).ends(
                logger: quiet), stall: .seconds(120))
        let before = try await verifyManifests(url: url, log: work + "/verify-before.log")
        results["ledger_rows_before"] = Double(try await ledgerRows(database))
        results["verify_disagreements_before"] = Double(before.disagreements)
        step(
            "the processor caught up with what was kept: the ledger holds \(Int(results["ledger_rows_before"] ?? 0)) rows; verify --manifests names \(before.disagreements) unit-months off their control totals"
        )

        // 4. The agent's loop: receipts read, unconfirmed unit-months sent again, until every record is stored.
        // Watched afresh from here, so that what the re-sending loses (if its pacing failed) is told apart.
        monitor.cancel()
        let resending = LagWatch(starts: watch.committed)
        let resendMonitor = Task { [resending, database] in
            try await resending.run(bootstrap: dev.kafkaBootstrap, database: database, group: group)
        }
        defer { resendMonitor.cancel() }
        var rounds = 0
        var resent = 0
        var status = try agent.status()
        while !Self.allStored(status) {
            guard clock.now - recoveryStarted < .seconds(timeout) else {
                throw ValidationError(
                    "after \(timeout) s \(Self.notStored(status)) records are still not confirmed stored")
            }
            try await Task.sleep(for: .seconds(5))
            let flushed = try await agent.flush(
                timeout: .seconds(300), keepMonths: 100 * 12, now: options.start.advanced(by: months),
                security: security, logger: quiet, confirmWithin: .seconds(confirmWithin),
                beforeChunk: { [resending, lagLimit] in try await resending.waitForRoom(limit: Int64(lagLimit), on: $0)
                })
            rounds += 1
            resent += flushed.outcome.resent
            status = try agent.status()
            if flushed.outcome.resent > 0 || rounds % 6 == 0 {
                step(
                    "flush \(rounds): \(flushed.outcome.resent) unit-months sent again; \(Self.notStored(status)) records not yet confirmed stored"
                )
            }
        }
        try await resending.waitUntilCommitted(
            try await RecordTopics(bootstrap: dev.kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics()).ends(
                logger: quiet), stall: .seconds(120))
        let recovered = (clock.now - recoveryStarted).seconds
        results["recovery_seconds"] = recovered
        results["resent_unit_months"] = Double(resent)
        results["lost_again_to_retention"] = Double(resending.lost)

        // 5. The ledger against the agent's records, verify and the ground truth.
        let sent = Set(try agent.spool.currentRecordIDs(kind: "person").map { $0.lowercased() })
        let stored = try await database.withConnection { connection in
            try await connection.query(
                "SELECT record_id::text FROM person_ledger WHERE unit_code LIKE $1", [String(county.prefix(6)) + "%"]
            ).map { try $0.decode(String.self, at: 0) }
        }
        let storedSet = Set(stored)
        let missing = sent.subtracting(storedSet).count
        let extra = storedSet.subtracting(sent).count
        let after = try await verifyManifests(url: url, log: work + "/verify-after.log")
        let truth = try String(contentsOfFile: work + "/simulation/ground-truth.csv", encoding: .utf8)
        let truthDifferences = try await groundTruthDifferences(csv: truth, database: database)
        results["ledger_rows"] = Double(stored.count)
        results["agent_records"] = Double(sent.count)
        results["missing_from_ledger"] = Double(missing)
        results["not_from_agent"] = Double(extra)
        results["verify_differences"] = Double(after.differences)
        results["verify_disagreements"] = Double(after.disagreements)
        results["ground_truth_differences"] = Double(truthDifferences)

        print("")
        print("Recovery of \(county) at scale \(scale), \(months) months: \(spooled) records")
        print("  deleted by retention before the city read them  \(deleted)")
        print("  ledger rows before recovery                     \(Int(results["ledger_rows_before"] ?? 0))")
        print("  verify --manifests before: unit-months off      \(before.disagreements)")
        print(
            String(
                format: "  recovered in %.1f s (processor start to every record confirmed stored), %d flushes",
                recovered, rounds))
        print("  unit-months sent again                          \(resent)")
        print("  ledger rows / agent's current records           \(stored.count) / \(sent.count)")
        print("  agent's records missing from the ledger         \(missing); ledger rows not the agent's \(extra)")
        print(
            "  verify --manifests after: differences \(after.differences), unit-months off \(after.disagreements); ground truth differences \(truthDifferences); lost again to retention \(resending.lost)"
        )
        if let json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
        if missing > 0 || extra > 0 || resending.lost > 0 || after.differences > 0 || after.disagreements > 0
            || truthDifferences > 0
        {
            throw ExitCode(1)
        }
    }

    static func allStored(_ status: [SpoolMonthStatus]) -> Bool { notStored(status) == 0 }

    static func notStored(_ status: [SpoolMonthStatus]) -> Int {
        status.reduce(0) { $0 + $1.pending + $1.delivered }
    }

    private func ledgerRows(_ database: PostgresClient) async throws -> Int64 {
        try await database.withConnection { connection in
            try await connection.query("SELECT count(*)::bigint FROM person_ledger")[0].decode(Int64.self, at: 0)
        }
    }

    private func verifyManifests(url: String, log: String) async throws -> (differences: Int, disagreements: Int) {
        let pid = try ChildProcess.start(
            Edge.empmonExecutable, ["verify", "--manifests", "--postgres-url", url, "--limit", "10"],
            logFile: log)
        let status = ChildProcess.wait(pid)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard let findings = CityBench.verifyFindings(status: status, output: output) else {
            throw ValidationError("verify failed (status \(status)): \(output.suffix(1000))")
        }
        return findings
    }
}
