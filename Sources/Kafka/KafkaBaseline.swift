import CRDKafka

/// The C-level reference point for benchmarks: librdkafka's consumer loop with nothing on top.
///
/// It reads partitions directly (no group, no copying into Swift values) and only counts, so that
/// `empmon bench` can put the Swift consumer's rate beside the limit of the library underneath it.
public enum KafkaBaseline {
    /// Reads `expected` messages from the beginning of `partitions` partitions of `topic`; returns the
    /// number read (fewer if `timeout` passes first).
    public static func countMessages(
        bootstrapServers: String, topic: String, partitions: Int32, expected: Int, timeout: Duration
    ) throws(KafkaError) -> Int {
        let starts = Dictionary(
            uniqueKeysWithValues: (0..<partitions).map {
                (KafkaTopicPartition(topic: topic, partition: $0), Int64(RD_KAFKA_OFFSET_BEGINNING))
            })
        return try countMessages(
            bootstrapServers: bootstrapServers, starts: starts, expected: expected, timeout: timeout)
    }

    /// Reads `expected` messages from the given offsets on; returns the number read.
    public static func countMessages(
        bootstrapServers: String, starts: [KafkaTopicPartition: Int64], expected: Int, timeout: Duration
    ) throws(KafkaError) -> Int {
        let conf = try makeNativeConfiguration([
            "bootstrap.servers": bootstrapServers, "group.id": "empmon-baseline", "enable.auto.commit": "false",
            "auto.offset.reset": "earliest",
        ])
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.clientCreation, string(fromCBuffer: errorText))
        }
        defer { rd_kafka_destroy(handle) }
        rd_kafka_poll_set_consumer(handle)
        let list = makePartitionList(starts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.consume, response: err, context: "baseline assign")
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var count = 0
        while count < expected, clock.now < deadline {
            guard let message = rd_kafka_consumer_poll(handle, 100) else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { count += 1 }
            rd_kafka_message_destroy(message)
        }
        rd_kafka_consumer_close(handle)
        return count
    }
}
