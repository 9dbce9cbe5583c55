import CRDKafka
import Logging
import Synchronization

/// A change of the partitions this member owns.
public enum KafkaRebalance: Sendable, Equatable {
    /// These partitions were given to this member. Nothing is read from them until the caller answers
    /// with `KafkaConsumer.assign(_:)`, saying where each one starts.
    case assigned([KafkaTopicPartition])
    /// These partitions were taken away; they are no longer read, and messages of theirs that arrived
    /// in the same poll were dropped.
    case revoked([KafkaTopicPartition])
}

/// What one `poll` brought.
public struct KafkaPollResult: Sendable {
    /// Messages in partition order as read, all from partitions this member still owns.
    public var messages: [KafkaMessage]
    /// Set when the group rebalanced during this poll; handle it after the messages.
    public var rebalance: KafkaRebalance?
}

/// A member of a consumer group whose offsets are kept by the caller, not by Kafka.
///
/// On every assignment, `poll` returns `.assigned(partitions)` and the caller must answer with
/// `assign(_:)`, giving each partition's starting offset (for instance from the database that stores
/// results and offsets in one transaction). Nothing is ever committed to the broker.
///
/// All calls that block run on the consumer's own thread, not on Swift's cooperative pool. Poll from one
/// task at a time.
public final class KafkaConsumer: Sendable {
    private let client: NativeClient
    private let logger: Logger
    private let cooperative: Bool

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        let context = CallbackContext(logger: logger)
        self.client = try NativeClient(kind: RD_KAFKA_CONSUMER, properties: configuration.properties, context: context)
        {
            rd_kafka_conf_set_rebalance_cb($0, rebalanceCallback)
        }
        self.logger = logger
        self.cooperative = String(cString: rd_kafka_rebalance_protocol(client.pointer)) == "COOPERATIVE"
        rd_kafka_poll_set_consumer(client.pointer)
    }

    /// Joins the group for these topics. Assignments arrive through `poll`.
    public func subscribe(topics: [String]) async throws(KafkaError) {
        try await client.blocking { pointer throws(KafkaError) in
            let list = makePartitionList(
                topics.map { (KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), 0) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_subscribe(pointer, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(
                    .subscription, response: err, context: "subscribing to \(topics.joined(separator: ","))")
            }
        }
    }

    /// Reads up to `maxMessages`, waiting at most `timeout` for the first one. Returns early, with the
    /// messages read so far, when the group rebalances.
    public func poll(maxMessages: Int = 1000, timeout: Duration = .milliseconds(100)) async throws(KafkaError)
        -> KafkaPollResult
    {
        let logger = self.logger
        let context = client.context
        return try await client.blocking { pointer throws(KafkaError) in
            var messages: [KafkaMessage] = []
            messages.reserveCapacity(min(maxMessages, 4096))
            var wait = timeout.kafkaMilliseconds
            var rebalanced = false
            while messages.count < maxMessages {
                let next = rd_kafka_consumer_poll(pointer, wait)
                wait = 0
                if context.rebalance.withLock({ $0.assigned != nil || !$0.revoked.isEmpty || $0.error != nil }) {
                    rebalanced = true
                }
                guard let next else { break }
                defer { rd_kafka_message_destroy(next) }
                let err = next.pointee.err
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    messages.append(copyMessage(next))
                } else if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    let error = KafkaError(.consume, response: err, context: "consuming")
                    var fatal = [CChar](repeating: 0, count: 512)
                    if rd_kafka_fatal_error(pointer, &fatal, fatal.count) != RD_KAFKA_RESP_ERR_NO_ERROR {
                        throw KafkaError(.consume, string(fromCBuffer: fatal), rdkafkaCode: err.rawValue, isFatal: true)
                    }
                    logger.warning("consumer error", metadata: ["kafka.error": "\(error)"])
                }
                if rebalanced { break }
            }
            let inbox = context.rebalance.withLock { inbox in
                defer { inbox = RebalanceInbox() }
                return inbox
            }
            if let error = inbox.error { throw error }
            var rebalance: KafkaRebalance?
            if !inbox.revoked.isEmpty {
                let revoked = Set(inbox.revoked)
                messages.removeAll { revoked.contains($0.topicPartition) }
                rebalance = .revoked(inbox.revoked.sorted())
                if let assigned = inbox.assigned {
                    // Both in one poll: report the revocation now, keep the assignment for the next poll.
                    context.rebalance.withLock { $0.assigned = assigned }
                }
            } else if let assigned = inbox.assigned {
                rebalance = .assigned(assigned.sorted())
            }
            return KafkaPollResult(messages: messages, rebalance: rebalance)
        }
    }

    /// Answers an `.assigned` rebalance: starts reading each partition at the given offset.
    public func assign(_ offsets: [KafkaTopicPartition: KafkaOffset]) async throws(KafkaError) {
        let cooperative = self.cooperative
        try await client.blocking { pointer throws(KafkaError) in
            let list = makePartitionList(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value.rawValue) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if cooperative {
                if let error = rd_kafka_incremental_assign(pointer, list) {
                    throw KafkaError(.rebalance, consuming: error, context: "assigning partitions")
                }
            } else {
                let err = rd_kafka_assign(pointer, list)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(.rebalance, response: err, context: "assigning partitions")
                }
            }
        }
    }

    /// The partitions this member currently reads.
    public func assignment() async throws(KafkaError) -> [KafkaTopicPartition] {
        try await client.blocking { pointer throws(KafkaError) in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let err = rd_kafka_assignment(pointer, &list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
                throw KafkaError(.rebalance, response: err, context: "reading the assignment")
            }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return topicPartitions(of: list).sorted()
        }
    }

    /// The oldest offset and the next offset to be written (high watermark) of a partition, asked of the broker.
    public func watermarks(of partition: KafkaTopicPartition, timeout: Duration = .seconds(5)) async throws(KafkaError)
        -> (low: Int64, high: Int64)
    {
        try await client.blocking { pointer throws(KafkaError) in
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(
                pointer, partition.topic, partition.partition, &low, &high, timeout.kafkaMilliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(.metadata, response: err, context: "watermarks of \(partition)")
            }
            return (low, high)
        }
    }

    /// The watermarks the client last saw in a fetch response, without asking the broker; nil until a
    /// fetch of the partition returned.
    public func cachedWatermarks(of partition: KafkaTopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(client.pointer, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (max(low, 0), high)
    }

    /// Leaves the group so that its partitions go to other members at once, instead of after the session times out.
    public func close() async throws(KafkaError) {
        try await client.blocking { pointer throws(KafkaError) in
            let err = rd_kafka_consumer_close(pointer)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(.consume, response: err, context: "leaving the group")
            }
        }
    }
}

