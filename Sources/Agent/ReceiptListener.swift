import Domain
import Foundation
import Kafka
import Logging
import Wire

/// Reads the city's receipts addressed to this agent (keyed by its id) from the receipts topic, from where it
/// last stopped to the end, and applies them to the spool. The agent reads every partition and keeps its own:
/// receipts are few (one per agent and batch), and no partitioner needs to agree with the city's producer.
package struct ReceiptListener: Sendable {
    package let spool: Spool
    package let kafka: KafkaEndpoint
    package let agentID: String
    package let logger: Logger
    package var topic = WireTopics.receipts

    package init(spool: Spool, kafka: KafkaEndpoint, agentID: String, logger: Logger) {
        self.spool = spool
        self.kafka = kafka
        self.agentID = agentID
        self.logger = logger
    }

    /// Reads up to the end each partition had when reading began, for at most `timeout`. A receipts topic that
    /// cannot be read is remembered (the status says so) and thrown; the agent works on without receipts.
    package func collect(timeout: Duration) async throws -> Spool.ReceiptOutcome {
        do {
            return try await read(timeout: timeout)
        } catch {
            try? spool.noteReceiptsUnavailable("\(error)")
            throw error
        }
    }

    private func read(timeout: Duration) async throws -> Spool.ReceiptOutcome {
        let deadline = ContinuousClock.now + timeout
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(endpoint: kafka, clientID: agentID), logger: quiet)
        let description = try await admin.describeTopic(topic, timeout: timeout)
        if let error = description.error { throw AgentError("the receipts topic \(topic) cannot be read: \(error)") }
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                endpoint: kafka, groupID: "empmon-agent-receipts-\(agentID)", clientID: agentID),
            logger: quiet)
        let stored = try spool.receiptPositions()
        var ends: [Int32: Int64] = [:]
        var next: [Int32: Int64] = [:]
        var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
        for partition in description.partitions.map(\.id) {
            let marks = try await consumer.watermarks(of: KafkaTopicPartition(topic: topic, partition: partition))
            // Receipts the broker no longer holds cannot be read: what they confirmed is re-sent after the grace.
            let start = max(stored[partition] ?? marks.low, marks.low)
            next[partition] = start
            if start < marks.high {
                ends[partition] = marks.high
                offsets[KafkaTopicPartition(topic: topic, partition: partition)] = .exact(start)
            }
        }
        var outcome = Spool.ReceiptOutcome()
        let now = { Int64(Date().timeIntervalSince1970 * 1000) }
        if offsets.isEmpty {
            _ = try spool.apply([], positions: next, at: now())
            try? await consumer.close()
            return outcome
        }
        try await consumer.assign(offsets)
        let key = Array(agentID.utf8)
        while ends.contains(where: { next[$0.key, default: 0] < $0.value }), ContinuousClock.now < deadline {
            let result = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200))
            var receipts: [SubmissionReceipt] = []
            for message in result.messages {
                next[message.partition] = max(next[message.partition] ?? 0, message.offset + 1)
                guard message.key == key else { continue }
                do { receipts.append(try Wire.decodeReceipt(message.value)) } catch {
                    logger.warning(
                        "a receipt could not be read; skipped",
                        metadata: [
                            "partition": "\(message.partition)", "offset": "\(message.offset)", "error": "\(error)",
                        ])
                    continue
                }
            }
            guard !result.messages.isEmpty else { continue }
            let own = receipts.filter { $0.agentID == agentID }
            outcome.keys += own.flatMap(\.keys)
            let applied = try spool.apply(own, positions: next, at: now())
            outcome.receipts += applied.receipts
            outcome.confirmed += applied.confirmed
            outcome.incomplete += applied.incomplete
            outcome.rejected += applied.rejected
        }
        try? await consumer.close()
        return outcome
    }
}
