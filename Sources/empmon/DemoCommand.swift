import Agent
import Alerting
import Analysis
import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Hummingbird
import Kafka
import Logging
import Postgres
import Processor
import Reporting
import Serve
import Simulator
import Situation
import Storage
import Synchronization
import TopologyFiles
import Wire

/// The README's main job (`scripts/demo.sh`): a year of the whole city, at a small scale, through county agents, Kafka and the
/// processor into PostgreSQL, checked from scratch; then the city's and counties' situation, forecasts,
/// alerts and the month's report.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Enrol county agents, simulate a year of the city, send it through agents and the processor, verify, show the situation, forecast, alert, report."
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Months to simulate.") var months = 12
    @Option(help: "1.0 ≈ the city's ~1.7 million labour force.") var scale = 0.001
    @Option(help: "Random seed.") var seed: UInt64 = 2024
    @Option(help: "First month, YYYY-MM.") var start = "2024-01"
    @Option(help: "Serve the dashboard on this port at the end until Ctrl-C (0: do not serve).") var servePort = 8080

    func validate() throws {
        guard (1...24).contains(months) else { throw ValidationError("--months must be 1 to 24") }
        guard scale > 0, scale <= 0.05 else {
            throw ValidationError("--scale must be above 0 and at most 0.05 for the demo")
        }
        guard Period(start) != nil else { throw ValidationError("--start must be YYYY-MM") }
    }

    func run() async throws {
        let home = DevHome.resolve(connection.home)
        guard let dev = try home.loadSettings() else {
            throw ValidationError(
                "the demo runs on the dev stack; start it with `empmon dev up` (looked in \(home.path))")
        }
        let settings = try ConnectionSettings.resolve(
            postgresURL: dev.postgresURL, kafkaBootstrap: dev.kafkaBootstrap, home: home.path)
        let files = try Edge.topologyFiles()
        let demo = DemoRun(
            settings: settings, files: files, topology: try files.loadTopology(),
            database: try PostgresClient(url: settings.postgresURL, maxConnections: 2), workRoot: home.path + "/demo",
            group: group)

        // 0. A clean slate on the dev stack: no earlier data, and the processor starts where the topics end now.
        let starts = try await resetDevData(
            database: demo.database, kafkaBootstrap: settings.kafkaBootstrap, group: group)
        demo.step(
            "cleared the dev database; the processor group \(group) starts at the current end of the record topics")

        // 1. One agent per county, as the counties' service centres would run them.
        let agents = try await enrollCountyAgents(
            topology: demo.topology, registry: AgentRegistry(database: demo.database),
            kafkaBootstrap: settings.kafkaBootstrap, root: demo.workRoot, note: "演示")
        demo.step("enrolled \(agents.count) county agents")

        // 2. A year of the city: every village's ledger and every station's report through its county's agent.
        let options = simulationOptions
        try demo.simulate(options, through: agents)

        // 3–4. The processor while the agents deliver, then the stored figures checked from scratch.
        try await demo.deliverAndProcess(agents: agents, starts: starts)
        try await demo.verify()

        // 5. The situation, from the query library the CLI and the API share; targets scaled like the city.
        let last = options.start.advanced(by: months - 1)
        let targetFile = try files.loadTargets()
        let targets = UnitTargets(
            year: targetFile.year, city: targetFile.unit, targets: targetFile.targets, scale: scale)
        try await printSituation(
            SituationQuery(database: demo.database, topology: demo.topology, targets: targets), period: last)

        // 6–8. Forecasts, the alert rules on the demo's clock, the month's report.
        try await demo.forecast()
        try await demo.evaluateAlerts(targets: targets, now: Self.demoClock(last: last))
        let countyMap = try files.loadCountyMap(for: demo.topology)
        try await demo.writeReport(period: last, targets: targets, countyMap: countyMap)
        say(
            """

            Next (the dev stack keeps the data; targets are scaled to the simulated city with EMPMON_TARGET_SCALE=\(scale)):
              export EMPMON_TARGET_SCALE=\(scale)
              empmon query situation --tier county --period \(last)
              empmon query series --unit 潞州区 --indicator employed --from \(options.start) --to \(last)
              empmon alerts list --state firing
              empmon report --period \(last) --out report.html
              empmon process   (keeps running, evaluates the alert rules after each commit)
            """)

        // 9. The dashboard, with a city analyst's token, until Ctrl-C.
        guard servePort > 0 else { return }
        try await demo.serveDashboard(port: servePort, targets: targets, countyMap: countyMap, period: last)
    }

    private var simulationOptions: SimulationOptions {
        var options = SimulationOptions()
        options.months = months
        options.scale = scale
        options.seed = seed
        options.start = Period(start) ?? .earliest
        options.lateShare = 0.03
        options.correctionShare = 0.03
        options.malformedShare = 0.002
        // The demo's clock stands two days before the last month's reports close: about a fifth of its villages
        // have not reported yet, so the table shows it as preliminary, with an estimate beside the reported figure.
        options.endsOnDay = Self.reportsEndOnDay
        return options
    }

    private var group: String { "empmon-processor" }

    /// The day of the month after the last on which the demo's year ends: reports are due by the 10th.
    static let reportsEndOnDay = 8

    /// Noon, China time, on the day the demo's year ends.
    static func demoClock(last: Period) -> Date {
        let day = DateComponents(year: last.next.year, month: last.next.month, day: reportsEndOnDay, hour: 12)
        return ChinaTime.calendar.date(from: day) ?? Date()
    }

    /// Clears the dev database and points the processor group at the record topics' current ends, which it returns.
    private func resetDevData(
        database: PostgresClient, kafkaBootstrap: String, group: String
    ) async throws -> [KafkaTopicPartition: Int64] {
        var quiet = Logger(label: "empmon.demo")
        quiet.logLevel = .critical
        let ends = try await RecordTopics(bootstrap: kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics())
            .ends(logger: quiet)
        try await database.withConnection { connection in
            try await connection.withTransaction { connection in
                try await MonitoringData.clear(on: connection)
                try await ConsumerOffsets.preset(
                    group: group,
                    ends.map {
                        ConsumerOffsets.Start(topic: $0.key.topic, partition: Int($0.key.partition), next: $0.value)
                    },
                    on: connection)
            }
        }
        return ends
    }

    private func printSituation(_ query: SituationQuery, period: Period) async throws {
        let topology = query.topology
        var rows: [[String]] = []
        // Eight tables of one month: the estimate for villages still due is read once, as the report does.
        let estimate = SituationQuery.EstimateSource.given(try await query.estimate(for: period))
        func table(_ tier: Tier, _ indicator: IndicatorID) async throws -> SituationTable {
            try await query.situation(tier: tier, period: period, indicator: indicator, estimate: estimate)
        }
        let nue = try await table(.county, .newUrbanEmployment)
        let city = try await table(.city, .newUrbanEmployment)
        let placement = try await table(.county, .placementRate)
        let cityPlacement = try await table(.city, .placementRate)
        let employed = try await table(.city, .employed).rows + table(.county, .employed).rows
        let reemployed = try await table(.city, .reemployed).rows + table(.county, .reemployed).rows
        for (((row, rate), employed), reemployed) in zip(
            zip(zip(city.rows + nue.rows, cityPlacement.rows + placement.rows), employed), reemployed)
        {
            rows.append([
                row.name, Format.number(row.indicators[IndicatorID.labourForce.rawValue]),
                Format.number(row.indicators[IndicatorID.employed.rawValue]),
                employed.estimate.map { "\(Format.number($0))（估\(employed.estimatedVillages)村）" } ?? "–",
                Format.rate(row.indicators[IndicatorID.urbanRegisteredUnemploymentRate.rawValue]),
                Format.number(row.yearToDate),
                Format.number(row.target),
                Format.rate(row.progress), row.rank.map(String.init) ?? "–", Format.number(reemployed.yearToDate),
                Format.number(reemployed.target),
                Format.rate(rate.value), Format.rate(row.reportingRate),
            ])
        }
        say("\n\(topology.city.name) 就业形势 \(period)（模拟数据，规模 \(scale)；目标按同一规模缩小）")
        say(
            Table.render(
                header: [
                    "单位", "劳动力", "就业", "就业(含未报估计)", "城镇登记失业率", "城镇新增就业(年累计)", "目标", "进度", "排名", "失业再就业(年累计)", "目标",
                    "再就业率(本月)", "报送率",
                ], rows: rows))
        say(String(format: "时间进度 %.1f%%\n", city.yearElapsed * 100))
    }
}

