import Kafka
import Logging
import Postgres
import Prometheus
import Storage
import Wire

/// Publishes the receipt outbox (what committed batches stored and rejected, per agent) on the receipts topic,
/// keyed by agent id, beside the batch loop, on a connection and a producer of its own. Published from the batch
/// loop after each commit, the broker's acknowledgement was waited for on every batch, at a cost of about 9% of
/// the processor's throughput; agents read receipts within hours, so a few seconds' delay costs them nothing.
///
/// Each round locks the rows it sends (`FOR UPDATE SKIP LOCKED`: another member skips them meanwhile), sends them,
/// waits for the broker, then marks them, in one transaction. A failure leaves them for the next round; the
/// processor goes on, since agents re-send what they hear nothing about.
struct ReceiptPublisher: Sendable {
    let databaseURL: String
    let statementTimeout: Duration
    let producer: KafkaProducer
    let interval: Duration
    let metrics: ProcessorMetrics
    let logger: Logger

    /// One round every `interval`, until cancelled.
    func run() async {
        var connection: PostgresConnection?
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            do {
                let open: PostgresConnection
                if let connection { open = connection } else { open = try await connect() }
                connection = open
                try await publishWaiting(on: open)
            } catch {
                // A connection that failed once is not trusted again: the next round opens another.
                connection = nil
                metrics.receiptFailures.increment()
                logger.warning("publishing receipts failed; retrying later", metadata: ["error": "\(error)"])
            }
        }
    }

    /// What is left once the batch loop has stopped (the last batches' receipts), rather than leaving it to the
    /// next run or another member.
    func publishRemaining() async {
        do {
            try await publishWaiting(on: try await connect())
        } catch {
            metrics.receiptFailures.increment()
            logger.warning(
                "publishing the last receipts failed; they wait in the outbox", metadata: ["error": "\(error)"])
        }
    }

    private func connect() async throws -> PostgresConnection {
        let connection = try await PostgresConnection.connect(url: databaseURL, logger: logger)
        try await connection.execute(script: "SET statement_timeout = \(statementTimeout.milliseconds)")
        return connection
    }

    private func publishWaiting(on connection: PostgresConnection) async throws {
        let producer = self.producer
        var published = 0
        while true {
            let sent = try await connection.withTransaction { connection in
                let waiting = try await ReceiptOutbox.lockUnpublished(limit: 500, on: connection)
                guard !waiting.isEmpty else { return 0 }
                for receipt in waiting {
                    _ = try await producer.send(
                        KafkaProducerMessage(
                            topic: WireTopics.receipts, key: receipt.agentID, value: receipt.payload,
                            headers: [KafkaHeader(key: "empmon.kind", string: "receipt")]))
                }
                try await producer.flush(timeout: .seconds(10))
                try await ReceiptOutbox.markPublished(waiting.map(\.id), on: connection)
                return waiting.count
            }
            published += sent
            metrics.receiptsPublished.increment(by: Int64(sent))
            if sent < 500 { break }
        }
        if published > 0 { logger.debug("receipts published", metadata: ["receipts": "\(published)"]) }
    }
}
