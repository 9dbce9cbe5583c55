import CRDKafka

/// An error raised by the Kafka layer, carrying librdkafka's own code and text where there is one.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of operation failed. Extensible: new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let configuration = Code("configuration")
        public static let clientCreation = Code("client creation")
        public static let produce = Code("produce")
        public static let delivery = Code("delivery")
        public static let consume = Code("consume")
        public static let subscription = Code("subscription")
        public static let rebalance = Code("rebalance")
        public static let admin = Code("admin")
        public static let metadata = Code("metadata")
        public static let mockCluster = Code("mock cluster")
        public static let closed = Code("closed")
        public static let timedOut = Code("timed out")
        /// The brokers refused the client's TLS handshake or SASL credentials.
        public static let security = Code("security")
    }

    public let code: Code
    /// librdkafka's `rd_kafka_resp_err_t` value, when the error came from librdkafka.
    public let rdkafkaCode: Int32?
    /// librdkafka's symbolic name of `rdkafkaCode`, e.g. `_TRANSPORT` or `TOPIC_ALREADY_EXISTS`.
    public let rdkafkaName: String?
    public let message: String
    /// True when retrying the same operation later may succeed (a broker down, a full queue).
    public let isRetriable: Bool
    /// True when the client instance is unusable and must be recreated.
    public let isFatal: Bool
    public let file: String
    public let line: UInt

    public init(
        _ code: Code, _ message: String, rdkafkaCode: Int32? = nil, isRetriable: Bool = false, isFatal: Bool = false,
        file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.rdkafkaCode = rdkafkaCode
        self.rdkafkaName = rdkafkaCode.map { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t($0))) }
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.file = file
        self.line = line
    }

    init(
        _ code: Code, response: rd_kafka_resp_err_t, context: String? = nil, file: String = #fileID, line: UInt = #line
    ) {
        let text = String(cString: rd_kafka_err2str(response))
        self.init(
            code, context.map { "\($0): \(text)" } ?? text, rdkafkaCode: response.rawValue,
            isRetriable: KafkaError.retriable.contains(response), file: file, line: line)
    }

    /// Takes ownership of `error` and destroys it.
    init(
        _ code: Code, consuming error: OpaquePointer, context: String? = nil, file: String = #fileID, line: UInt = #line
    ) {
        defer { rd_kafka_error_destroy(error) }
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            code, context.map { "\($0): \(text)" } ?? text, rdkafkaCode: rd_kafka_error_code(error).rawValue,
            isRetriable: rd_kafka_error_is_retriable(error) != 0, isFatal: rd_kafka_error_is_fatal(error) != 0,
            file: file, line: line)
    }

    public var description: String {
        var text = "Kafka \(code) error: \(message)"
        if let rdkafkaName { text += " [\(rdkafkaName)]" }
        return text
    }

    private static let retriable: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ]
}

// librdkafka's error code is a C enum that Swift imports without Hashable; the conformance is needed to key
// dictionaries by it, and nothing else in the process declares it.
// swift-format-ignore: AvoidRetroactiveConformances
extension rd_kafka_resp_err_t: @retroactive Hashable {
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}
