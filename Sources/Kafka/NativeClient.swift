import CRDKafka
import Dispatch
import Logging
import Synchronization

/// State that librdkafka's C callbacks reach through the client's opaque pointer.
final class CallbackContext: Sendable {
    let logger: Logger
    let deliveries: AsyncStream<KafkaDeliveryReport>.Continuation?
    let rebalance = Mutex(RebalanceInbox())
    /// How the brokers last refused this client's TLS or SASL, and whether every broker has been down since:
    /// a producer then gives up on what it holds at once, with this reason, rather than after its delivery timeout.
    let refusal = Mutex(SecurityRefusal())

    init(logger: Logger, deliveries: AsyncStream<KafkaDeliveryReport>.Continuation? = nil) {
        self.logger = logger
        self.deliveries = deliveries
    }
}

/// The brokers' refusals of this client's TLS or SASL, recorded by the error callback.
struct SecurityRefusal {
    var reason: KafkaError?
    var refusedAt: ContinuousClock.Instant?
    /// librdkafka reports every broker down once, when the last goes, and may do so just before or just after
    /// the refusal that took it down: the two are matched by time, whichever came first.
    var allBrokersDownAt: ContinuousClock.Instant?
    /// The producer purged for the latest refusal; a new refusal (each reconnection brings one) clears it.
    var actedOn = false

    /// Every broker went down within 30 s of a refusal that has not been acted on. A refusal long past is not
    /// why the brokers are down now (a network outage is, and is waited out).
    mutating func takeAllRefused(now: ContinuousClock.Instant = .now) -> Bool {
        guard !actedOn, let refusedAt, let allBrokersDownAt, now - refusedAt < .seconds(30),
            now - allBrokersDownAt < .seconds(30)
        else { return false }
        actedOn = true
        return true
    }

    /// librdkafka's codes for a failed TLS handshake or SASL exchange; a broker without SASL (the mock cluster)
    /// answers with a text that names SASL under another code.
    static func isRefusal(_ code: rd_kafka_resp_err_t, reason: String) -> Bool {
        [RD_KAFKA_RESP_ERR__SSL, RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED]
            .contains(code) || reason.contains("SASL") || reason.contains("SSL handshake")
    }
}

/// Rebalance news recorded by the C callback and drained by the poll loop.
struct RebalanceInbox {
    var assigned: [KafkaTopicPartition]?
    var revoked: [KafkaTopicPartition] = []
    var error: KafkaError?
}

/// Owns one `rd_kafka_t` and frees it exactly once.
///
/// `@unchecked Sendable`: librdkafka documents its handle as thread-safe; the one call that is not
/// (`rd_kafka_destroy`) happens in `deinit`, when no other reference exists. Calls that block run on
/// `queue`, never on the cooperative thread pool.
final class NativeClient: @unchecked Sendable {
    let pointer: OpaquePointer
    let context: CallbackContext
    private let queue: DispatchQueue

    init(
        kind: rd_kafka_type_t, properties: [String: String], context: CallbackContext,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = try makeNativeConfiguration(properties)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, nativeLogCallback)
        rd_kafka_conf_set_error_cb(conf, nativeErrorCallback)
        configure(conf)
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.clientCreation, string(fromCBuffer: errorText))
        }
        self.pointer = handle
        self.context = context
        self.queue = DispatchQueue(
            label: "empmon.kafka.\(rd_kafka_name(handle).map { String(cString: $0) } ?? "client")")
    }

    deinit {
        rd_kafka_destroy(pointer)
    }

    var name: String { String(cString: rd_kafka_name(pointer)) }

    /// Runs a blocking librdkafka call on this client's own queue.
    func blocking<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws(KafkaError) -> T)
        async throws(KafkaError) -> T
    {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body(self.pointer)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Metadata for one topic, or all topics when `topic` is nil.
    func metadata(topic: String?, timeout: Duration) throws(KafkaError) -> [KafkaTopicDescription] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        var topicHandle: OpaquePointer?
        if let topic { topicHandle = rd_kafka_topic_new(pointer, topic, nil) }
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        let err = rd_kafka_metadata(
            pointer, topic == nil ? 1 : 0, topicHandle, &metadata, Int32(timeout.kafkaMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(.metadata, response: err, context: "fetching metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var topics: [KafkaTopicDescription] = []
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            let partitions = (0..<Int(topic.partition_cnt)).map { p in
                let partition = topic.partitions[p]
                return KafkaPartitionDescription(
                    id: partition.id, leader: partition.leader,
                    replicas: Array(UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt))),
                    inSyncReplicas: Array(UnsafeBufferPointer(start: partition.isrs, count: Int(partition.isr_cnt))))
            }
            topics.append(
                KafkaTopicDescription(
                    name: String(cString: topic.topic), partitions: partitions.sorted { $0.id < $1.id },
                    error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(.metadata, response: topic.err)))
        }
        return topics.sorted { $0.name < $1.name }
    }
}

private func nativeLogCallback(
    _ handle: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?
) {
    guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
    let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let message = text.map { String(cString: $0) } ?? ""
    let metadata: Logger.Metadata = ["kafka.facility": .string(facility.map { String(cString: $0) } ?? "")]
    // syslog levels: 0–3 are errors, 4 warning, 5–6 notice/info, 7 debug.
    switch level {
    case ...3: context.logger.error("\(message)", metadata: metadata)
    case 4: context.logger.warning("\(message)", metadata: metadata)
    case 5...6: context.logger.info("\(message)", metadata: metadata)
    default: context.logger.debug("\(message)", metadata: metadata)
    }
}

/// librdkafka's client-level errors (a broker refused the handshake, every broker down): logged as before, and a
/// TLS or SASL refusal kept for the errors of what it holds up.
private func nativeErrorCallback(
    _ handle: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque else { return }
    let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let err = rd_kafka_resp_err_t(rawValue: code)
    let text = reason.map { String(cString: $0) } ?? ""
    context.logger.error("\(text)", metadata: ["kafka.error": .string(String(cString: rd_kafka_err2name(err)))])
    context.refusal.withLock { refusal in
        if SecurityRefusal.isRefusal(err, reason: text) {
            refusal.reason = KafkaError(.security, text, rdkafkaCode: code)
            refusal.refusedAt = .now
            refusal.actedOn = false
        } else if err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
            refusal.allBrokersDownAt = .now
        }
    }
}

/// Copies a C partition list into Swift values.
func topicPartitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
    (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
    }
}

/// Builds a C partition list; the caller destroys it.
func makePartitionList(_ offsets: [(KafkaTopicPartition, Int64)]) -> UnsafeMutablePointer<
    rd_kafka_topic_partition_list_t
> {
    let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
    for (topicPartition, offset) in offsets {
        rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition).pointee.offset = offset
    }
    return list
}

/// The text librdkafka wrote into a fixed-size error buffer.
func string(fromCBuffer buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
