import Alerting
import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Hummingbird
import Logging
import Postgres
import Processor
import Prometheus
import ServiceLifecycle
import Storage
import TopologyFiles
import UnixSignals

struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract:
            "Run a city stream processor: records from Kafka into the ledger and the four-tier indicators, exactly once.",
        discussion: """
            Several processors with the same --group share the partitions. SIGTERM or Ctrl-C commits the batch in \
            hand and leaves the group. Operational numbers are served in Prometheus format at /metrics.
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Consumer group; processors of one group share the work.") var group = "empmon-processor"
    @Option(help: "Largest batch (records per transaction).") var batchSize = ProcessorConfiguration.defaultBatchSize
    @Option(help: "Milliseconds a batch waits to fill before it is committed anyway.") var lingerMs = 200
    @Option(
        help:
            "Most (person, month) pairs of recent months kept in memory between batches, so that a batch reads from PostgreSQL only those it has not seen (0: none; about 0.8 KiB each)."
    )
    var recentPersons = ProcessorConfiguration.defaultRecentPersons
    @Option(help: "Port for /metrics and /health (0: none).") var metricsPort = 9464
    @Option(help: "Address the metrics port listens on.") var metricsHost = "127.0.0.1"
    @Option(help: "Client id (shows in PostgreSQL's application_name and the broker's logs).") var clientID =
        "empmon-processor"
    @Flag(help: "Exit once everything assigned to this processor is committed.") var stopWhenCaughtUp = false
    @Flag(
        help:
            "Start even if the broker no longer holds records this group never read (retention, a recreated topic): from the oldest kept record. Without it the processor names the partitions and stops."
    )
    var acceptAgedOutRecords = false
    @Flag(inversion: .prefixedNo, help: "Write and publish receipts to agents (what each batch stored and rejected).")
    var receipts = true
    @Option(help: "Seconds a batch may hang, or records wait with nothing committed, before /health turns unhealthy.")
    var stallSeconds = 20
    @Option(help: "Seconds a statement may run before PostgreSQL cancels it and the batch is retried (0: no limit).")
    var statementTimeout = 300
    @Option(
        help:
            "Alert rules evaluated after each commit for the units it touched (default: Topology/alerts.yaml; 'none': no alerts)."
    )
    var alertRules: String?
    @Option(help: "Scale of the count targets for target-at-risk rules; default $EMPMON_TARGET_SCALE or 1.")
    var targetScale: Double?

    func validate() throws {
        try validateBatchSize(batchSize)
        guard (1...60_000).contains(lingerMs) else { throw ValidationError("--linger-ms must be 1 to 60000") }
        guard (0...50_000_000).contains(recentPersons) else {
            throw ValidationError("--recent-persons must be 0 to 50000000")
        }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0 to 65535") }
        guard (1...86_400).contains(stallSeconds) else { throw ValidationError("--stall-seconds must be 1 to 86400") }
        guard (0...86_400).contains(statementTimeout) else {
            throw ValidationError("--statement-timeout must be 0 to 86400")
        }
    }

    func run() async throws {
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap, home: connection.home)
        let topology = try Edge.topologyFiles().loadTopology()
        var configuration = ProcessorConfiguration(
            kafka: try Edge.kafka(settings.kafkaBootstrap), databaseURL: settings.postgresURL, topology: topology)
        configuration.group = group
        configuration.batchSize = batchSize
        configuration.recentPersons = recentPersons
        configuration.linger = .milliseconds(lingerMs)
        configuration.stopWhenCaughtUp = stopWhenCaughtUp
        configuration.clientID = clientID
        configuration.acceptAgedOutRecords = acceptAgedOutRecords
        configuration.receipts = receipts
        configuration.statementTimeout = .seconds(statementTimeout)
        let logger = Logger(label: "empmon.process")
        let metrics = ProcessorMetrics(health: ProcessorHealth(stallAfter: .seconds(stallSeconds)))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if alertRules != "none" {
            let files = try Edge.topologyFiles()
            let rules = try Edge.alertRules(alertRules, files: files)
            let database = try PostgresClient(url: settings.postgresURL, maxConnections: 2)
            let alerts = AlertService(
                engine: AlertEngine(
                    database: database, topology: topology, configuration: rules,
                    targets: try Edge.targets(files: files, scale: targetScale),
                    logger: Logger(label: "empmon.alerts")),
                dispatcher: AlertDispatcher(
                    database: database, kafka: try Edge.kafka(settings.kafkaBootstrap),
                    logger: Logger(label: "empmon.alerts")),
                logger: Logger(label: "empmon.alerts"))
            configuration.onCommit = { report in alerts.touch(report.touchedUnits) }
            services.append(.init(service: alerts))
            logger.info("alert rules: \(rules.rules.count), evaluated after each commit")
        }
        let processor = StreamProcessor(configuration: configuration, metrics: metrics, logger: logger)
        if metricsPort > 0 {
            let router = Router()
            router.get("/metrics") { _, _ in metrics.registry.emitToString() }
            router.get("/health") { _, _ in
                // Unhealthy while stalled: a load balancer or an orchestrator restarts, an operator is paged.
                guard let stall = metrics.health.stall() else {
                    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
                }
                return Response(
                    status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "stalled: \(stall)\n")))
            }
            var serverLogger = logger
            serverLogger.logLevel = .warning
            let server = Application(
                router: router, configuration: .init(address: .hostname(metricsHost, port: metricsPort)),
                logger: serverLogger)
            services.append(.init(service: server))
            logger.info("metrics at http://\(metricsHost):\(metricsPort)/metrics")
        }
        // Last in the list is shut down first: the processor commits and leaves before the metrics go away.
        services.append(
            .init(
                service: processor, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup))
        let serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Recompute every indicator from the ledger from scratch and compare with the stored ones; exit 1 on any difference."
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this month (YYYY-MM); repeatable. Default: every month with data.") var period: [String] = []
    @Option(help: "Differences to print at most.") var limit = 50
    @Flag(
        help:
            "Also reconcile the ledger with the agents' control totals: name every unit-month that lacks records its agent delivered, or whose manifest never arrived."
    )
    var manifests = false

    func run() async throws {
        let periods = try period.map { text in
            guard let value = Period(text) else { throw ValidationError("--period '\(text)' is not YYYY-MM") }
            return value
        }
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let topology = try Edge.topologyFiles().loadTopology()
        let verifier = IndicatorVerifier(topology: topology, databaseURL: settings.postgresURL)
        let outcome = try await verifier.verify(periods: periods.isEmpty ? nil : periods) { period in
            FileHandle.standardError.write(Data("checking \(period)…\n".utf8))
        }
        for difference in outcome.differences.prefix(limit) { print(difference) }
        if outcome.differences.count > limit { print("… and \(outcome.differences.count - limit) more") }
        let months =
            outcome.periods.isEmpty
            ? "no months" : "\(outcome.periods.first!)…\(outcome.periods.last!) (\(outcome.periods.count) months)"
        if outcome.differences.isEmpty {
            print(
                "verified: \(outcome.valuesCompared) indicator values over \(months) equal the recomputation from the ledger"
            )
        } else {
            print(
                "\(outcome.differences.count) of \(outcome.valuesCompared) indicator values over \(months) differ from the recomputation"
            )
        }
        var disagreements = 0
        if manifests {
            let connection = try await PostgresConnection.connect(url: settings.postgresURL)
            let findings = try await ControlTotals.reconcile(periods: periods, on: connection)
            disagreements = findings.count
            for finding in findings.prefix(limit) { print(finding) }
            if findings.count > limit { print("… and \(findings.count - limit) more") }
            let missing = findings.reduce(0) { $0 + $1.missing }
            print(
                findings.isEmpty
                    ? "control totals: every unit-month's ledger holds exactly the records its agent's latest manifest declares"
                    : "control totals: \(findings.count) unit-months disagree with their agents' manifests; \(missing) delivered records are missing from the ledger"
            )
        }
        if !outcome.differences.isEmpty || disagreements > 0 { throw ExitCode(1) }
    }
}

struct IndicatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indicators", abstract: "Print one unit's indicators for one month, as stored by the processor.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Unit: 12-digit code or exact name (default: the city).") var unit: String?
    @Option(help: "Month, YYYY-MM.") var period: String
    @Option(help: "table or json.") var format = "table"

    func run() async throws {
        guard let month = Period(period) else { throw ValidationError("--period '\(period)' is not YYYY-MM") }
        guard ["table", "json"].contains(format) else { throw ValidationError("--format must be table or json") }
        let topology = try Edge.topologyFiles().loadTopology()
        let division = try resolveUnit(unit, in: topology)
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let counts = try await StoredIndicators(database: PostgresClient(url: settings.postgresURL, maxConnections: 1))
            .counts(unit: division.code, period: month)
        if format == "json" {
            var object: [String: Double] = [:]
            for indicator in IndicatorCatalogue.all {
                if indicator.unit == .count {
                    object[indicator.id.rawValue] = Double(counts[indicator.id] ?? 0)
                } else if let rate = IndicatorCatalogue.rate(indicator, in: counts) {
                    object[indicator.id.rawValue] = rate
                }
            }
            struct Output: Encodable {
                let unit: String
                let name: String
                let period: String
                let indicators: [String: Double]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let output = Output(
                unit: division.code.description, name: division.name, period: month.description, indicators: object)
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print("\(division.name) \(division.code) · \(month)")
        let width = IndicatorCatalogue.all.map { $0.id.rawValue.count }.max() ?? 30
        for indicator in IndicatorCatalogue.all {
            let value: String
            if indicator.unit == .count {
                value = String(counts[indicator.id] ?? 0)
            } else {
                value = IndicatorCatalogue.rate(indicator, in: counts).map { String(format: "%.1f%%", $0 * 100) } ?? "—"
            }
            print(
                "  " + indicator.id.rawValue.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                    + value.leftAligned(10) + "  " + indicator.chineseName)
        }
    }
}

extension String {
    func leftAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
