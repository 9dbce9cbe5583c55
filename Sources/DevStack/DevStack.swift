import Foundation
import Kafka
import Logging
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded development stack: a private PostgreSQL and a mock Kafka cluster in its own process,
/// both on loopback, both started and stopped by pid.
package struct DevStack: Sendable {
    package let home: DevHome
    let logger: Logger

    package init(home: DevHome, logger: Logger = Logger(label: "empmon.dev")) {
        self.home = home
        self.logger = logger
    }

    private var runAsUser: String? { geteuid() == 0 ? "postgres" : nil }

    /// Starts whatever is not running yet and writes the settings file. Harmless to run twice.
    ///
    /// `secure`: PostgreSQL with TLS under a CA made for this stack and SCRAM passwords, and nothing without
    /// them. Decided when the data folder is made; nil keeps what it was (plain for a new stack).
    @discardableResult
    package func up(brokers: Int = 3, secure: Bool? = nil, progress: (String) -> Void = { _ in }) async throws
        -> DevSettings
    {
        try FileManager.default.createDirectory(atPath: home.path, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        let previous = try? home.loadSettings()

        let postgres = try localPostgres(previous: previous, secure: secure)
        if !postgres.isInitialized {
            progress(
                "initializing PostgreSQL in \(postgres.dataDirectory)"
                    + (postgres.security == nil ? "" : " (TLS under a CA made for this stack, SCRAM passwords)"))
            try postgres.initialize()
        }
        if postgres.pid == nil {
            progress("starting PostgreSQL on 127.0.0.1:\(postgres.port)")
            try postgres.start()
        } else {
            progress("PostgreSQL already running (pid \(postgres.pid ?? 0))")
        }
        try await postgres.createDatabase()

        let kafka: DevSettings.KafkaInstance
        if let running = previous?.kafka, isOurMockKafka(running.pid) {
            progress("mock Kafka already running (pid \(running.pid))")
            kafka = running
        } else {
            progress("starting a mock Kafka cluster of \(brokers) brokers")
            kafka = try await startMockKafka(brokers: brokers)
        }
        let bootstrap = try MockKafkaControl.send("ping", socketPath: kafka.controlSocket)
            .dropFirst("ok ".count)
        let settings = DevSettings(
            postgresURL: postgres.url, kafkaBootstrap: String(bootstrap),
            postgres: .init(
                dataDirectory: postgres.dataDirectory, port: postgres.port, pid: postgres.pid,
                binDirectory: postgres.binDirectory, secure: postgres.security != nil),
            kafka: kafka)
        try home.save(settings)
        return settings
    }

    /// What is running, as a person would want to see it.
    package func status() async throws -> DevStatus {
        guard let settings = try home.loadSettings() else {
            return DevStatus(
                settingsFile: home.settingsFile, settings: nil, postgres: "not set up", kafka: "not set up")
        }
        let postgres = try localPostgres(previous: settings)
        var postgresLine = "stopped"
        if let pid = postgres.pid {
            do {
                let connection = try await PostgresConnection.connect(url: settings.postgresURL)
                let version = try await connection.query("SHOW server_version").first?.decode(String.self, at: 0) ?? "?"
                let shown = (try? PostgresURL.redact(settings.postgresURL)) ?? "(URL in \(home.settingsFile))"
                postgresLine = "running, pid \(pid), PostgreSQL \(version), \(shown)"
            } catch {
                postgresLine = "pid \(pid) is running but does not answer: \(error)"
            }
        }
        var kafkaLine = "stopped"
        if isOurMockKafka(settings.kafka.pid) {
            do {
                let admin = try KafkaAdmin(
                    configuration: KafkaClientConfiguration(bootstrapServers: settings.kafkaBootstrap),
                    logger: quietLogger)
                let brokers = try await admin.brokers(timeout: .seconds(5))
                let topics = try await admin.listTopics(timeout: .seconds(5))
                kafkaLine =
                    "running, pid \(settings.kafka.pid), mock cluster of \(brokers.count) brokers at "
                    + "\(settings.kafkaBootstrap), \(topics.count) topics"
            } catch {
                kafkaLine = "pid \(settings.kafka.pid) is running but does not answer: \(error)"
            }
        }
        return DevStatus(settingsFile: home.settingsFile, settings: settings, postgres: postgresLine, kafka: kafkaLine)
    }

    /// Stops exactly the processes `up` started, by pid, and nothing else. Returns what it stopped.
    @discardableResult
    package func down() throws -> [String] {
        guard let settings = try home.loadSettings() else { return [] }
        var stopped: [String] = []
        if isOurMockKafka(settings.kafka.pid) {
            kill(settings.kafka.pid, SIGTERM)
            for _ in 0..<100 where Subprocess.isAlive(settings.kafka.pid) { usleep(50_000) }
            if Subprocess.isAlive(settings.kafka.pid) { kill(settings.kafka.pid, SIGKILL) }
            stopped.append("mock Kafka (pid \(settings.kafka.pid))")
        }
        let postgres = try localPostgres(previous: settings)
        if let pid = postgres.pid {
            try postgres.stop()
            stopped.append("PostgreSQL (pid \(pid))")
        }
        return stopped
    }

    private func localPostgres(previous: DevSettings?, secure: Bool? = nil) throws -> LocalPostgres {
        let runAsUser = self.runAsUser
        let dataDirectory =
            previous?.postgres.dataDirectory ?? LocalPostgres.dataDirectory(home: home, runAsUser: runAsUser)
        let initialized = FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION")
        let wasSecure = LocalPostgres.isSecure(dataDirectory: dataDirectory)
        if initialized, secure == true, !wasSecure {
            throw DevStackError(
                "the dev stack in \(home.path) was made without --secure, and its PostgreSQL cannot become secure in "
                    + "place: run `empmon dev down`, remove \(dataDirectory), and `empmon dev up --secure` again")
        }
        let port: Int
        if let running = LocalPostgres.runningPort(dataDirectory: dataDirectory) {
            port = running
        } else if let previous, previous.postgres.dataDirectory == dataDirectory {
            port = previous.postgres.port
        } else {
            port = try Subprocess.freeLoopbackPort()
        }
        return LocalPostgres(
            dataDirectory: dataDirectory,
            logFile: (dataDirectory as NSString).deletingLastPathComponent + "/postgres.log",
            binDirectory: try previous?.postgres.binDirectory ?? LocalPostgres.findBinDirectory(), port: port,
            runAsUser: runAsUser,
            security: (initialized ? wasSecure : secure ?? false) ? try postgresSecurity() : nil)
    }

    /// The stack's CA (made on first use), the superuser's password and how to issue the server's certificate,
    /// all under `<home>/tls`, readable by this user only.
    private func postgresSecurity() throws -> LocalPostgres.Security {
        let folder = home.tlsDirectory
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o700)
        let caFile = folder + "/" + ThrowawayCA.certificateFile
        if !FileManager.default.fileExists(atPath: caFile) {
            try ThrowawayCA.make(name: "empmon dev CA \(home.pathHash)").write(to: folder)
        }
        let passwordFile = folder + "/empmon.password"
        if !FileManager.default.fileExists(atPath: passwordFile) {
            try ServerCertificate.writePrivate(Self.randomPassword(), to: passwordFile)
        }
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return LocalPostgres.Security(password: password, caFile: caFile) {
            try ThrowawayCA.load(from: folder).issueServerCertificate(hosts: ["127.0.0.1", "localhost"])
        }
    }

    /// 32 hex digits: safe in a URL without escaping.
    static func randomPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    private func isOurMockKafka(_ pid: Int32) -> Bool {
        guard Subprocess.isAlive(pid) else { return false }
        let words = Subprocess.commandLine(of: pid)
        return words.contains("dev") && words.contains("kafka")
    }

    private func startMockKafka(brokers: Int) async throws -> DevSettings.KafkaInstance {
        var socketPath = home.kafkaControlSocket
        if socketPath.utf8.count > 100 {
            socketPath = "/tmp/empmon-\(home.pathHash).sock"
        }
        try? FileManager.default.removeItem(atPath: home.kafkaReadyFile)
        let pid = try Subprocess.spawnDetached(
            Subprocess.currentExecutable,
            [
                "dev", "kafka", "--brokers", String(brokers), "--control-socket", socketPath, "--ready-file",
                home.kafkaReadyFile,
            ],
            logFile: home.kafkaLog)
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: home.kafkaReadyFile) {
                return DevSettings.KafkaInstance(pid: pid, brokers: brokers, controlSocket: socketPath)
            }
            if !Subprocess.isAlive(pid) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = (try? String(contentsOfFile: home.kafkaLog, encoding: .utf8)) ?? ""
        if Subprocess.isAlive(pid) { kill(pid, SIGKILL) }
        throw DevStackError(
            "the mock Kafka cluster did not start; its log (\(home.kafkaLog)) ends:\n\(log.suffix(1500))")
    }

    private var quietLogger: Logger {
        var logger = logger
        logger.logLevel = .critical
        return logger
    }
}

