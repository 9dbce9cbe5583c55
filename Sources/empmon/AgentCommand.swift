import Agent
import AgentPage
import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Hummingbird
import Ledger
import Logging
import Postgres
import Storage
import TopologyFiles

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Reporting agents: the city's registry of them.",
        subcommands: [
            Enroll.self, Revoke.self, List.self, EndHMAC.self, Init.self, RotateKey.self, Submit.self,
            ReportActivity.self, Flush.self, Status.self, Serve.self, Vocabulary.self,
        ])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an agent for a unit's subtree and write its enrolment file.",
            discussion: """
                The file carries a one-time enrolment code (valid 30 days) and the city's pseudonymization key, no \
                signing key: `agent init` makes the agent's key pair on its own computer and announces the public \
                half with the code. The city keeps only the code's SHA-256 and, once used, the public key.
                """)

        @Option(help: "Division code (or exact name) of the unit the agent reports for.") var unit: String
        @Option(help: "A name for the agent (default: the unit's name).") var name = ""
        @Option(help: "Where to write the credentials (default: agent-<code>.json).") var out: String?

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let topology = try Edge.topologyFiles().loadTopology()
            let division = try resolveUnit(unit, in: topology)
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap, home: connection.home)
            let registry = AgentRegistry(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
            let credentials = try await registry.enroll(
                unit: division, name: name, kafkaBootstrap: settings.kafkaBootstrap)
            let path = out ?? "agent-\(division.code).json"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            // The file holds secrets: readable by its owner only, from the moment it exists.
            guard
                FileManager.default.createFile(
                    atPath: path, contents: try encoder.encode(credentials), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot write \(path)") }
            print(
                "enrolled \(credentials.agentID) for \(division.code) \(division.name) (\(division.tier.chineseName))")
            print("credentials written to \(path) — hand it to the agent over a safe channel; it holds the city's key")
            if let code = credentials.enrolmentCode {
                print(
                    "one-time enrolment code \(code): used by `empmon agent init` on the agent's computer, within 30 days"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the city accepting what an agent signed from now (or from --since).")

        @Argument(help: "The agent id.") var agentID: String
        @Option(
            help:
                "Refuse what it signed from this time on (ISO 8601, e.g. 2026-11-30T08:00:00+08:00): when its key may have leaked before today."
        )
        var since: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let registry = try connection.agentRegistry()
            var from: Date?
            if let since {
                guard let date = ISO8601DateFormatter().date(from: since) else {
                    throw ValidationError(
                        "--since must be an ISO 8601 time with its offset, e.g. 2026-11-30T08:00:00+08:00")
                }
                from = date
            }
            if try await registry.revoke(agentID: agentID, at: from) {
                print("revoked \(agentID)")
            } else {
                throw ValidationError("no active agent \(agentID)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every enrolled agent, with its unit and state.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let registry = try connection.agentRegistry()
            for agent in try await registry.all() {
                let signing =
                    switch agent.signatureScheme {
                    case .ed25519Merkle?:
                        "keys "
                            + agent.keys.map {
                                $0.publicKey.keyID + ($0.retiresAtMilliseconds == nil ? "" : " (retiring)")
                            }
                            .joined(separator: ", ")
                    case .hmacSHA256?: "HMAC secret (not moved to a key pair)"
                    case nil: agent.enrolmentCodeSHA256 == nil ? "no key" : "awaiting its first key"
                    }
                print(
                    "\(agent.agentID)  \(agent.unit)  \(agent.name)  \(agent.revokedAt.map { "revoked \($0)" } ?? "active")  \(signing)"
                )
            }
        }
    }

    struct EndHMAC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "end-hmac",
            abstract: "End the HMAC transition: drop every agent's secret; only Ed25519 signatures are accepted after.")

        @Flag(help: "End it even though some active agents have not moved to a key pair (they must be enrolled again).")
        var evenIfNotMoved = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let registry = try connection.agentRegistry()
            let left = try await registry.agentsOnHMAC()
            if !left.isEmpty, !evenIfNotMoved {
                print("these active agents still sign with HMAC; have each run `empmon agent rotate-key` and flush:")
                for agent in left { print("  \(agent)") }
                throw ValidationError("\(left.count) agents have not moved; --even-if-not-moved ends it anyway")
            }
            let dropped = try await registry.endHMACTransition()
            print("HMAC transition ended: the city holds no agent secret; \(dropped.count) agents must enrol again")
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Make a new key pair and announce it to the city, signed by the current key (or HMAC secret).",
            discussion: """
                The agent signs with its current key until a city receipt confirms the new one; the city then \
                accepts the old key for an overlap window (14 days by default) and refuses it after.
                """)

        @Option(help: "Seconds to keep trying the broker.") var timeout = 60
        @Option(help: "Agent home.") var home: String?

        func run() async throws {
            let workspace = try AgentWorkspace(home: Edge.agentHome(home))
            let keyID = try workspace.rotateKey()
            print("new key \(keyID) made; announcing it to the city")
            try await deliver(workspace, timeout: timeout)
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set up this agent's home from its credentials file.")

        @Option(help: "Credentials file from `empmon agent enroll`.") var credentials: String
        @Option(help: "Agent home (default: $EMPMON_AGENT_HOME, then ./.empmon-agent).") var home: String?

        func run() async throws {
            let workspace = try AgentWorkspace.initialize(home: Edge.agentHome(home), credentialsFile: credentials)
            print(
                "agent \(workspace.credentials.agentID) for \(workspace.credentials.unit) \(workspace.credentials.name) ready in \(workspace.home)"
            )
            if let pending = try AgentKeyring.key(try workspace.keyring().pending) {
                print(
                    "key pair made on this computer (key \(pending.keyID)); its public key goes to the city with the enrolment code at the first delivery"
                )
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Read a month's ledger (xlsx, CSV in UTF-8 or GBK, or JSON lines), spool its records, and try to deliver them."
        )

        @Option(help: "The month, YYYY-MM.") var period: String
        @Argument(help: "The ledger file.") var file: String
        @Option(help: "Unit the ledger is for, within the agent's subtree (default: the agent's unit).") var unit:
            String?
        @Flag(help: "Send the good rows even if some rows have errors.") var skipInvalid = false
        @Flag(help: "Only spool; deliver later with `empmon agent flush`.") var offline = false
        @Option(help: "Seconds to keep trying the broker before leaving records pending.") var timeout = 20
        @Option(help: "Agent home.") var home: String?

        func run() async throws {
            let workspace = try AgentWorkspace(home: Edge.agentHome(home))
            let (period, unitCode, topology) = try parseCommon(period: period, unit: unit)
            guard let bytes = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let report = try workspace.submitPersons(
                file: file, bytes: Array(bytes), period: period, unit: unitCode, topology: topology,
                latestPeriod: currentPeriod(), skipInvalid: skipInvalid)
            print("\(file): \(report.encoding.rawValue), \(report.rows) rows")
            if !report.ignoredColumns.isEmpty {
                print("not used, stays on this computer: " + report.ignoredColumns.joined(separator: "、"))
            }
            for error in report.errors { print("  \(error)") }
            if report.spooled == 0 {
                print(
                    report.errors.isEmpty
                        ? "nothing to send"
                        : "\(report.errors.count) errors: nothing was sent. Fix the rows, or use --skip-invalid to send the good ones."
                )
                if !report.errors.isEmpty { throw ExitCode(1) }
                return
            }
            print(
                "spooled \(report.spooled) records"
                    + (report.errors.isEmpty ? "" : " (\(Set(report.errors.map(\.line)).count) rows skipped)"))
            if !report.missingFromPrevious.isEmpty {
                print(
                    "note: \(report.missingFromPrevious.count) persons of the previous \(period) submission are not in this file "
                        + "(previous lines \(report.missingFromPrevious.prefix(20).map(String.init).joined(separator: ", "))); "
                        + "their earlier records stand until corrected")
            }
            if !offline { try await deliver(workspace, timeout: timeout) }
        }
    }

    struct ReportActivity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report-activity", abstract: "Report a township's or county's monthly counters (指标,数值 rows).")

        @Option(help: "The month, YYYY-MM.") var period: String
        @Argument(help: "The counters file.") var file: String
        @Option(help: "Unit reported for (default: the agent's unit).") var unit: String?
        @Flag(help: "Only spool; deliver later with `empmon agent flush`.") var offline = false
        @Option(help: "Seconds to keep trying the broker before leaving the report pending.") var timeout = 20
        @Option(help: "Agent home.") var home: String?

        func run() async throws {
            let workspace = try AgentWorkspace(home: Edge.agentHome(home))
            let (period, unitCode, topology) = try parseCommon(period: period, unit: unit)
            guard let bytes = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let report = try workspace.submitActivity(
                file: file, bytes: Array(bytes), period: period, unit: unitCode, topology: topology,
                latestPeriod: currentPeriod())
            for error in report.errors { print("  \(error)") }
            guard report.spooled > 0 else {
                print("\(report.errors.count) errors: nothing was sent")
                throw ExitCode(1)
            }
            print("spooled the \(period) activity report")
            if !offline { try await deliver(workspace, timeout: timeout) }
        }
    }

    struct Flush: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver every pending record.")

        @Option(help: "Seconds to keep trying the broker.") var timeout = 60
        @Option(
            help: "Months of delivered records kept for corrections; older ones are compacted into the monthly summary."
        )
        var keepMonths = 13
        @Option(help: ConfirmWithin.help) var confirmWithin = ConfirmWithin.defaultSeconds
        @Option(help: "Agent home.") var home: String?

        func run() async throws {
            guard keepMonths >= 1 else { throw ValidationError("--keep-months must be at least 1") }
            guard confirmWithin >= 0 else { throw ValidationError("--confirm-within must be 0 or more seconds") }
            let workspace = try AgentWorkspace(home: Edge.agentHome(home))
            try await deliver(
                workspace, timeout: timeout, keepMonths: keepMonths, confirmWithin: confirmationGrace(confirmWithin))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pending, delivered and failing records by month.")

        @Option(help: "Agent home.") var home: String?

        func run() async throws {
            let workspace = try AgentWorkspace(home: Edge.agentHome(home))
            print(
                "agent \(workspace.credentials.agentID)  unit \(workspace.credentials.unit) \(workspace.credentials.name)"
            )
            let listening = try workspace.spool.receiptListening()
            if let at = listening.lastReadAt {
                let date = Date(timeIntervalSince1970: Double(at) / 1000)
                print(
                    "city receipts last read \(ISO8601DateFormatter().string(from: date)): 已入库 is what the city confirmed"
                )
            } else {
                print(
                    "no city receipts read yet\(listening.lastError.map { " (\($0))" } ?? ""): delivered records count as done, as before receipts"
                )
            }
            func column(_ value: Int, _ width: Int) -> String { String(value).leftPadded(to: width, with: " ") }
            print("kind      period   unit          待发送  已送达  已入库  被退回  发送失败")
            print("                                pending delivered stored rejected failing")
            for row in try workspace.status() {
                print(
                    "\(row.kind.padding(toLength: 9, withPad: " ", startingAt: 0)) \(row.period)  \(row.unit.padding(toLength: 12, withPad: " ", startingAt: 0))  \(column(row.pending, 6))  \(column(row.delivered, 6))  \(column(row.stored, 6))  \(column(row.rejected, 6))  \(column(row.failing, 7))"
                )
            }
            let rejections = try workspace.spool.rejections()
            if !rejections.isEmpty {
                print("\n被退回的行 / rows the city rejected (correct them and submit the ledger again):")
                for rejection in rejections {
                    print(
                        "  \(rejection.period) \(rejection.unit) 第\(rejection.line.map(String.init) ?? "-")行: \(rejection.reason) [\(rejection.reasonCode)]"
                    )
                }
            }
        }
    }
}

extension ConnectionOptions {
    /// The city's registry of agents, in the database these options name.
    func agentRegistry() throws -> AgentRegistry {
        let settings = try ConnectionSettings.resolve(
            postgresURL: postgresURL, kafkaBootstrap: kafkaBootstrap ?? "", home: home)
        return AgentRegistry(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
    }
}

extension AgentCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Serve the clerk's page on this computer: upload ledgers (xlsx/csv), see row errors, send, see the status."
        )

        @Option(
            help: "Address to listen on (keep it on loopback unless the page must be reached from another computer).")
        var host = "127.0.0.1"
        @Option(help: "Port.") var port = 8090
        @Option(help: "Seconds each delivery keeps trying the broker.") var timeout = 10
        @Option(help: "Seconds between retries of pending records.") var retryEvery = 60
        @Option(help: "Months of delivered records kept for corrections.") var keepMonths = 13
        @Option(help: ConfirmWithin.help) var confirmWithin = ConfirmWithin.defaultSeconds
        @Option(help: "Agent home.") var home: String?

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
            guard timeout >= 1, retryEvery >= 1, keepMonths >= 1 else {
                throw ValidationError("--timeout, --retry-every and --keep-months must be at least 1")
            }
        }

        func run() async throws {
            let workspace = try AgentWorkspace(home: Edge.agentHome(home))
            let topology = try Edge.topologyFiles().loadTopology()
            var logger = Logger(label: "empmon.agent.serve")
            if ProcessInfo.processInfo.environment["EMPMON_LOG_LEVEL"] == nil { logger.logLevel = .notice }
            var kafkaLogger = logger
            kafkaLogger.logLevel = .critical
            let desk = DeliveryDesk(
                workspace: workspace, timeout: .seconds(timeout), keepMonths: keepMonths,
                security: try Edge.kafkaSecurity(), confirmWithin: confirmationGrace(confirmWithin),
                currentPeriod: { currentPeriod() }, logger: kafkaLogger)
            let page = AgentPageServer(workspace: workspace, topology: topology, desk: desk, logger: logger)
            let app = Application(
                router: page.router(), configuration: .init(address: .hostname(host, port: port)),
                onServerRunning: { channel in
                    let bound = channel.localAddress?.port ?? port
                    say("上报页面 / agent page: http://\(host):\(bound)/")
                }, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await desk.retryPending(every: .seconds(retryEvery)) }
                group.addTask { try await app.runService() }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    struct Vocabulary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the words accepted in the ledger's coded columns (Markdown).")

        func run() throws { print(LedgerVocabulary.markdown) }
    }
}

