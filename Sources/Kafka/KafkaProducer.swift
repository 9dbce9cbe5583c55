import CRDKafka
import Dispatch
import Logging
import Synchronization

/// An idempotent Kafka producer.
///
/// `send` hands a message to librdkafka and returns at once with its id; the broker's verdict arrives
/// later on `deliveryReports`, one report per message sent. A background thread serves librdkafka's
/// callbacks for as long as the producer lives.
///
/// ```swift
/// let producer = try KafkaProducer(configuration: .init(bootstrapServers: servers), logger: logger)
/// let id = try await producer.send(KafkaProducerMessage(topic: "t", key: "k", value: bytes))
/// for await report in producer.deliveryReports { … }
/// ```
public final class KafkaProducer: Sendable {
    private let client: NativeClient
    private let nextID = Atomic<UInt>(1)
    private let stopPolling: PollStopper
    /// Every message's delivery report, in the order the broker answered.
    public let deliveryReports: AsyncStream<KafkaDeliveryReport>

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let (stream, continuation) = AsyncStream<KafkaDeliveryReport>.makeStream()
        let context = CallbackContext(logger: logger, deliveries: continuation)
        self.client = try NativeClient(kind: RD_KAFKA_PRODUCER, properties: configuration.properties, context: context)
        {
            rd_kafka_conf_set_dr_msg_cb($0, deliveryReportCallback)
        }
        self.deliveryReports = stream
        self.stopPolling = PollStopper.start(client: client)
    }

    deinit {
        stopPolling.stop()
    }

    /// Enqueues a message. Waits while librdkafka's local queue is full; throws for anything else,
    /// such as an unknown topic or an oversized message.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaMessageID {
        let id = KafkaMessageID(rawValue: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        while true {
            let err = enqueue(message, id: id)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return id }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                // The poll thread drains delivery reports, which frees queue space.
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            throw KafkaError(.produce, response: err, context: "producing to \(message.topic)")
        }
    }

    private func enqueue(_ message: KafkaProducerMessage, id: KafkaMessageID) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    value.withUnsafeBytes {
                        _ = rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count)
                    }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: id.rawValue)
        let partition = message.partition ?? RD_KAFKA_PARTITION_UA
        let err = message.value.withUnsafeBytes { value in
            withOptionalBytes(message.key) { key in
                empmon_produce(
                    client.pointer, message.topic, partition, key.baseAddress, key.count, value.baseAddress,
                    value.count,
                    headers, opaque)
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
            rd_kafka_headers_destroy(headers)
        }
        return err
    }

    /// Messages handed to librdkafka and not yet reported.
    public var inFlightCount: Int { Int(rd_kafka_outq_len(client.pointer)) }

    /// Waits until every message sent so far has its delivery report, or the timeout passes.
    public func flush(timeout: Duration) async throws(KafkaError) {
        try await client.blocking { pointer throws(KafkaError) in
            let err = rd_kafka_flush(pointer, timeout.kafkaMilliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(
                    .timedOut, "\(rd_kafka_outq_len(pointer)) messages still undelivered after \(timeout)",
                    rdkafkaCode: err.rawValue, isRetriable: true)
            }
        }
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let bytes { return bytes.withUnsafeBytes(body) }
    return body(UnsafeRawBufferPointer(start: nil, count: 0))
}

private func deliveryReportCallback(
    _ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque, let message else { return }
    let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let id = KafkaMessageID(rawValue: UInt(bitPattern: message.pointee._private))
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    let err = message.pointee.err
    let result: Result<Int64, KafkaError>
    if err == RD_KAFKA_RESP_ERR_NO_ERROR {
        result = .success(message.pointee.offset)
    } else if err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
        let refusal = context.refusal.withLock({ $0.reason })
    {
        result = .failure(
            KafkaError(
                .security, "not delivered to \(topic): every broker refused this client: \(refusal.message)",
                rdkafkaCode: refusal.rdkafkaCode))
    } else {
        result = .failure(KafkaError(.delivery, response: err, context: "delivering to \(topic)"))
    }
    context.deliveries?.yield(
        KafkaDeliveryReport(id: id, topic: topic, partition: message.pointee.partition, result: result))
}

/// Serves librdkafka's callbacks on a dedicated thread until stopped.
final class PollStopper: Sendable {
    private let stopped = Atomic(false)

    static func start(client: NativeClient) -> PollStopper {
        let stopper = PollStopper()
        let thread = DispatchQueue(label: "empmon.kafka.poll.\(client.name)")
        thread.async {
            while !stopper.stopped.load(ordering: .acquiring) {
                rd_kafka_poll(client.pointer, 100)
                // Every broker refused the handshake: what waits would only wait out its delivery timeout.
                let refused = client.context.refusal.withLock { $0.takeAllRefused() }
                if refused {
                    rd_kafka_purge(client.pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
                }
            }
            client.context.deliveries?.finish()
        }
        return stopper
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
    }
}