package struct DevStatus: Sendable {
    package let settingsFile: String
    package let settings: DevSettings?
    package let postgres: String
    package let kafka: String

    package var isRunning: Bool { postgres.hasPrefix("running") && kafka.hasPrefix("running") }
}

/// The body of `empmon dev kafka`: runs the mock cluster in this process until SIGTERM or SIGINT.
package enum MockKafkaProcess {
    package static func run(brokers: Int, controlSocket: String, readyFile: String, logger: Logger) async throws {
        let cluster = try MockKafkaCluster(brokers: brokers, logger: logger)
        try MockKafkaControl.serve(cluster: cluster, socketPath: controlSocket)
        try Data(cluster.bootstrapServers.utf8).write(to: URL(fileURLWithPath: readyFile), options: .atomic)
        logger.info(
            "mock Kafka cluster up", metadata: ["kafka.bootstrap": "\(cluster.bootstrapServers)", "pid": "\(getpid())"])
        await waitForTermination()
        unlink(controlSocket)
        try? FileManager.default.removeItem(atPath: readyFile)
        logger.info("mock Kafka cluster stopping")
        withExtendedLifetime(cluster) {}
    }

    private static func waitForTermination() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGTERM, SIGINT].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        for await _ in stream { break }
        for source in sources { source.cancel() }
    }
}
