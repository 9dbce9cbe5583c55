import DevStack
import Foundation
import Kafka
import Logging
import Testing

/// Part of the serialized suite of tests that share the test stack (some take its brokers down).
extension SharedStackTests {
    @Test("check and show report the real tree; apply creates the topics once, then finds them")
    func applyIsIdempotent() async throws {
        let check = try empmon(["topology", "check"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("township  149") && check.output.contains("village   2628"))
        let show = try empmon(["topology", "show", "140403000000"])
        #expect(show.status == 0 && show.output.contains("潞州区") && show.output.contains("东街街道"))
        let unknown = try empmon(["topology", "show", "140499000000"])
        #expect(unknown.status != 0 && unknown.output.contains("no unit 140499000000"))

        let first = try empmon(["topology", "apply"])
        #expect(first.status == 0, "\(first.output)")
        let second = try empmon(["topology", "apply"])
        #expect(second.status == 0, "\(second.output)")
        #expect(!second.output.contains("created"), "the second run creates nothing")
        let topicsFile = URL(fileURLWithPath: AlertFixture.topologyPath()).deletingLastPathComponent()
            .appendingPathComponent("topics.json")
        let topics = try JSONSerialization.jsonObject(with: Data(contentsOf: topicsFile)) as? [String: Any]
        let defined = (topics?["topics"] as? [Any])?.count ?? 0
        #expect(second.output.components(separatedBy: "exists").count - 1 == defined, "every topic of topics.json")

        let settings = try #require(try DevHome.resolve(nil).loadSettings(), "run through scripts/test.sh")
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(bootstrapServers: settings.kafkaBootstrap), logger: quiet)
        #expect(try await admin.describeTopic("empmon.person-status.records.v1").partitions.count == 12)
        #expect(try await admin.describeTopic("empmon.alerts.v1").partitions.count == 3)
    }
}
