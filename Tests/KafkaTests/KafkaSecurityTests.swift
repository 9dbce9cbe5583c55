import Foundation
import Testing

@testable import Kafka

@Suite("Kafka security from the deployment's properties file")
struct KafkaSecurityTests {
    static let deployFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Deploy/kafka/librdkafka-client.properties").path

    @Test("Deploy's file gives SASL_SSL with SCRAM-SHA-512, the CA and the user from the environment")
    func deployFile() throws {
        let text = try String(contentsOfFile: Self.deployFile, encoding: .utf8)
        let security = try KafkaSecurity(
            properties: text, environment: ["EMPMON_KAFKA_USER": "processor", "EMPMON_KAFKA_PASSWORD": "s3cret"],
            source: "client.properties")
        #expect(security.securityProtocol == .saslSSL && security.saslMechanism == .scramSHA512)
        #expect(security.saslUsername == "processor" && security.saslPassword == "s3cret")
        #expect(security.caLocation == "/etc/empmon/tls/ca.pem" && security.verifiesHostname)
        let configuration = KafkaProducerConfiguration(
            endpoint: KafkaEndpoint(bootstrapServers: "k1:9093", security: security), clientID: "p")
        let properties = configuration.properties
        #expect(
            properties["sasl.mechanisms"] == "SCRAM-SHA-512"
                && properties["ssl.ca.location"] == "/etc/empmon/tls/ca.pem")
        #expect(
            properties["bootstrap.servers"] == "k1:9093"
                && properties["ssl.endpoint.identification.algorithm"] == "https")
    }

    @Test("Plaintext by default: no security property but the protocol")
    func plaintext() {
        let properties = KafkaConsumerConfiguration(bootstrapServers: "k:9092", groupID: "g").properties
        #expect(properties["security.protocol"] == "PLAINTEXT" && properties["sasl.username"] == nil)
    }

    @Test("An unknown key, an unset variable, a bad protocol or a line without '=' is named with its line")
    func errors() {
        let cases: [(String, String)] = [
            ("security.protocol=SASL_SSL\nbootstrap.servers=x:1", "f:2: 'bootstrap.servers' is not a security setting"),
            ("sasl.password=${NOPE}", "f:1: sasl.password names ${NOPE}, which is not set"),
            ("security.protocol=TLS", "f:1: security.protocol 'TLS' is not one of"),
            ("# comment\n\nsasl.username", "f:3: expected key=value"),
        ]
        for (text, expected) in cases {
            do {
                _ = try KafkaSecurity(properties: text, environment: [:], source: "f")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(error.description)")
            }
        }
    }
}