/// The demo's stages after the set-up, on one dev stack, each saying what it did with the seconds since the start.
private struct DemoRun {
    let settings: ConnectionSettings
    let files: TopologyFiles
    let topology: Topology
    let database: PostgresClient
    let workRoot: String
    let group: String
    let began = ContinuousClock.now

    func step(_ text: String) { say("[\(String(format: "%5.1f", (ContinuousClock.now - began).seconds))s] \(text)") }

    private var quiet: Logger {
        var logger = Logger(label: "empmon.demo")
        logger.logLevel = .critical
        return logger
    }

    func simulate(_ options: SimulationOptions, through agents: [DivisionCode: AgentWorkspace]) throws {
        var spooled = 0
        try SimulationRun.run(
            topology: topology, options: options, out: workRoot + "/simulation", progress: { step("simulated " + $0) },
            deliver: { file, _ in spooled += try submitThroughCountyAgent(file, agents: agents, topology: topology) })
        step("the county agents spooled \(spooled) signed records")
    }

    /// The processor runs while the agents deliver. The agents wait whenever a partition holds more than a few
    /// thousand records the processor has not committed: the dev stack's mock broker keeps only ~5 MiB per
    /// partition, and a year delivered before the processor starts would lose its first months.
    func deliverAndProcess(agents: [DivisionCode: AgentWorkspace], starts: [KafkaTopicPartition: Int64]) async throws {
        var configuration = ProcessorConfiguration(
            kafka: try Edge.kafka(settings.kafkaBootstrap), databaseURL: settings.postgresURL, topology: topology)
        configuration.group = group
        configuration.clientID = "empmon-demo-processor"
        // A new group on the dev stack's shared broker: records older runs left and the broker aged out are not this
        // run's, so starting from the oldest kept is intended.
        configuration.acceptAgedOutRecords = true
        let progress = ProgressLine()
        configuration.onCommit = { report in progress.add(report) }
        var processorLogger = Logger(label: "empmon.process")
        processorLogger.logLevel = .warning
        let processed = ContinuousClock.now
        let watch = LagWatch(starts: starts)
        let monitor = Task { [watch, database, bootstrap = settings.kafkaBootstrap, group] in
            try await watch.run(bootstrap: bootstrap, database: database, group: group)
        }
        let processor = Task { [configuration, processorLogger] in
            try await StreamProcessor(configuration: configuration, logger: processorLogger).run()
        }
        defer {
            monitor.cancel()
            processor.cancel()
        }
        var delivered = 0
        for (county, workspace) in agents.sorted(by: { $0.key < $1.key }) {
            try workspace.spool.sync()
            let (_, outcome) = try await workspace.flush(
                timeout: .seconds(120), now: currentPeriod(), security: try Edge.kafkaSecurity(), logger: quiet,
                beforeChunk: { try await watch.waitForRoom(limit: 4_000, on: $0) })
            delivered += outcome.delivered
            if outcome.failed > 0 {
                throw ValidationError("agent of \(county) could not deliver \(outcome.failed) records")
            }
        }
        let topics = RecordTopics(bootstrap: settings.kafkaBootstrap, topics: try files.loadTopics())
        try await watch.waitUntilCommitted(try await topics.ends(logger: quiet), stall: .seconds(120))
        // Everything is committed: stopping now leaves nothing in hand.
        processor.cancel()
        do { try await processor.value } catch is CancellationError {}
        guard watch.lost == 0 else {
            throw ValidationError(
                "the mock broker's retention deleted \(watch.lost) records before the processor read them")
        }
        let totals = progress.totals
        let seconds = max(0.001, (ContinuousClock.now - processed).seconds)
        if isatty(STDOUT_FILENO) == 1 { say("") }
        step(
            "the agents delivered \(delivered) records, and the processor committed \(totals.messages) in \(totals.batches) batches "
                + "(\(Int(Double(totals.messages) / seconds)) records/s): \(totals.accepted) accepted, \(totals.ignored) superseded or repeated, "
                + "\(totals.rejected) rejected; none lost to the broker's retention")
    }

