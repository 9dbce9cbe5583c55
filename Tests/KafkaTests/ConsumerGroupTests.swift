import Kafka
import Synchronization
import Testing

@Suite("Consumer group on the mock cluster", .serialized)
struct ConsumerGroupTests {
    @Test("100,000 keyed messages over 12 partitions, 2 members, one leaves: each message seen exactly once")
    func exactlyOnceAcrossHandover() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: testLogger("mock"))
        let topic = "records.test"
        try cluster.createTopic(topic, partitions: 12)
        let total = 100_000

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: testLogger("producer"))
        let reports = try await produceAll(
            producer, topic: topic, count: total, key: { "county-\($0 % 97)" }, value: { "\($0)" })
        #expect(reports.count == total)
        #expect(reports.values.allSatisfy { if case .success = $0 { true } else { false } })

        let store = OffsetStore()
        let progress = GroupProgress()

        @Sendable func member(_ name: String, leavesEarly: Bool) async throws -> (
            maxPartitions: Int, final: [KafkaTopicPartition]
        ) {
            var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "g1")
            configuration.client.clientID = name
            let consumer = try KafkaConsumer(configuration: configuration, logger: testLogger(name))
            try await consumer.subscribe(topics: [topic])
            var maxPartitions = 0
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(120))
            while progress.total.load(ordering: .relaxed) < total, clock.now < deadline {
                if leavesEarly, progress.leaverAssigned.load(ordering: .relaxed),
                    progress.total.load(ordering: .relaxed) >= total / 3
                {
                    break
                }
                // Until both members are in the group, the first one reads slowly, so that there is
                // something left to hand over.
                let bothJoined = progress.leaverAssigned.load(ordering: .relaxed)
                if !bothJoined, !leavesEarly { try await Task.sleep(for: .milliseconds(20)) }
                let result = try await consumer.poll(maxMessages: bothJoined ? 500 : 100, timeout: .milliseconds(100))
                // Processing and storing the offsets happen together, as in one database transaction.
                progress.seen.withLock { seen in
                    for message in result.messages {
                        let value = Int(String(decoding: message.value, as: UTF8.self)) ?? -1
                        seen[value, default: 0] += 1
                    }
                    store.record(result.messages)
                }
                progress.total.add(result.messages.count, ordering: .relaxed)
                switch result.rebalance {
                case .assigned(let partitions):
                    try await consumer.assign(store.startingOffsets(for: partitions))
                    let owned = try await consumer.assignment().count
                    maxPartitions = max(maxPartitions, owned)
                    if leavesEarly, owned > 0 { progress.leaverAssigned.store(true, ordering: .relaxed) }
                case .revoked, nil:
                    break
                }
            }
            let final = try await consumer.assignment()
            try await consumer.close()
            return (maxPartitions, final)
        }

        var outcomes: [String: (maxPartitions: Int, final: [KafkaTopicPartition])] = [:]
        try await withThrowingTaskGroup(of: (String, Int, [KafkaTopicPartition]).self) { group in
            for (name, leavesEarly) in [("stayer", false), ("leaver", true)] {
                group.addTask {
                    let outcome = try await member(name, leavesEarly: leavesEarly)
                    return (name, outcome.maxPartitions, outcome.final)
                }
            }
            for try await (name, maxPartitions, final) in group { outcomes[name] = (maxPartitions, final) }
        }
        let stayed = try #require(outcomes["stayer"])
        let left = try #require(outcomes["leaver"])

        let counts = progress.seen.withLock { $0 }
        #expect(counts.count == total, "distinct messages seen")
        #expect(counts.values.allSatisfy { $0 == 1 }, "duplicates: \(counts.filter { $0.value > 1 }.count)")
        #expect(Set(counts.keys) == Set(0..<total))
        #expect(left.maxPartitions > 0 && left.maxPartitions < 12, "the leaver owned part of the topic")
        #expect(stayed.final.count == 12, "the stayer took over every partition")
    }

    @Test("A rebalance delivers the partitions and waits for the caller's offsets")
    func assignmentStartsAtSuppliedOffsets() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: testLogger("mock"))
        try cluster.createTopic("offsets.test", partitions: 2)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: testLogger("producer"))
        for index in 0..<20 {
            try await producer.send(
                KafkaProducerMessage(
                    topic: "offsets.test", partition: Int32(index % 2), key: "k", value: Array("\(index)".utf8)))
        }
        try await producer.flush(timeout: .seconds(10))

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "g2"),
            logger: testLogger("consumer"))
        try await consumer.subscribe(topics: ["offsets.test"])
        var messages: [KafkaMessage] = []
        var assigned: [KafkaTopicPartition] = []
        for _ in 0..<100 where messages.count < 13 {
            let result = try await consumer.poll(timeout: .milliseconds(100))
            messages += result.messages
            if case .assigned(let partitions) = result.rebalance {
                assigned = partitions
                #expect(try await consumer.assignment().isEmpty, "nothing is read before the caller answers")
                try await consumer.assign([
                    KafkaTopicPartition(topic: "offsets.test", partition: 0): .exact(7),
                    KafkaTopicPartition(topic: "offsets.test", partition: 1): .beginning,
                ])
            }
        }
        try await consumer.close()
        #expect(assigned.map(\.partition) == [0, 1])
        let firstOfZero = messages.filter { $0.partition == 0 }.map(\.offset).min()
        #expect(firstOfZero == 7)
        #expect(messages.filter { $0.partition == 0 }.count == 3)
        #expect(messages.filter { $0.partition == 1 }.count == 10)
        #expect(messages.allSatisfy { $0.key == Array("k".utf8) })
    }
}

/// What the members of the group test share.
final class GroupProgress: Sendable {
    let seen = Mutex<[Int: Int]>([:])
    let total = Atomic<Int>(0)
    let leaverAssigned = Atomic<Bool>(false)
}
