import Kafka
import Testing

@Suite("Idempotent producer on the mock cluster", .serialized)
struct ProducerTests {
    @Test(
        "A broker taken down mid-produce: everything is delivered once the broker is back; repeats only of what was in flight"
    )
    func brokerOutage() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: testLogger("mock"))
        let topic = "outage.test"
        try cluster.createTopic(topic, partitions: 6)
        // Make broker 1 the leader of half the partitions, so its outage stalls real traffic.
        for partition: Int32 in [0, 2, 4] { try cluster.setLeader(topic, partition: partition, broker: 1) }
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: testLogger("producer"))
        let total = 20_000
        let reports = try await produceAll(
            producer, topic: topic, count: total, key: { "k\($0)" }, value: { "\($0)" },
            whileSending: { index in
                if index == total / 4 { try cluster.setBrokerDown(1) }
                if index == total / 2 {
                    try await Task.sleep(for: .seconds(2))
                    try cluster.setBrokerUp(1)
                }
            })
        let failures = reports.values.filter { if case .failure = $0 { true } else { false } }
        #expect(reports.count == total)
        #expect(failures.isEmpty, "\(failures.first.map { "\($0)" } ?? "")")

        let values = try await readAll(bootstrap: cluster.bootstrapServers, topic: topic, expecting: total)
        #expect(Set(values) == Set((0..<total).map(String.init)), "no message lost")
        // librdkafka's idempotent producer may write a message twice when it bumps its epoch after a disconnection
        // (confluentinc/librdkafka#4953: only transactions rule that out); a CI run under load saw 172 of 20,000.
        // The pipeline does not rely on it: records carry ids and the processor ignores replays. What may repeat
        // is bounded by what was sent while the broker was away, not the whole stream.
        #expect(values.count >= total)
        #expect(values.count - total <= total / 4, "\(values.count - total) repeats")
    }

    @Test("Headers and keys travel with the message")
    func headersRoundTrip() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        try cluster.createTopic("headers.test", partitions: 1)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: testLogger("producer"))
        try await producer.send(
            KafkaProducerMessage(
                topic: "headers.test", key: "140403", value: [0, 1, 2, 255],
                headers: [KafkaHeader(key: "schema", string: "v1"), KafkaHeader(key: "empty", value: nil)]))
        try await producer.flush(timeout: .seconds(10))
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "h"),
            logger: testLogger("consumer"))
        try await consumer.subscribe(topics: ["headers.test"])
        var received: [KafkaMessage] = []
        for _ in 0..<100 where received.isEmpty {
            let result = try await consumer.poll(timeout: .milliseconds(100))
            received += result.messages
            if case .assigned(let partitions) = result.rebalance {
                try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .beginning) }))
            }
        }
        try await consumer.close()
        let message = try #require(received.first)
        #expect(message.key == Array("140403".utf8))
        #expect(message.value == [0, 1, 2, 255])
        #expect(message.header("schema") == Array("v1".utf8))
        #expect(message.headers.contains(KafkaHeader(key: "empty", value: nil)))
        #expect(message.timestampMilliseconds != nil)
    }

    @Test("Sending to a cluster that is not there reports failure, it does not crash")
    func unreachableCluster() async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.deliveryTimeout = .seconds(2)
        let producer = try KafkaProducer(configuration: configuration, logger: testLogger("producer"))
        let id = try await producer.send(KafkaProducerMessage(topic: "nowhere", key: "k", value: [1]))
        var report: KafkaDeliveryReport?
        for await next in producer.deliveryReports where next.id == id {
            report = next
            break
        }
        let result = try #require(report).result
        guard case .failure(let error) = result else {
            Issue.record("expected a failed delivery, got \(result)")
            return
        }
        #expect(error.code == .delivery)
        #expect(error.rdkafkaName != nil)
    }

    @Test("A bad property names itself in the error")
    func badConfiguration() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:9092")
        configuration.client.properties["no.such.property"] = "1"
        #expect {
            _ = try KafkaProducer(configuration: configuration, logger: testLogger("producer"))
        } throws: { error in
            (error as? KafkaError)?.message.contains("no.such.property") == true
        }
    }
}

@Suite("Admin on the mock cluster")
struct AdminTests {
    @Test("Topics created on the cluster are listed with their partitions and replicas")
    func listAndDescribe() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: testLogger("mock"))
        try cluster.createTopic("admin.listed", partitions: 12, replicationFactor: 3)
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: testLogger("admin"))
        #expect(try await admin.brokers() == [1, 2, 3])
        let topic = try await admin.describeTopic("admin.listed")
        #expect(topic.error == nil)
        #expect(topic.partitions.map(\.id) == Array(0..<12))
        #expect(topic.partitions.allSatisfy { $0.replicas.count == 3 })
        let missing = try await admin.describeTopic("admin.missing")
        #expect(missing.error != nil)
    }

    /// librdkafka's mock cluster has no controller, so CreateTopics cannot succeed on it (the dev stack creates its
    /// topics through the mock's own control socket instead). What must hold is that the failure is a `KafkaError`
    /// that names the cause, that nothing crashes, and that no topic appears.
    @Test("CreateTopics on the mock cluster, which has no controller, fails with an admin error naming the cause")
    func createTopics() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: testLogger("admin"))
        let topic = KafkaNewTopic(name: "admin.created", partitions: 3, configs: ["retention.ms": "86400000"])
        do {
            let outcome = try await admin.createTopics([topic], timeout: .seconds(5))
            Issue.record("the mock cluster has no controller, yet CreateTopics answered \(outcome)")
        } catch {
            #expect(error.code == .admin, "\(error)")
            #expect("\(error)".contains("controller"), "the error names the cause: \(error)")
        }
        let described = try await admin.describeTopic("admin.created")
        #expect(described.partitions.isEmpty && described.error != nil, "no topic appeared: \(described)")
    }
}