    /// Invariant 2: the stored indicators equal a recomputation from the ledger; and the simulator's ground truth.
    func verify() async throws {
        let outcome = try await IndicatorVerifier(topology: topology, databaseURL: settings.postgresURL).verify()
        if !outcome.differences.isEmpty {
            for difference in outcome.differences.prefix(20) { say("  \(difference)") }
            throw ValidationError("verify found \(outcome.differences.count) differences")
        }
        step(
            "verify: \(outcome.valuesCompared) stored values over \(outcome.periods.count) months equal the recomputation from the ledger"
        )
        let truth = try String(contentsOfFile: workRoot + "/simulation/ground-truth.csv", encoding: .utf8)
        let mismatches = try await groundTruthDifferences(csv: truth, database: database)
        step(
            mismatches == 0
                ? "and they equal the simulator's ground truth, value for value"
                : "\(mismatches) values differ from the simulator's ground truth (records rejected or superseded by design show here)"
        )
    }

    /// Forecasts of new urban employment for every unit, reconciled across the four tiers, stored.
    func forecast() async throws {
        let started = ContinuousClock.now
        let run = try await StoredForecasts(database: database, topology: topology).run(
            indicator: .newUrbanEmployment, horizon: 6, batch: BatchForecast())
        step(
            String(
                format:
                    "forecast new urban employment for %d units, %@–%@, reconciled (MinT, λ = %.2f) and stored in %.1f s",
                run.forecasts.count, run.origin.description, run.origin.advanced(by: 5).description, run.shrinkage ?? 0,
                (ContinuousClock.now - started).seconds))
        guard let city = run.forecasts[topology.city.code] else { return }
        say(
            Table.render(
                header: ["月份", "预测均值", "80% 区间", "95% 区间"],
                rows: (0..<city.horizon).map { step in
                    [
                        run.origin.advanced(by: step).description, Format.number(city.mean[step]),
                        Format.number(city.lo80[step]) + "–" + Format.number(city.hi80[step]),
                        Format.number(city.lo95[step]) + "–" + Format.number(city.hi95[step]),
                    ]
                }))
    }

