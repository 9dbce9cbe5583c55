import Agent
import Alerting
import Analysis
import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Kafka
import Logging
import Postgres
import Processor
import Reporting
import Simulator
import Situation
import Storage
import Synchronization
import TopologyFiles

#if canImport(Glibc)
    import Glibc
#endif

/// `empmon bench city`: the real path at a chosen scale, stage by stage, with each process measured.
struct CityBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "city",
        abstract:
            "The whole city at a chosen scale through county agents, Kafka and N processors; then verify, ground truth, situation, series, forecasts, alerts and report. Time, rate and peak memory per stage.",
        discussion: """
            Runs on the dev stack, in a database of its own (empmon_city, dropped and created anew). Every village's \
            ledger goes through its county's agent (one per county, each with its own spool). The agents deliver \
            together while the processors run, and each waits before a chunk while a partition its records go to \
            holds more than --lag-limit records the group has not committed: the mock broker keeps only ~5 MiB per \
            partition (~25,000 of the agents' zstd-compressed records), and what it deletes unread is lost. The bench watches the watermarks and refuses to report if anything was.
            """)

    @Option(help: "1.0 ≈ the city's ~1.7 million labour force.") var scale = 0.05
    @Option(help: "Months to simulate.") var months = 2
    @Option(help: "Processors in one consumer group, each a process of its own.") var processors = 1
    @Option(help: "Random seed.") var seed: UInt64 = 2024
    @Option(help: "Records a partition may hold that the group has not committed before the agents wait.")
    var lagLimit = 10_000
    @Option(help: "The processors' --recent-persons (0: every batch reads all its persons from PostgreSQL).")
    var recentPersons = ProcessorConfiguration.defaultRecentPersons
    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard scale > 0, scale <= 1.5 else { throw ValidationError("--scale must be above 0 and at most 1.5") }
        guard (1...24).contains(months) else { throw ValidationError("--months must be 1 to 24") }
        guard (1...12).contains(processors) else {
            throw ValidationError("--processors must be 1 to 12 (the topics have 12 partitions)")
        }
        guard (500...20_000).contains(lagLimit) else {
            throw ValidationError("--lag-limit must be 500 to 20000 records")
        }
    }

    func run() async throws {
        var quiet = Logger(label: "empmon.bench")
        quiet.logLevel = .critical
        let stack = try BenchStack(home: connection.home)
        let (home, dev, files, topology) = (stack.home, stack.dev, stack.files, stack.topology)
        let clock = ContinuousClock()
        let began = clock.now
        func step(_ text: String) { say("[\(String(format: "%6.1f", (clock.now - began).seconds))s] \(text)") }
        var results: [String: Double] = ["scale": scale, "months": Double(months), "processors": Double(processors)]
        var stages: [(name: String, seconds: Double)] = []

        let url = try await FreshDatabase.create("empmon_city", on: dev.postgresURL)
        let database = try PostgresClient(url: url, maxConnections: 2)
        _ = try await database.withConnection { try await Schema.migrator().migrate($0) }
        let work = home.path + "/bench-city"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let agents = try await enrollCountyAgents(
            topology: topology, registry: AgentRegistry(database: database), kafkaBootstrap: dev.kafkaBootstrap,
            root: work + "/agents",
            note: "基准")
        let group = "empmon-city"
        let starts = try await RecordTopics(
            bootstrap: dev.kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics()
        ).ends(logger: quiet)
        try await presetGroupOffsets(starts, group: group, database: database)
        step(
            "database empmon_city, \(agents.count) county agents enrolled; the group \(group) starts at the topics' current ends"
        )

        // 1. The city, village by village, into its county agents' spools (as the clerks' files would arrive).
        var options = SimulationOptions()
        options.months = months
        options.scale = scale
        options.seed = seed
        options.start = Period(year: 2024, month: 1) ?? .earliest
        options.lateShare = 0.03
        options.correctionShare = 0.03
        var spooled = 0
        ProcessMemory.resetPeak()
        let simulated = try clock.measure {
            try SimulationRun.run(
                topology: topology, options: options, out: work + "/simulation", progress: { step("simulated " + $0) }
            ) { file, _ in
                spooled += try submitThroughCountyAgent(file, agents: agents, topology: topology)
            }
            for workspace in agents.values { try workspace.spool.sync() }
        }
        stages.append(("simulate_and_spool", simulated.seconds))
        results["spooled"] = Double(spooled)
        results["spool_per_s"] = Double(spooled) / simulated.seconds
        results["simulator_and_agents_peak_memory_mib"] = ProcessMemory.peakMiB()
        step(
            "spooled \(spooled) signed records in the county agents (simulation included): \(Int(Double(spooled) / simulated.seconds)) records/s"
        )

        // 2. The processors start, then every agent delivers at once, paced by the group's lag.
        let watch = LagWatch(starts: starts)
        let executable = Edge.empmonExecutable
        var pids: [Int32] = []
        for index in 0..<processors {
            pids.append(
                try ChildProcess.start(
                    executable,
                    [
                        "process", "--postgres-url", url, "--kafka", dev.kafkaBootstrap, "--group", group,
                        "--client-id", "empmon-city-\(index)",
                        "--metrics-port", "0", "--alert-rules", "none", "--accept-aged-out-records",
                        "--recent-persons", "\(recentPersons)",
                    ],
                    logFile: work + "/processor-\(index).log"))
        }
        let monitor = Task { [watch, database] in
            try await watch.run(bootstrap: dev.kafkaBootstrap, database: database, group: group)
        }
        let processed: (delivered: Int, consumed: Int64, seconds: Double, peaks: [Double], cpu: StageCPU)
        do {
            processed = try await deliverAndProcess(
                agents: agents, watch: watch, pids: pids, bootstrap: dev.kafkaBootstrap, logger: quiet)
        } catch {
            monitor.cancel()
            for pid in pids { kill(pid, SIGKILL) }
            for pid in pids { _ = ChildProcess.wait(pid) }
            throw error
        }
        monitor.cancel()
        stages.append(("deliver_and_process", processed.seconds))
        results["records"] = Double(processed.delivered)
        results["records_committed"] = Double(processed.consumed)
        results["processor_per_s"] = Double(processed.consumed) / processed.seconds
        results["processor_peak_memory_mib"] = processed.peaks.max() ?? 0
        results["largest_partition_lag"] = Double(watch.largestLagSeen)
        // Where the stage's CPU went, in cores (of the machine's): what bounds it.
        results["stage_cores_busy"] = processed.cpu.busy / processed.seconds
        results["stage_cores_processors"] = processed.cpu.processors / processed.seconds
        results["stage_cores_agents"] = processed.cpu.bench / processed.seconds
        results["stage_cores_postgres_brokers_rest"] =
            max(0, processed.cpu.busy - processed.cpu.processors - processed.cpu.bench) / processed.seconds
        let logged = (0..<processors).reduce(0) { total, index in
            let log = (try? String(contentsOfFile: work + "/processor-\(index).log", encoding: .utf8)) ?? ""
            return total + log.components(separatedBy: "deleted by the broker's retention").count - 1
        }
        let lost = watch.lost
        results["lost_to_retention"] = Double(lost)
        guard lost == 0, logged == 0 else {
            throw ValidationError(
                "the mock's retention deleted \(lost) records before the group read them (the processors logged it \(logged) times); "
                    + "no figures are reported. Lower --lag-limit.")
        }
        step(
            "the agents delivered \(processed.delivered) records; \(processors) processor(s) committed \(processed.consumed) records in \(String(format: "%.1f", processed.seconds)) s: "
                + "\(Int(results["processor_per_s"] ?? 0)) records/s; peak memory \(Int(results["processor_peak_memory_mib"] ?? 0)) MiB; "
                + "nothing lost to retention (largest partition lag \(watch.largestLagSeen))")
        step(
            String(
                format:
                    "CPU over that stage, in cores of %d: busy %.2f; processor(s) %.2f, agents (this process) %.2f, PostgreSQL, brokers and the rest %.2f",
                StageCPU.cores, results["stage_cores_busy"] ?? 0, results["stage_cores_processors"] ?? 0,
                results["stage_cores_agents"] ?? 0, results["stage_cores_postgres_brokers_rest"] ?? 0))

        // 3. verify, as its own process, and the simulator's ground truth.
        let verifyStarted = clock.now
        let verifyPID = try ChildProcess.start(
            executable, ["verify", "--manifests", "--postgres-url", url, "--limit", "10"], logFile: work + "/verify.log"
        )
        let verified = await ChildProcess.waitMeasuringMemory(verifyPID)
        stages.append(("verify", (clock.now - verifyStarted).seconds))
        let verifyOutput = (try? String(contentsOfFile: work + "/verify.log", encoding: .utf8)) ?? ""
        guard let (differences, disagreements) = Self.verifyFindings(status: verified.status, output: verifyOutput)
        else {
            throw ValidationError("verify failed (status \(verified.status)): \(verifyOutput.suffix(1000))")
        }
        results["verify_differences"] = Double(differences)
        results["control_total_disagreements"] = Double(disagreements)
        results["verify_peak_memory_mib"] = verified.peakMemoryMiB
        let truthStarted = clock.now
        let truth = try String(contentsOfFile: work + "/simulation/ground-truth.csv", encoding: .utf8)
        let truthDifferences = try await groundTruthDifferences(csv: truth, database: database)
        stages.append(("ground_truth", (clock.now - truthStarted).seconds))
        results["ground_truth_differences"] = Double(truthDifferences)
        step(
            "verify: \(differences) differences, \(disagreements) unit-months off their control totals, peak memory \(Int(verified.peakMemoryMiB)) MiB; ground truth: \(truthDifferences) differences"
        )

        // 4. What analysts and the report read, on the stored months.
        ProcessMemory.resetPeak()
        let last = options.start.advanced(by: months - 1)
        let targetFile = try files.loadTargets()
        let targets = UnitTargets(
            year: targetFile.year, city: targetFile.unit, targets: targetFile.targets, scale: scale)
        let query = SituationQuery(database: database, topology: topology, targets: targets)
        var measured = clock.now
        func lap(_ name: String) {
            stages.append((name, (clock.now - measured).seconds))
            measured = clock.now
        }
        for tier in Tier.allCases { _ = try await query.situation(tier: tier, period: last) }
        lap("situation_four_tiers")
        for county in topology.children(of: topology.city.code) {
            _ = try await query.series(unit: county.code, indicator: .employed, from: options.start, through: last)
        }
        lap("series_every_county")
        // The forecasters need three months of history; a shorter run says so rather than fail.
        var forecastNote = "no forecasts (they need at least 3 months; this run has \(months))"
        if months >= 3 {
            let forecast = try await StoredForecasts(database: database, topology: topology)
                .run(indicator: .newUrbanEmployment, horizon: 6, batch: BatchForecast())
            lap("forecast_reconciled_all_units")
            results["forecast_units"] = Double(forecast.forecasts.count)
            forecastNote = "forecasts of \(forecast.forecasts.count) units"
        }
        var alertLogger = quiet
        alertLogger.logLevel = .error
        let rules = try Edge.alertRules(nil, files: files)
        let alerts = try await AlertEngine(
            database: database, topology: topology, configuration: rules, targets: targets, logger: alertLogger
        )
        .evaluate()
        lap("alert_evaluation")
        results["alert_rule_units"] = Double(alerts.evaluated)
        let report = try await ReportBuilder(database: database, topology: topology, targets: targets).build(
            period: last)
        try writeOutput(ReportHTML.render(report), to: work + "/report-\(last).html")
        lap("monthly_report")
        results["analysis_peak_memory_mib"] = ProcessMemory.peakMiB()
        step("situation, series, \(forecastNote), \(alerts.evaluated) rule-units and the \(last) report")

        print("")
        print(
            String(
                format: "City at scale %g, %d months, %d processor(s): %.0f records", scale, months, processors,
                results["records"] ?? 0))
        for (name, seconds) in stages {
            print("  " + name.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%8.1f s", seconds))
        }
        print(
            String(
                format: "  agents spool            %10.0f records/s (simulation included)", results["spool_per_s"] ?? 0)
        )
        print(String(format: "  processors commit       %10.0f records/s", results["processor_per_s"] ?? 0))
        print(
            String(
                format:
                    "  peak memory: processor %.0f MiB (≤ 1.5 GiB), verify %.0f MiB (≤ 2 GiB), simulator+agents %.0f MiB, analysis %.0f MiB",
                results["processor_peak_memory_mib"] ?? 0, results["verify_peak_memory_mib"] ?? 0,
                results["simulator_and_agents_peak_memory_mib"] ?? 0, results["analysis_peak_memory_mib"] ?? 0))
        print(
            "  verify differences \(differences), control-total disagreements \(disagreements), ground-truth differences \(truthDifferences), lost to retention \(lost)"
        )
        if let json {
            var object: [String: Any] = results
            object["stages"] = Dictionary(stages.map { ($0.name, $0.seconds) }, uniquingKeysWith: +)
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
        if differences > 0 || disagreements > 0 || truthDifferences > 0 { throw ExitCode(1) }
    }

    /// Every agent delivers at once, each waiting on the lag before a chunk; then waits until the group has
    /// committed everything delivered, and stops the processors (SIGTERM: they commit and leave).
    private func deliverAndProcess(
        agents: [DivisionCode: AgentWorkspace], watch: LagWatch, pids: [Int32], bootstrap: String, logger: Logger
    ) async throws -> (delivered: Int, consumed: Int64, seconds: Double, peaks: [Double], cpu: StageCPU) {
        let clock = ContinuousClock()
        let started = clock.now
        let busyAtStart = StageCPU.machineBusySeconds()
        let benchAtStart = StageCPU.processSeconds("self")
        let limit = Int64(lagLimit)
        let outcome = try await withThrowingTaskGroup(of: Delivery.Outcome.self) { tasks in
            for workspace in agents.values {
                var delivery = Delivery(
                    spool: workspace.spool, kafka: try Edge.kafka(workspace.credentials.kafkaBootstrap),
                    agentID: workspace.credentials.agentID,
                    logger: logger)
                // Small chunks bound how far past the limit a partition can go (agents that share it add up).
                delivery.chunkSize = 2_000
                delivery.beforeChunk = { try await watch.waitForRoom(limit: limit, on: $0) }
                tasks.addTask { try await delivery.deliverPending(timeout: .seconds(300)) }
            }
            var total = Delivery.Outcome()
            for try await outcome in tasks {
                total.delivered += outcome.delivered
                total.failed += outcome.failed
                total.lastError = outcome.lastError ?? total.lastError
            }
            return total
        }
        guard outcome.failed == 0 else {
            throw ValidationError("the agents could not deliver \(outcome.failed) records: \(outcome.lastError ?? "")")
        }
        let ends = try await RecordTopics(bootstrap: bootstrap, topics: try Edge.topologyFiles().loadTopics()).ends(
            logger: logger)
        try await watch.waitUntilCommitted(ends, stall: .seconds(300))
        let seconds = (clock.now - started).seconds
        let cpu = StageCPU(
            busy: StageCPU.machineBusySeconds() - busyAtStart,
            processors: pids.reduce(0) { $0 + StageCPU.processSeconds("\($1)") },
            bench: StageCPU.processSeconds("self") - benchAtStart)
        for pid in pids { kill(pid, SIGTERM) }
        var peaks: [Double] = []
        for pid in pids {
            let (status, peak) = await ChildProcess.waitMeasuringMemory(pid)
            guard status == 0 else { throw ValidationError("processor \(pid) exited with status \(status)") }
            peaks.append(peak)
        }
        return (outcome.delivered, watch.consumed, seconds, peaks, cpu)
    }

    /// verify's indicator differences and control-total disagreements, from its exit status and summary
    /// lines; nil when it failed otherwise.
    static func verifyFindings(status: Int32, output: String) -> (differences: Int, disagreements: Int)? {
        guard status == 0 || status == 1 else { return nil }
        let lines = output.split(separator: "\n")
        guard let indicators = lines.last(where: { $0.contains(" indicator values over ") }),
            let totals = lines.last(where: { $0.hasPrefix("control totals: ") })
        else { return nil }
        let differences = indicators.hasPrefix("verified: ") ? 0 : Int(indicators.split(separator: " ").first ?? "")
        let disagreements =
            totals.contains("every unit-month") ? 0 : Int(totals.split(separator: " ").dropFirst(2).first ?? "")
        guard let differences, let disagreements else { return nil }
        return (differences, disagreements)
    }
}

/// CPU seconds spent over a stage: the machine's busy time (from /proc/stat), the processors' (children started
/// for the stage, so their whole lives), and this process's (the agents and the lag watch).
struct StageCPU {
    let busy: Double
    let processors: Double
    let bench: Double

    static let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    private static let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// The machine's busy CPU seconds since boot (every state but idle and I/O wait), over all cores.
    static func machineBusySeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        let idle = fields.count > 4 ? fields[3] + fields[4] : 0
        return (fields.prefix(8).reduce(0, +) - idle) / ticks
    }

    /// A process's user and system CPU seconds (`/proc/<pid>/stat` fields 14 and 15); 0 when it is gone.
    static func processSeconds(_ pid: String) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command's closing parenthesis start at field 3 (the state).
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticks
    }
}