private func copyMessage(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
    let raw = message.pointee
    let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
    let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
    var headers: [KafkaHeader] = []
    var nativeHeaders: OpaquePointer?
    if rd_kafka_message_headers(message, &nativeHeaders) == RD_KAFKA_RESP_ERR_NO_ERROR, let nativeHeaders {
        var index = 0
        var name: UnsafePointer<CChar>?
        var valuePointer: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(nativeHeaders, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            headers.append(
                KafkaHeader(
                    key: name.map { String(cString: $0) } ?? "",
                    value: valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
    }
    var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
    let timestamp = rd_kafka_message_timestamp(message, &timestampType)
    return KafkaMessage(
        topic: raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
        partition: raw.partition, offset: raw.offset, key: key, value: value, headers: headers,
        timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
}

private func rebalanceCallback(
    _ handle: OpaquePointer?, _ err: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let opaque else { return }
    let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let changed = partitions.map { topicPartitions(of: $0) } ?? []
    let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        // Deliberately not assigned here: the caller decides the offsets (asynchronously) and calls `assign`.
        context.rebalance.withLock { inbox in
            inbox.assigned = (inbox.assigned ?? []) + changed
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(handle, nil)
        }
        context.rebalance.withLock { inbox in
            inbox.revoked += changed
            if let assigned = inbox.assigned {
                // Revoked before the caller got to answer the assignment.
                let gone = Set(changed)
                inbox.assigned = assigned.filter { !gone.contains($0) }
            }
        }
    default:
        rd_kafka_assign(handle, nil)
        context.rebalance.withLock { inbox in
            inbox.error = KafkaError(.rebalance, response: err, context: "rebalance failed")
        }
    }
}