    /// The alert rules of Topology/alerts.yaml over the year, judged on the demo's clock (the last month's reports
    /// are still due), delivered to the alerts topic.
    func evaluateAlerts(targets: UnitTargets, now: Date) async throws {
        var alertLogger = Logger(label: "empmon.alerts")
        alertLogger.logLevel = .error
        let rules = try Edge.alertRules(nil, files: files)
        let summary = try await AlertEngine(
            database: database, topology: topology, configuration: rules, targets: targets, logger: alertLogger
        )
        .evaluate(now: now)
        let alertDelivery = try await AlertDispatcher(
            database: database, kafka: try Edge.kafka(settings.kafkaBootstrap), logger: alertLogger
        ).deliver(patience: .seconds(10))
        step(
            "alerts: \(rules.rules.count) rules over \(summary.evaluated) rule-units: \(summary.fired) firing, \(summary.pending) pending; "
                + "\(alertDelivery.delivered) events on the alerts topic")
        let firing = try await AlertRecord.list(database: database, state: "firing", limit: 1000)
        let order = ["critical": 0, "warning": 1, "info": 2]
        for alert in firing.sorted(by: { (order[$0.severity] ?? 3, $0.unit) < (order[$1.severity] ?? 3, $1.unit) })
            .prefix(6)
        {
            say("        [\(alert.severity)] \(alert.message)")
        }
    }

    func writeReport(period: Period, targets: UnitTargets, countyMap: CountyMap?) async throws {
        let reportPath = workRoot + "/report-\(period).html"
        let report = try await ReportBuilder(
            database: database, topology: topology, targets: targets, countyMap: countyMap
        ).build(period: period)
        try writeOutput(ReportHTML.render(report), to: reportPath)
        step("wrote the \(period) situation report (就业形势分析): \(reportPath)")
    }

    /// The dashboard with a city analyst's token, until Ctrl-C.
    func serveDashboard(port: Int, targets: UnitTargets, countyMap: CountyMap?, period: Period) async throws {
        let token = try await APITokens(database: database).create(
            scope: topology.city.code, role: .analyst, name: "demo")
        var serverLogger = Logger(label: "empmon.serve")
        serverLogger.logLevel = .warning
        let server = APIServer(
            database: database, topology: topology, targets: targets, countyMap: countyMap, logger: serverLogger)
        let app = Application(
            router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: port)),
            logger: serverLogger)
        say(
            """

            Dashboard: http://127.0.0.1:\(port)/#token=\(token.token)
            API token (city analyst): \(token.token)   e.g. curl -H "Authorization: Bearer \(token.token)" "http://127.0.0.1:\(port)/api/v1/situation?tier=county&period=\(period)"
            Serving until Ctrl-C.
            """)
        try await app.runService()
    }
}
