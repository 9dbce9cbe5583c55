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

/// What one committed batch did (for logs, benchmarks and tests).
package struct BatchReport: Sendable {
    package let messages: Int
    package let acceptedPersons: Int
    package let acceptedActivity: Int
    package let ignored: Int
    package let rejected: Int
    package let indicatorRows: Int
    package let duration: Duration
    package let committedAt: Date
    /// Produce timestamps (ms since 1970) of the batch's messages.
    package let producedAtMilliseconds: [Int64]
    /// Every unit (all four tiers) whose stored indicators the batch changed: what alert rules re-evaluate.
    package let touchedUnits: Set<DivisionCode>
    /// Time the batch spent building and writing its receipts, inside its transaction.
    package let receiptWork: Duration
}

/// The receipts a batch wrote to the outbox, and the time that took.
struct ReceiptWork: Sendable {
    let written: Int
    let duration: Duration
}

package struct ProcessorConfiguration: Sendable {
    package var group: String = "empmon-processor"
    package var kafka: KafkaEndpoint
    package var databaseURL: String
    package var topology: Topology
    /// Largest batch. A batch grows toward it only under a backlog: it is read while the batch before commits,
    /// and closes once its first record has waited `linger` and that commit is done. At a steady stream the
    /// commit is short and batches stay small and fresh; behind a backlog each commit's fixed costs (the roll-up,
    /// the history, the locks, the offsets) are paid once per as many records as arrived while it ran.
    /// Memory: two batches (the one committing and the one being read), ~1 KiB per record each.
    package var batchSize = Self.defaultBatchSize
    package static let defaultBatchSize = 100_000
    package static let largestBatchSize = 500_000
    package static let openingBatchSize = 20_000
    /// Largest batch read with no commit beside it (the first, or the first after a quiet spell): small, so that
    /// reading and checking the next one overlaps a commit from the start; read-ahead batches grow from there.
    var openingBatch: Int { min(batchSize, Self.openingBatchSize) }
    package var linger: Duration = .milliseconds(200)
    /// Most (person, month) pairs kept in memory between batches (`RecentPersons`); 0 keeps none.
    package var recentPersons = Self.defaultRecentPersons
    package static let defaultRecentPersons = 250_000
    /// Stop once every assigned partition has been committed up to its end (for demos and tests).
    package var stopWhenCaughtUp = false
    /// Write a receipt for each agent in each batch's transaction and publish it once committed.
    package var receipts = true
    /// How often the receipt outbox is published (beside the batch loop; once more when the processor stops).
    package var receiptInterval: Duration = .seconds(5)
    /// Start even when the broker no longer holds records this group has not read (retention deleted them, or the
    /// topic was recreated): from the oldest record kept. Without it the processor names the partitions and stops.
    package var acceptAgedOutRecords = false
    /// Seconds a batch's statement may run before PostgreSQL cancels it (a retry follows); 0: no limit.
    package var statementTimeout: Duration = .seconds(300)
    package var clientID = "empmon-processor"
    /// How long a key rotated out is still accepted: records the agent signed and spooled before the rotation may
    /// wait offline for days.
    package var keyOverlap: Duration = .seconds(14 * 24 * 3600)
    package var onCommit: (@Sendable (BatchReport) -> Void)?

    package init(kafka: KafkaEndpoint, databaseURL: String, topology: Topology) {
        self.kafka = kafka
        self.databaseURL = databaseURL
        self.topology = topology
    }
}

/// Assigned partitions whose oldest kept record lies beyond this group's stored offset.
package struct AgedOutRecords: Error, CustomStringConvertible {
    /// Offsets `from..<to` of a partition, deleted by the broker before this group read them.
    package struct Gap: Sendable {
        package let partition: KafkaTopicPartition
        package let from: Int64
        package let to: Int64
    }
    package let gaps: [Gap]
    package var partitions: [KafkaTopicPartition] { gaps.map(\.partition) }
    package var records: Int64 { gaps.reduce(0) { $0 + $1.to - $1.from } }

    init(_ gaps: [Gap]) { self.gaps = gaps }

    package var description: String {
        "the broker no longer holds \(records) records of \(partitions.map { "\($0)" }.joined(separator: ", ")) that this group never read "
            + "(retention, a recreated topic or a moved offset): they are missing from the ledger until their agents "
            + "re-send them. Start with --accept-aged-out-records to go on from the oldest kept record."
    }
}
