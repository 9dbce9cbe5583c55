import CRDKafka

/// Settings shared by every client kind.
public struct KafkaClientConfiguration: Sendable {
    /// `host:port` pairs, comma separated.
    public var bootstrapServers: String
    public var clientID: String
    /// How long a broker that cannot be reached is retried before librdkafka gives up on a request.
    public var socketTimeout: Duration = .seconds(30)
    /// Any librdkafka property (see its CONFIGURATION.md); applied last, so it overrides the typed settings.
    public var properties: [String: String] = [:]

    public init(bootstrapServers: String, clientID: String = "empmon") {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
    }

    public init(endpoint: KafkaEndpoint, clientID: String = "empmon") {
        self.init(bootstrapServers: endpoint.bootstrapServers, clientID: clientID)
        self.security = endpoint.security
    }

    /// TLS and SASL; plaintext unless the deployment says otherwise.
    public var security: KafkaSecurity = .plaintext

    var baseProperties: [String: String] {
        var properties = security.properties
        properties.merge([
            "bootstrap.servers": bootstrapServers,
            "client.id": clientID,
            "socket.timeout.ms": String(socketTimeout.kafkaMilliseconds),
        ]) { _, typed in typed }
        return properties
    }
}

/// Settings of a producer. Defaults give exactly-once delivery to a partition: idempotence with `acks=all`.
public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    /// Idempotent producing (`enable.idempotence`): retries never duplicate or reorder a message.
    public var idempotent: Bool = true
    /// How long librdkafka keeps retrying a message before reporting it failed (`message.timeout.ms`).
    /// Zero means forever, which suits an agent that must outlast a long broker outage.
    public var deliveryTimeout: Duration = .seconds(300)
    /// Time to gather a batch before sending (`linger.ms`).
    public var linger: Duration = .milliseconds(5)
    /// Messages librdkafka may hold in its queue before `send` has to wait.
    public var maxQueuedMessages: Int = 100_000
    /// Compress each batch of messages with zstd (`compression.type`): records with hex keys and repeated codes
    /// shrink to well under half, on the wire and in a broker's size-bounded retention.
    public var compressed = false

    public init(bootstrapServers: String, clientID: String = "empmon-producer") {
        self.client = KafkaClientConfiguration(bootstrapServers: bootstrapServers, clientID: clientID)
    }

    public init(endpoint: KafkaEndpoint, clientID: String = "empmon-producer") {
        self.client = KafkaClientConfiguration(endpoint: endpoint, clientID: clientID)
    }

    var properties: [String: String] {
        var properties = client.baseProperties
        properties["enable.idempotence"] = idempotent ? "true" : "false"
        properties["acks"] = "all"
        properties["message.timeout.ms"] = String(deliveryTimeout.kafkaMilliseconds)
        properties["linger.ms"] = String(linger.kafkaMilliseconds)
        properties["queue.buffering.max.messages"] = String(maxQueuedMessages)
        if compressed { properties["compression.type"] = "zstd" }
        properties.merge(client.properties) { _, override in override }
        return properties
    }
}

/// Settings of a group consumer whose offsets live outside Kafka: nothing is committed to the broker,
/// and every assignment asks the caller where to start.
public struct KafkaConsumerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    public var groupID: String
    /// How long the group waits for a silent member before handing its partitions to others.
    public var sessionTimeout: Duration = .seconds(10)
    /// The longest a member may go between polls before it is considered stuck and removed.
    public var maxPollInterval: Duration = .seconds(300)
    /// `range` and `roundrobin` rebalance eagerly; `cooperative-sticky` incrementally. Both are handled.
    public var assignmentStrategy: String = "range,roundrobin"

    public init(bootstrapServers: String, groupID: String, clientID: String = "empmon-consumer") {
        self.client = KafkaClientConfiguration(bootstrapServers: bootstrapServers, clientID: clientID)
        self.groupID = groupID
    }

    public init(endpoint: KafkaEndpoint, groupID: String, clientID: String = "empmon-consumer") {
        self.client = KafkaClientConfiguration(endpoint: endpoint, clientID: clientID)
        self.groupID = groupID
    }

    var properties: [String: String] {
        var properties = client.baseProperties
        properties["group.id"] = groupID
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["auto.offset.reset"] = "earliest"
        properties["session.timeout.ms"] = String(sessionTimeout.kafkaMilliseconds)
        properties["max.poll.interval.ms"] = String(maxPollInterval.kafkaMilliseconds)
        properties["partition.assignment.strategy"] = assignmentStrategy
        properties.merge(client.properties) { _, override in override }
        return properties
    }
}

/// Builds an `rd_kafka_conf_t` from properties; the caller owns the result.
func makeNativeConfiguration(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else {
        throw KafkaError(.configuration, "librdkafka could not allocate a configuration")
    }
    var errorText = [CChar](repeating: 0, count: 512)
    for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
        if rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.configuration, "property \(name): \(string(fromCBuffer: errorText))")
        }
    }
    return conf
}
