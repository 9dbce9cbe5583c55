import CRDKafka
import Logging

/// librdkafka's built-in mock cluster: real Kafka wire protocol on loopback ports, all in this process.
///
/// Know its limits (librdkafka 2.0.2): each partition keeps only its newest ~5 MiB of message sets,
/// topics are created here (the mock does not answer the CreateTopics admin request), and nothing
/// survives the process.
public final class MockKafkaCluster: Sendable {
    private let cluster: MockClusterHandle
    /// `host:port,…` of the brokers, for any client's `bootstrap.servers`.
    public let bootstrapServers: String
    public let brokerIDs: [Int32]

    public init(brokers: Int = 3, logger: Logger) throws(KafkaError) {
        guard brokers >= 1 else {
            throw KafkaError(.mockCluster, "a cluster needs at least one broker, not \(brokers)")
        }
        let owner = try NativeClient(kind: RD_KAFKA_PRODUCER, properties: [:], context: CallbackContext(logger: logger))
        guard let pointer = rd_kafka_mock_cluster_new(owner.pointer, Int32(brokers)) else {
            throw KafkaError(.mockCluster, "librdkafka could not start a mock cluster of \(brokers) brokers")
        }
        cluster = MockClusterHandle(pointer: pointer, owner: owner)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(pointer))
        brokerIDs = (1...Int32(brokers)).map { $0 }
    }

    /// Creates a topic; replicas are spread over the brokers.
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster.pointer, name, partitions, replicationFactor)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.mockCluster, response: err, context: "creating topic \(name)")
        }
    }

    /// Takes a broker down: its connections close and new ones are refused until `setBrokerUp`.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try checkBroker(id)
        let err = rd_kafka_mock_broker_set_down(cluster.pointer, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.mockCluster, response: err, context: "broker \(id) down")
        }
    }

    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try checkBroker(id)
        let err = rd_kafka_mock_broker_set_up(cluster.pointer, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.mockCluster, response: err, context: "broker \(id) up")
        }
    }

    /// Moves a partition's leadership to a broker.
    public func setLeader(_ topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try checkBroker(broker)
        let err = rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, broker)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.mockCluster, response: err, context: "leader of \(topic)[\(partition)]")
        }
    }

    private func checkBroker(_ id: Int32) throws(KafkaError) {
        guard brokerIDs.contains(id) else {
            throw KafkaError(
                .mockCluster, "no broker \(id); brokers are \(brokerIDs.map(String.init).joined(separator: ", "))")
        }
    }
}

/// `@unchecked Sendable`: the mock cluster runs its own thread and takes every call as an operation on
/// its internal queue, so its handle may be used from any thread; it is destroyed once, in `deinit`,
/// before the client that owns it (librdkafka asserts that order).
private final class MockClusterHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let owner: NativeClient

    init(pointer: OpaquePointer, owner: NativeClient) {
        self.pointer = pointer
        self.owner = owner
    }

    deinit { rd_kafka_mock_cluster_destroy(pointer) }
}
