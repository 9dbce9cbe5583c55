import DevStack
import Foundation
import Kafka
import Logging
import Postgres
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the real `empmon` binary, as a person would.
func empmon(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, output: String)
{
    let environment = ProcessInfo.processInfo.environment
    guard let binary = environment["EMPMON_BINARY"] else {
        throw DevStackError("set EMPMON_BINARY to the built empmon, or run the tests through scripts/test.sh")
    }
    return try ChildProcess.run(binary, arguments, environment: environment.merging(extra) { $1 })
}

func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !stat.contains(") Z ")
}

@Suite("empmon dev: the one-command stack")
struct DevStackCommandTests {
    @Test("up, up again, status, broker control, down: only its own processes, all reachable while up")
    func lifecycle() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-dev-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: home) }
        // Another stack (the one the test script runs) must survive this one's `down`.
        let otherStack = try DevHome.resolve(nil).loadSettings()

        let up = try empmon(["dev", "up", "--home", home])
        #expect(up.status == 0, "\(up.output)")
        let settings = try #require(try DevHome(path: home).loadSettings())
        let postgresPID = try #require(settings.postgres.pid)
        #expect(isAlive(postgresPID) && isAlive(settings.kafka.pid))
        #expect(settings.postgresURL.contains("127.0.0.1"))
        #expect(settings.kafkaBootstrap.split(separator: ",").count == 3)
        #expect(settings.kafkaBootstrap.split(separator: ",").allSatisfy { $0.hasPrefix("127.0.0.1:") })

        let again = try empmon(["dev", "up", "--home", home])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("already running"))
        let settingsAgain = try #require(try DevHome(path: home).loadSettings())
        #expect(settingsAgain.postgres.pid == postgresPID && settingsAgain.kafka.pid == settings.kafka.pid)

        let status = try empmon(["dev", "status", "--home", home])
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("mock cluster of 3 brokers"))

        // Both services answer real clients.
        let connection = try await PostgresConnection.connect(url: settings.postgresURL)
        let migrated = try await connection.query("SELECT count(*) FROM schema_migrations").first?.decode(
            Int.self, at: 0)
        #expect((migrated ?? 0) >= 1)
        let created = try empmon(["dev", "broker", "create-topic", "dev.check", "4", "--home", home])
        #expect(created.status == 0, "\(created.output)")
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(bootstrapServers: settings.kafkaBootstrap), logger: quiet)
        #expect(try await admin.describeTopic("dev.check").partitions.count == 4)
        let down2 = try empmon(["dev", "broker", "down", "2", "--home", home])
        #expect(down2.status == 0 && down2.output.contains("broker-down 2"))
        let bad = try empmon(["dev", "broker", "down", "9", "--home", home])
        #expect(bad.status != 0 && bad.output.contains("no broker 9"))

        let down = try empmon(["dev", "down", "--home", home])
        #expect(down.status == 0, "\(down.output)")
        for _ in 0..<50 where isAlive(postgresPID) || isAlive(settings.kafka.pid) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!isAlive(postgresPID) && !isAlive(settings.kafka.pid))
        let stopped = try empmon(["dev", "status", "--home", home])
        #expect(stopped.status != 0 && stopped.output.contains("stopped"))

        if let otherStack {
            #expect(isAlive(otherStack.kafka.pid), "another stack's Kafka was left alone")
            if let pid = otherStack.postgres.pid { #expect(isAlive(pid), "another stack's PostgreSQL was left alone") }
        }
    }

    @Test("Commands that need services say how to get them when none is configured")
    func missingSettings() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-none-\(UUID().uuidString.prefix(8))"
        ).path
        let result = try empmon(
            ["db", "migrate", "--home", empty], environment: ["EMPMON_POSTGRES_URL": "", "EMPMON_KAFKA_BOOTSTRAP": ""])
        #expect(result.status != 0)
        #expect(result.output.contains("empmon dev up"))
    }
}
