import CRDKafka
import Logging

/// A partition as the cluster describes it.
public struct KafkaPartitionDescription: Sendable, Hashable {
    public let id: Int32
    public let leader: Int32
    public let replicas: [Int32]
    public let inSyncReplicas: [Int32]
}

/// A topic as the cluster describes it.
public struct KafkaTopicDescription: Sendable {
    public let name: String
    public let partitions: [KafkaPartitionDescription]
    /// Set when the broker reported a problem with this topic (e.g. it does not exist).
    public let error: KafkaError?
}

/// A topic to create.
public struct KafkaNewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic configs such as `retention.ms` or `cleanup.policy`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32 = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What happened to one topic of a `createTopics` call.
public enum KafkaTopicCreation: Sendable {
    case created
    case alreadyExisted
    case failed(KafkaError)
}

/// Cluster administration: create and describe topics.
public final class KafkaAdmin: Sendable {
    private let client: NativeClient

    public init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        client = try NativeClient(
            kind: RD_KAFKA_PRODUCER, properties: configuration.baseProperties.merging(configuration.properties) { $1 },
            context: CallbackContext(logger: logger))
    }

    /// Creates topics; one that already exists is reported as such, not as an error, so that applying the
    /// same definitions twice is harmless.
    public func createTopics(_ topics: [KafkaNewTopic], timeout: Duration = .seconds(30)) async throws(KafkaError)
        -> [String: KafkaTopicCreation]
    {
        try await client.blocking { pointer throws(KafkaError) in
            try createTopicsBlocking(pointer, topics, timeout: timeout)
        }
    }

    /// Every topic the cluster knows, with partitions and replicas.
    public func listTopics(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicDescription] {
        try await client.blocking { [client] _ throws(KafkaError) in try client.metadata(topic: nil, timeout: timeout) }
    }

    /// One topic; its `error` is set if the cluster does not have it.
    public func describeTopic(_ name: String, timeout: Duration = .seconds(10)) async throws(KafkaError)
        -> KafkaTopicDescription
    {
        let all = try await listTopics(timeout: timeout)
        if let found = all.first(where: { $0.name == name }) { return found }
        return KafkaTopicDescription(
            name: name, partitions: [], error: KafkaError(.metadata, response: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART))
    }

    /// The broker ids of the cluster.
    public func brokers(timeout: Duration = .seconds(10)) async throws(KafkaError) -> [Int32] {
        try await client.blocking { pointer throws(KafkaError) in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(pointer, 0, nil, &metadata, timeout.kafkaMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError(.metadata, response: err, context: "listing brokers")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            return (0..<Int(metadata.pointee.broker_cnt)).map { metadata.pointee.brokers[$0].id }.sorted()
        }
    }
}

private func createTopicsBlocking(_ pointer: OpaquePointer, _ topics: [KafkaNewTopic], timeout: Duration)
    throws(KafkaError) -> [String: KafkaTopicCreation]
{
    var errorText = [CChar](repeating: 0, count: 512)
    var newTopics: [OpaquePointer?] = []
    defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
    for topic in topics {
        guard
            let newTopic = rd_kafka_NewTopic_new(
                topic.name, topic.partitions, topic.replicationFactor, &errorText, errorText.count)
        else {
            throw KafkaError(.admin, "topic \(topic.name): \(string(fromCBuffer: errorText))")
        }
        newTopics.append(newTopic)
        for (name, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
            let err = rd_kafka_NewTopic_set_config(newTopic, name, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(.admin, response: err, context: "topic \(topic.name) config \(name)")
            }
        }
    }
    guard let resultQueue = rd_kafka_queue_new(pointer) else {
        throw KafkaError(.admin, "librdkafka could not create a result queue")
    }
    defer { rd_kafka_queue_destroy(resultQueue) }
    let options = rd_kafka_AdminOptions_new(pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
    defer { rd_kafka_AdminOptions_destroy(options) }
    _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.kafkaMilliseconds, &errorText, errorText.count)
    _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.kafkaMilliseconds, &errorText, errorText.count)

    newTopics.withUnsafeMutableBufferPointer { buffer in
        rd_kafka_CreateTopics(pointer, buffer.baseAddress, buffer.count, options, resultQueue)
    }
    guard let event = rd_kafka_queue_poll(resultQueue, timeout.kafkaMilliseconds + 1000) else {
        throw KafkaError(.timedOut, "no answer to CreateTopics within \(timeout)", isRetriable: true)
    }
    defer { rd_kafka_event_destroy(event) }
    let eventError = rd_kafka_event_error(event)
    if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
        let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
        throw KafkaError(.admin, "CreateTopics: \(text)", rdkafkaCode: eventError.rawValue)
    }
    guard let result = rd_kafka_event_CreateTopics_result(event) else {
        throw KafkaError(.admin, "CreateTopics returned an unexpected event")
    }
    var count = 0
    guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
    var outcome: [String: KafkaTopicCreation] = [:]
    for index in 0..<count {
        let topicResult = results[index]
        let name = String(cString: rd_kafka_topic_result_name(topicResult))
        let err = rd_kafka_topic_result_error(topicResult)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR: outcome[name] = .created
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcome[name] = .alreadyExisted
        default:
            let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
            outcome[name] = .failed(KafkaError(.admin, response: err, context: text ?? "topic \(name)"))
        }
    }
    return outcome
}
