import Foundation
import Kafka
import Logging
import Postgres

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers the outbox: each alert event to the alerts topic and to every webhook, until each accepts it.
/// A failed delivery is retried with exponential back-off (2 s, 4 s, … up to 10 minutes), on this run and on
/// later ones; receivers get an `Idempotency-Key` (the event id) so that a retry after a lost answer is
/// recognisable.
package struct AlertDispatcher: Sendable {
    package let database: PostgresClient
    package let kafka: KafkaEndpoint?
    package var topic = "empmon.alerts.v1"
    package var requestTimeout: TimeInterval = 10
    package let logger: Logger

    package init(database: PostgresClient, kafka: KafkaEndpoint?, logger: Logger) {
        self.database = database
        self.kafka = kafka
        self.logger = logger
    }

    package struct Outcome: Sendable, Equatable {
        package var delivered = 0
        package var failed = 0
        /// Deliveries still waiting for a retry.
        package var waiting = 0
    }

    struct Due: Sendable {
        let eventID: Int64
        let target: String
        let attempts: Int
        let unit: String
        let payload: String
    }

    /// Delivers what is due, retrying failures within `patience` before leaving them for a later run.
    package func deliver(patience: Duration = .seconds(15)) async throws -> Outcome {
        var outcome = Outcome()
        let deadline = ContinuousClock.now + patience
        var producer: KafkaProducer?
        while true {
            let due = try await dueDeliveries()
            let toKafka = due.filter { $0.target == "kafka" }
            if !toKafka.isEmpty {
                if producer == nil, let kafka {
                    var quiet = logger
                    quiet.logLevel = max(logger.logLevel, .warning)
                    producer = try KafkaProducer(
                        configuration: KafkaProducerConfiguration(endpoint: kafka, clientID: "empmon-alerts"),
                        logger: quiet)
                }
                let errors = await publish(toKafka, producer: producer)
                for (delivery, error) in zip(toKafka, errors) {
                    try await record(delivery, error: error, outcome: &outcome)
                }
            }
            // Webhooks, a few at a time: a slow receiver should not hold up the others for long.
            let toHooks = due.filter { $0.target != "kafka" }
            for start in stride(from: 0, to: toHooks.count, by: 8) {
                let slice = Array(toHooks[start..<min(start + 8, toHooks.count)])
                let errors = await withTaskGroup(of: (Int, String?).self) { group in
                    for (index, delivery) in slice.enumerated() { group.addTask { (index, await post(delivery)) } }
                    var errors = [String?](repeating: nil, count: slice.count)
                    for await (index, error) in group { errors[index] = error }
                    return errors
                }
                for (delivery, error) in zip(slice, errors) {
                    try await record(delivery, error: error, outcome: &outcome)
                }
            }
            let waiting = try await pendingCount()
            outcome.waiting = waiting.total
            guard waiting.total > 0, let next = waiting.nextDue else { break }
            let wait = max(0, next.timeIntervalSinceNow)
            guard ContinuousClock.now + .seconds(wait) < deadline else { break }
            try await Task.sleep(for: .seconds(max(0.05, wait)))
        }
        return outcome
    }

    func dueDeliveries() async throws -> [Due] {
        try await database.withConnection { connection in
            try await connection.query(
                """
                SELECT d.event_id, d.target, d.attempts, e.payload->>'unit', e.payload::text
                FROM alert_deliveries AS d JOIN alert_events AS e ON e.id = d.event_id
                WHERE d.delivered_at IS NULL AND d.next_attempt_at <= now()
                ORDER BY d.event_id, d.target LIMIT 500
                """
            ).map { row in
                let (event, target, attempts, unit, payload) = try row.decode((Int64, String, Int, String, String).self)
                return Due(eventID: event, target: target, attempts: attempts, unit: unit, payload: payload)
            }
        }
    }

    func pendingCount() async throws -> (total: Int, nextDue: Date?) {
        try await database.withConnection { connection in
            guard
                let row = try await connection.query(
                    "SELECT count(*), extract(epoch FROM min(next_attempt_at))::float8 FROM alert_deliveries WHERE delivered_at IS NULL"
                ).first
            else { return (0, nil) }
            let (count, epoch) = try row.decode((Int, Double?).self)
            return (count, epoch.map { Date(timeIntervalSince1970: $0) })
        }
    }

    func record(_ delivery: Due, error: String?, outcome: inout Outcome) async throws {
        if error == nil {
            outcome.delivered += 1
        } else {
            outcome.failed += 1
            logger.warning(
                "alert delivery failed",
                metadata: [
                    "event": "\(delivery.eventID)", "target": "\(delivery.target)",
                    "attempt": "\(delivery.attempts + 1)", "error": "\(error ?? "")",
                ])
        }
        try await database.withConnection { connection in
            if let error {
                let backoff = min(600, 2 << min(delivery.attempts, 10))
                try await connection.query(
                    """
                    UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $3, next_attempt_at = now() + make_interval(secs => $4)
                    WHERE event_id = $1 AND target = $2
                    """, [delivery.eventID, delivery.target, String(error.prefix(500)), backoff])
            } else {
                try await connection.query(
                    "UPDATE alert_deliveries SET attempts = attempts + 1, delivered_at = now(), last_error = NULL WHERE event_id = $1 AND target = $2",
                    [delivery.eventID, delivery.target])
            }
        }
    }

    /// Sends every event, flushes once, and reads each one's verdict from the delivery reports.
    func publish(_ deliveries: [Due], producer: KafkaProducer?) async -> [String?] {
        guard let producer else { return deliveries.map { _ in "no Kafka bootstrap servers configured" } }
        var verdicts = [String?](repeating: "the broker did not answer in time", count: deliveries.count)
        var waiting: [KafkaMessageID: Int] = [:]
        for (index, delivery) in deliveries.enumerated() {
            do {
                let id = try await producer.send(
                    KafkaProducerMessage(
                        topic: topic, key: Array(delivery.unit.utf8), value: Array(delivery.payload.utf8),
                        headers: [KafkaHeader(key: "event-id", value: Array(String(delivery.eventID).utf8))]))
                waiting[id] = index
            } catch {
                verdicts[index] = "\(error)"
            }
        }
        guard !waiting.isEmpty else { return verdicts }
        do { try await producer.flush(timeout: .seconds(30)) } catch { return verdicts }
        for await report in producer.deliveryReports {
            guard let index = waiting.removeValue(forKey: report.id) else { continue }
            if case .failure(let error) = report.result { verdicts[index] = "\(error)" } else { verdicts[index] = nil }
            if waiting.isEmpty { break }
        }
        return verdicts
    }

    func post(_ delivery: Due) async -> String? {
        guard let url = URL(string: delivery.target) else { return "'\(delivery.target)' is not a URL" }
        var request = URLRequest(url: url, timeoutInterval: requestTimeout)
        request.httpMethod = "POST"
        request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.setValue(String(delivery.eventID), forHTTPHeaderField: "Idempotency-Key")
        request.setValue("empmon-alerts", forHTTPHeaderField: "User-Agent")
        request.httpBody = Data(delivery.payload.utf8)
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else { return "no HTTP response" }
            return (200..<300).contains(http.statusCode) ? nil : "HTTP \(http.statusCode)"
        } catch {
            return error.localizedDescription
        }
    }
}