private func parseCommon(period text: String, unit: String?) throws -> (Period, DivisionCode?, Topology) {
    guard let period = Period(text) else { throw ValidationError("--period must be YYYY-MM, not '\(text)'") }
    let topology = try Edge.topologyFiles().loadTopology()
    let code = try unit.map { try resolveUnit($0, in: topology).code }
    return (period, code, topology)
}

/// The month it is now in China.
func currentPeriod() -> Period { ChinaTime.period() }

/// `--confirm-within` in seconds as the workspace takes it: 0 turns receipts off.
func confirmationGrace(_ seconds: Int) -> Duration? { seconds > 0 ? .seconds(seconds) : nil }

private func deliver(
    _ workspace: AgentWorkspace, timeout: Int, keepMonths: Int = 13,
    confirmWithin: Duration? = AgentWorkspace.defaultConfirmWithin
) async throws {
    var logger = Logger(label: "empmon.agent")
    if ProcessInfo.processInfo.environment["EMPMON_LOG_LEVEL"] == nil { logger.logLevel = .critical }
    let (pending, outcome) = try await workspace.flush(
        timeout: .seconds(max(1, timeout)), keepMonths: keepMonths, now: currentPeriod(),
        security: try Edge.kafkaSecurity(), logger: logger, confirmWithin: confirmWithin)
    if let receipts = outcome.receipts, receipts.receipts > 0 {
        print(
            "city receipts: \(receipts.confirmed) unit-months stored, \(receipts.rejected) records rejected, \(receipts.incomplete) unit-months incomplete"
        )
    }
    if let error = outcome.receiptsError { print("city receipts cannot be read (\(error)); delivering without them") }
    if let key = outcome.confirmedKey { print("the city confirmed key \(key): it signs from now on") }
    if outcome.awaitingEnrolment {
        if let error = outcome.lastError, outcome.announcedKey == nil {
            print(
                "the new key could not be announced (\(error)); \(pending) records wait — run `empmon agent flush` later"
            )
            throw ExitCode(2)
        }
        print(
            "key \(outcome.announcedKey ?? "") announced; the city has not confirmed it yet, so \(pending) records wait — run `empmon agent flush` later"
        )
        return
    }
    if let key = outcome.announcedKey, outcome.confirmedKey == nil {
        print("key \(key) announced; signing with the current key until the city confirms it")
    }
    if outcome.resent > 0 { print("sent again: \(outcome.resent) unit-months the city had not confirmed in time") }
    if pending == 0 {
        print("nothing pending")
        return
    }
    print(
        "delivered \(outcome.delivered) of \(pending)"
            + (outcome.failed > 0
                ? "; \(outcome.failed) still pending (\(outcome.lastError ?? "broker unreachable")) — run `empmon agent flush` later"
                : ""))
    if outcome.failed > 0 { throw ExitCode(2) }
}

enum ConfirmWithin {
    static let defaultSeconds = Int(AgentWorkspace.defaultConfirmWithin.components.seconds)
    static let help = ArgumentHelp(
        "Seconds the city has to confirm a delivered month (its receipt) before the month is sent again, whole; 0: do not read receipts."
    )
}
