import DevStack
import Foundation
import Testing

@testable import Kafka

#if canImport(Glibc)
    import Glibc
#endif

/// librdkafka's TLS and SASL, as far as this machine can try them. The mock cluster (librdkafka 2.0.2) speaks
/// neither: its brokers answer no SaslHandshake and listen in plaintext. So SASL is tried against the mock, where
/// it must fail clearly, and TLS against a real TLS server (`openssl s_server`) that presents a certificate from
/// a CA made for the test: the handshake is librdkafka's own, and what it must report is why it refused.
@Suite("Kafka links: TLS and SASL refusals are reported at once, with their reason", .serialized)
struct KafkaLinkSecurityTests {
    /// Against the producer's default of a minute, "at once" is anything under this.
    static let refusalBound = Duration.seconds(15)

    /// Sends one message and returns its report's error and how long the test waited for it.
    ///
    /// "Within seconds" is judged by librdkafka's own clock, not the test's: the message's delivery timeout is the
    /// bound, so a report that names the refusal (`.security`) can only have come from the purge before that
    /// timeout, and one that waited it out reads "Message timed out" (`.delivery`). The test's wall clock is only
    /// printed: on two cores, CPU-bound tests running beside this one can keep its task from being resumed for
    /// a minute or more after the report has arrived (a CI run saw 115 s for a purge librdkafka made in seconds).
    func refusal(bootstrap: String, security: KafkaSecurity, timeout: Duration = Self.refusalBound) async throws
        -> (KafkaError, Duration)
    {
        var configuration = KafkaProducerConfiguration(
            endpoint: KafkaEndpoint(bootstrapServers: bootstrap, security: security), clientID: "link-test")
        configuration.deliveryTimeout = timeout
        let producer = try KafkaProducer(configuration: configuration, logger: testLogger("producer"))
        let started = ContinuousClock.now
        try await producer.send(KafkaProducerMessage(topic: "link.test", key: "k", value: Array("v".utf8)))
        var reports = producer.deliveryReports.makeAsyncIterator()
        let report = try #require(await reports.next())
        guard case .failure(let error) = report.result else {
            Issue.record("delivered through a link that should have been refused")
            throw CancellationError()
        }
        return (error, ContinuousClock.now - started)
    }

    @Test("SCRAM against the mock cluster, which has no SASL: the producer says so within seconds, not after a minute")
    func saslAgainstTheMock() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        try cluster.createTopic("link.test", partitions: 1)
        var security = KafkaSecurity()
        security.securityProtocol = .saslPlaintext
        security.saslMechanism = .scramSHA512
        security.saslUsername = "processor"
        security.saslPassword = "not-the-password"
        let (error, took) = try await refusal(bootstrap: cluster.bootstrapServers, security: security)
        #expect(error.code == .security && error.message.contains("SASL"), "\(error) (seen after \(took))")
    }

    @Test(
        "TLS to a broker whose certificate does not verify: a CA the client was not given, an expired certificate, another host's name; each refused within seconds, saying why"
    )
    func tlsRefusals() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-kafka-tls-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let brokerCA = try ThrowawayCA.make(name: "broker CA")
        try brokerCA.write(to: folder + "/broker-ca")
        try ThrowawayCA.make(name: "a stranger's CA").write(to: folder + "/stranger")
        try brokerCA.issueServerCertificate(hosts: ["127.0.0.1"]).write(to: folder, name: "valid")
        try brokerCA.issueServerCertificate(
            hosts: ["127.0.0.1"], notValidBefore: Date() - 30 * 86_400, notValidAfter: Date() - 86_400
        ).write(to: folder, name: "expired")
        try brokerCA.issueServerCertificate(hosts: ["kafka-1.example"]).write(to: folder, name: "other-host")

        let cases: [(certificate: String, trusted: String, reason: String)] = [
            ("valid", "stranger", "certificate verify failed"),
            ("expired", "broker-ca", "certificate verify failed"),
            ("other-host", "broker-ca", "certificate verify failed"),
        ]
        // librdkafka, like libpq, names no reason beyond "certificate verify failed". The same server with its
        // valid certificate under the right CA passes the handshake: its message then waits for a broker that
        // s_server is not, and times out instead of being refused.
        let control = try TLSServer.start(certificate: "\(folder)/valid.crt", key: "\(folder)/valid.key")
        defer { control.stop() }
        var trustingSecurity = KafkaSecurity()
        trustingSecurity.securityProtocol = .ssl
        trustingSecurity.caLocation = "\(folder)/broker-ca/ca.crt"
        let (timedOut, _) = try await refusal(
            bootstrap: "127.0.0.1:\(control.port)", security: trustingSecurity, timeout: .seconds(3))
        #expect(timedOut.code != .security && !timedOut.message.contains("SSL"), "\(timedOut)")

        for (certificate, trusted, reason) in cases {
            let server = try TLSServer.start(
                certificate: "\(folder)/\(certificate).crt", key: "\(folder)/\(certificate).key")
            defer { server.stop() }
            var security = KafkaSecurity()
            security.securityProtocol = .ssl
            security.caLocation = "\(folder)/\(trusted)/ca.crt"
            let (error, took) = try await refusal(bootstrap: "127.0.0.1:\(server.port)", security: security)
            #expect(error.code == .security, "\(certificate) under \(trusted): \(error) (seen after \(took))")
            #expect(error.message.contains(reason), "\(certificate) under \(trusted): \(error)")
        }
    }
}

/// `openssl s_server` on a free loopback port, presenting one certificate, until stopped. Started with
/// posix_spawn (`ChildProcess`), not Foundation's Process, whose `waitUntilExit` spins a cooperative thread here.
struct TLSServer {
    let pid: Int32
    let port: Int

    static func start(certificate: String, key: String) throws -> TLSServer {
        // -www: it serves every connection until killed (reading commands from a stdin at EOF, it would end after
        // the first). A file, not a pipe, for what it prints: librdkafka reconnects until it gives up.
        let log = certificate + ".server.log"
        let pid = try ChildProcess.start(
            "/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", certificate, "-key", key, "-www"],
            logFile: log)
        // It prints "ACCEPT 127.0.0.1:<port>" once it listens.
        var text = ""
        for _ in 0..<100 where !text.contains("ACCEPT") {
            usleep(50_000)
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        guard let match = text.firstMatch(of: /ACCEPT [0-9.]+:([0-9]+)/), let port = Int(match.output.1) else {
            kill(pid, SIGKILL)
            _ = ChildProcess.wait(pid)
            throw TLSServerError(output: text)
        }
        return TLSServer(pid: pid, port: port)
    }

    func stop() {
        kill(pid, SIGKILL)
        _ = ChildProcess.wait(pid)
    }
}

struct TLSServerError: Error, CustomStringConvertible {
    let output: String
    var description: String { "openssl s_server did not say where it listens: \(output)" }
}
