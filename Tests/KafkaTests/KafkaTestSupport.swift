import Kafka
import Logging
import Synchronization
import Testing

func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

/// Sends `values` to `topic` keyed by `key(index)` and waits for every delivery report.
/// Returns the reports' outcomes, keyed by message id.
func produceAll(
    _ producer: KafkaProducer, topic: String, count: Int, key: (Int) -> String, value: (Int) -> String,
    whileSending: (Int) async throws -> Void = { _ in }
) async throws -> [KafkaMessageID: Result<Int64, KafkaError>] {
    var ids: Set<KafkaMessageID> = []
    for index in 0..<count {
        try await whileSending(index)
        let id = try await producer.send(
            KafkaProducerMessage(
                topic: topic, key: key(index), value: Array(value(index).utf8),
                headers: [KafkaHeader(key: "index", string: String(index))]))
        ids.insert(id)
    }
    var results: [KafkaMessageID: Result<Int64, KafkaError>] = [:]
    for await report in producer.deliveryReports {
        if ids.contains(report.id) { results[report.id] = report.result }
        if results.count == ids.count { break }
    }
    return results
}

/// Offsets kept by the test, as the processor will keep them in PostgreSQL.
final class OffsetStore: Sendable {
    private let next = Mutex<[KafkaTopicPartition: Int64]>([:])

    func startingOffsets(for partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        next.withLock { next in
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, next[$0].map(KafkaOffset.exact) ?? .beginning) })
        }
    }

    func record(_ messages: [KafkaMessage]) {
        next.withLock { next in
            for message in messages { next[message.topicPartition] = message.offset + 1 }
        }
    }
}

/// Reads a whole topic with a fresh group and returns every message value, in no particular order.
func readAll(bootstrap: String, topic: String, expecting count: Int, within seconds: Int = 60) async throws -> [String]
{
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: "reader-\(topic)-\(count)"),
        logger: testLogger("reader"))
    try await consumer.subscribe(topics: [topic])
    var values: [String] = []
    // Until `count` different values: a repeat must not end the reading before every value came.
    var distinct = Set<String>()
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(seconds))
    while distinct.count < count, clock.now < deadline {
        let result = try await consumer.poll(maxMessages: 5000, timeout: .milliseconds(200))
        let read = result.messages.map { String(decoding: $0.value, as: UTF8.self) }
        values += read
        distinct.formUnion(read)
        if case .assigned(let partitions) = result.rebalance {
            try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .beginning) }))
        }
    }
    // Anything beyond `count` would be a duplicate; give it a moment to show up.
    for _ in 0..<5 {
        values += try await consumer.poll(maxMessages: 5000, timeout: .milliseconds(200)).messages.map {
            String(decoding: $0.value, as: UTF8.self)
        }
    }
    try await consumer.close()
    return values
}
