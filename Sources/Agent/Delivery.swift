import Domain
import Foundation
import Kafka
import Logging
import Wire

/// Sends spooled records to Kafka and records each broker verdict in the spool as it arrives.
public struct Delivery: Sendable {
    public let spool: Spool
    public let bootstrap: String
    public let agentID: String
    public let logger: Logger

    public init(spool: Spool, bootstrap: String, agentID: String, logger: Logger) {
        self.spool = spool
        self.bootstrap = bootstrap
        self.agentID = agentID
        self.logger = logger
    }

    public struct Outcome: Sendable {
        public var delivered = 0
        public var failed = 0
        public var lastError: String?
    }

    /// Produces every record and waits for all delivery reports (librdkafka retries until `timeout`).
    /// Each verdict is appended to the spool in small batches, so a crash mid-way repeats little.
    public func deliver(_ records: [SpooledRecord], timeout: Duration) async throws -> Outcome {
        var outcome = Outcome()
        guard !records.isEmpty else { return outcome }
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap, clientID: agentID)
        configuration.deliveryTimeout = timeout
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        var byMessage: [KafkaMessageID: String] = [:]
        for record in records {
            let topic = record.recordKind == "activity" ? WireTopics.unitActivity : WireTopics.personStatus
            let county = DivisionCode(record.unit)?.countyKey ?? record.unit
            do {
                let id = try await producer.send(
                    KafkaProducerMessage(
                        topic: topic, key: county, value: record.payload,
                        headers: [
                            KafkaHeader(key: "empmon.kind", string: record.recordKind),
                            KafkaHeader(key: "empmon.agent", string: agentID),
                            KafkaHeader(key: "empmon.record", string: record.recordID),
                        ]))
                byMessage[id] = record.recordID
            } catch {
                outcome.failed += 1
                outcome.lastError = "\(error)"
                try spool.append([failure(record.recordID, "\(error)")])
            }
        }
        var batch: [SpoolEntry] = []
        var remaining = byMessage.count
        for await report in producer.deliveryReports {
            guard let recordID = byMessage[report.id] else { continue }
            switch report.result {
            case .success(let offset):
                var entry = SpoolEntry(kind: .delivered)
                entry.recordID = recordID
                entry.partition = report.partition
                entry.offset = offset
                entry.at = Self.now
                batch.append(entry)
                outcome.delivered += 1
            case .failure(let error):
                batch.append(failure(recordID, "\(error)"))
                outcome.failed += 1
                outcome.lastError = "\(error)"
            }
            remaining -= 1
            if batch.count >= 50 || remaining == 0 {
                try spool.append(batch)
                batch.removeAll()
            }
            if remaining == 0 { break }
        }
        return outcome
    }

    private func failure(_ recordID: String, _ reason: String) -> SpoolEntry {
        var entry = SpoolEntry(kind: .failed)
        entry.recordID = recordID
        entry.reason = reason
        entry.at = Self.now
        return entry
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
