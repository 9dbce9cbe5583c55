import CRDKafka

/// A partition of a topic.
public struct KafkaTopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// Where a consumer starts reading a partition.
public enum KafkaOffset: Hashable, Sendable, CustomStringConvertible {
    /// The oldest message the broker still holds.
    case beginning
    /// Only messages produced from now on.
    case end
    /// The message at exactly this offset (the next one to read).
    case exact(Int64)

    var rawValue: Int64 {
        switch self {
        case .beginning: Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: Int64(RD_KAFKA_OFFSET_END)
        case .exact(let offset): offset
        }
    }

    public var description: String {
        switch self {
        case .beginning: "beginning"
        case .end: "end"
        case .exact(let offset): "\(offset)"
        }
    }
}

/// A message header; Kafka allows repeated keys and null values.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}

/// A message to produce. Without a partition the key decides it (librdkafka's partitioner).
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, partition: Int32? = nil, key: String?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: value, headers: headers)
    }
}

/// Identifies one produced message in delivery reports; unique per producer.
public struct KafkaMessageID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt
    public var description: String { "#\(rawValue)" }
}

/// The broker's final word on one produced message.
public struct KafkaDeliveryReport: Sendable {
    public let id: KafkaMessageID
    public let topic: String
    public let partition: Int32
    /// The message's offset on success, or the reason it was not delivered.
    public let result: Result<Int64, KafkaError>
}

/// A consumed message, copied out of librdkafka's buffers.
public struct KafkaMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
    public let headers: [KafkaHeader]
    /// Producer (create-time) timestamp in milliseconds since 1970, when the broker reports one.
    public let timestampMilliseconds: Int64?

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    package init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader],
        timestampMilliseconds: Int64?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    public func header(_ key: String) -> [UInt8]? {
        headers.last { $0.key == key }?.value ?? nil
    }
}

extension Duration {
    /// Milliseconds for librdkafka's `int timeout_ms` arguments, clamped to what fits.
    var kafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, millis))
    }
}
