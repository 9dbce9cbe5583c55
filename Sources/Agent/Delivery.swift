import Domain
import Foundation
import Kafka
import Logging
import Synchronization
import Wire

/// Sends spooled records to Kafka and records each broker verdict in the spool as it arrives.
package struct Delivery: Sendable {
    package let spool: Spool
    package let kafka: KafkaEndpoint
    package let agentID: String
    package let logger: Logger

    package init(spool: Spool, kafka: KafkaEndpoint, agentID: String, logger: Logger) {
        self.spool = spool
        self.kafka = kafka
        self.agentID = agentID
        self.logger = logger
    }

    package struct Outcome: Sendable {
        /// Records (person and activity) the broker confirmed; the manifests that follow them are counted apart.
        package var delivered = 0
        package var manifests = 0
        package var failed = 0
        package var lastError: String?
        /// What the city's receipts read before delivering confirmed or refused; nil when none could be read.
        package var receipts: Spool.ReceiptOutcome?
        /// Why receipts could not be read (the agent then works as before receipts).
        package var receiptsError: String?
        /// Unit-months sent again, whole, because the city had not confirmed them within the grace period.
        package var resent = 0
        /// The partitions delivered records went to.
        package var partitions: Set<KafkaTopicPartition> = []
        /// A new key announced to the city in this flush, and whether the city has confirmed it.
        package var announcedKey: String?
        package var confirmedKey: String?
        /// Nothing was delivered because the city has not yet confirmed the key of the agent's enrolment.
        package var awaitingEnrolment = false
        package init() {}
    }

    /// Records produced before their delivery reports are awaited; bounds the agent's memory at any spool size.
    package var chunkSize = 20_000

    /// Awaited before each chunk is produced, with the partitions this delivery's records have gone to so far
    /// (none before the first chunk): a bulk publisher paces itself here, on those partitions' consumer lag, so
    /// that a broker with bounded retention never deletes what nobody has read, and a partition behind holds back
    /// only the agents that write to it.
    package var beforeChunk: Pacer?
    package typealias Pacer = @Sendable (_ partitions: Set<KafkaTopicPartition>) async throws -> Void

    /// Produces every pending record, chunk by chunk, and records each broker verdict in the spool
    /// (librdkafka retries until `timeout`). Verdicts are committed every 500 reports and at least every
    /// 200 ms, so a crash repeats at most those, and the city dedupes by record id. A chunk in which nothing was delivered
    /// (the broker is unreachable) ends the flush: the rest stays pending.
    package func deliverPending(timeout: Duration) async throws -> Outcome {
        var outcome = Outcome()
        var chunk = try spool.pending(limit: chunkSize)
        // No producer (and no connection attempt) when nothing is pending.
        guard !chunk.isEmpty else { return outcome }
        var configuration = KafkaProducerConfiguration(endpoint: kafka, clientID: agentID)
        configuration.deliveryTimeout = timeout
        // Clerks' links are weak.
        configuration.compressed = true
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        var reports = producer.deliveryReports.makeAsyncIterator()
        while let last = chunk.last {
            let delivered = outcome.delivered + outcome.manifests
            try await beforeChunk?(outcome.partitions)
            try await deliver(chunk.map(\.record), producer: producer, reports: &reports, outcome: &outcome)
            if outcome.delivered + outcome.manifests == delivered { break }
            chunk = try spool.pending(after: last.position, limit: chunkSize)
        }
        return outcome
    }

    private func deliver(
        _ records: [SpooledRecord], producer: KafkaProducer, reports: inout AsyncStream<KafkaDeliveryReport>.Iterator,
        outcome: inout Outcome
    ) async throws {
        var byMessage: [KafkaMessageID: (recordID: String, isManifest: Bool)] = [:]
        byMessage.reserveCapacity(records.count)
        var verdicts: [SpoolVerdict] = []
        for record in records {
            let (topic, kind) = Self.route(record.recordKind)
            let county = DivisionCode(record.unit)?.countyKey ?? record.unit
            do {
                let id = try await producer.send(
                    KafkaProducerMessage(
                        topic: topic, key: county, value: record.payload,
                        headers: [
                            KafkaHeader(key: "empmon.kind", string: kind),
                            KafkaHeader(key: "empmon.agent", string: agentID),
                            KafkaHeader(key: "empmon.record", string: record.recordID),
                        ]))
                byMessage[id] = (record.recordID, kind == WireKinds.manifest)
            } catch {
                outcome.failed += 1
                outcome.lastError = "\(error)"
                verdicts.append(.failed(recordID: record.recordID, reason: "\(error)"))
            }
        }
        try spool.record(verdicts, at: Self.now)
        // Verdicts are held for at most 200 ms, also while no further report comes: a broker that is down holds
        // its partitions' reports back until the timeout, and what the others confirmed meanwhile must not wait
        // for them (a crash would send it again).
        let held = HeldVerdicts()
        let spool = self.spool
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while (try? await Task.sleep(for: .milliseconds(200))) != nil {
                    try held.write(to: spool)
                }
            }
            var remaining = byMessage.count
            while remaining > 0, let report = await reports.next() {
                guard let (recordID, isManifest) = byMessage[report.id] else { continue }
                let verdict: SpoolVerdict
                switch report.result {
                case .success(let offset):
                    verdict = .delivered(recordID: recordID, partition: report.partition, offset: offset)
                    outcome.partitions.insert(KafkaTopicPartition(topic: report.topic, partition: report.partition))
                    if isManifest { outcome.manifests += 1 } else { outcome.delivered += 1 }
                case .failure(let error):
                    verdict = .failed(recordID: recordID, reason: "\(error)")
                    outcome.failed += 1
                    outcome.lastError = "\(error)"
                }
                remaining -= 1
                if held.append(verdict) >= 500 { try held.write(to: spool) }
            }
            group.cancelAll()
        }
        try held.write(to: spool)
    }

    /// Topic and `empmon.kind` header of a spooled record. A manifest travels on the topic of the records
    /// it counts, with the same key, so it reaches the city after them.
    static func route(_ spoolKind: String) -> (topic: String, kind: String) {
        switch spoolKind {
        case WireKinds.activity: (WireTopics.unitActivity, WireKinds.activity)
        case Spool.manifestKind(for: WireKinds.activity): (WireTopics.unitActivity, WireKinds.manifest)
        case Spool.manifestKind(for: WireKinds.person): (WireTopics.personStatus, WireKinds.manifest)
        default: (WireTopics.personStatus, WireKinds.person)
        }
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// Delivery verdicts received and not yet written to the spool, shared by the report loop and its timer.
private final class HeldVerdicts: Sendable {
    private let verdicts = Mutex<[SpoolVerdict]>([])

    /// Holds one more verdict; returns how many are held.
    func append(_ verdict: SpoolVerdict) -> Int {
        verdicts.withLock {
            $0.append(verdict)
            return $0.count
        }
    }

    func write(to spool: Spool) throws {
        let taken = verdicts.withLock { held in
            defer { held.removeAll(keepingCapacity: true) }
            return held
        }
        if !taken.isEmpty { try spool.record(taken, at: Delivery.now) }
    }
}
