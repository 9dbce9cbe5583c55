import Domain
import Foundation
import Kafka
import Logging
import Postgres
import Prometheus
import ServiceLifecycle
import Storage
import Synchronization
import Wire

/// `empmon process`: reads the record topics as a member of a consumer group and, batch by batch, in one
/// PostgreSQL transaction each: checks and stores the records, updates the indicators of every affected
/// unit at all tiers, and moves the group's stored offsets (docs/design.md invariants 1–3). On graceful
/// shutdown (SIGTERM) it commits the batch in hand and leaves the group.
package struct StreamProcessor: Service {
    package let configuration: ProcessorConfiguration
    package let metrics: ProcessorMetrics
    private let logger: Logger

    package init(configuration: ProcessorConfiguration, metrics: ProcessorMetrics = ProcessorMetrics(), logger: Logger)
    {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    package func run() async throws {
        var run = try ProcessorRun(configuration: configuration, metrics: metrics, logger: logger)
        let receipts = try configuration.receipts ? receiptPublisher() : nil
        // The watchdog runs beside the loop, so that a loop stuck in a statement is still seen and named.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [metrics, logger] in await metrics.health.watch(metrics: metrics, logger: logger) }
            defer { group.cancelAll() }
            try await withThrowingTaskGroup(of: Void.self) { publishing in
                if let receipts { publishing.addTask { await receipts.run() } }
                defer { publishing.cancelAll() }
                try await run.loop()
            }
            // Once the publisher has stopped: no round of its own holds rows this one would skip.
            await receipts?.publishRemaining()
        }
    }

    private func receiptPublisher() throws -> ReceiptPublisher {
        var kafkaLogger = logger
        kafkaLogger.logLevel = max(logger.logLevel, .warning)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                endpoint: configuration.kafka, clientID: configuration.clientID + "-receipts"),
            logger: kafkaLogger)
        return ReceiptPublisher(
            databaseURL: configuration.databaseURL, statementTimeout: configuration.statementTimeout,
            producer: producer, interval: configuration.receiptInterval, metrics: metrics, logger: logger)
    }
}
