import Domain
import Kafka
import Prometheus

/// The processor's operational numbers, in Prometheus form (served at /metrics by `empmon process`).
package struct ProcessorMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    let accepted: Counter
    let ignored: Counter
    let rejected: Counter
    let batches: Counter
    let manifests: Counter
    let manifestShortfall: Counter
    let batchFailures: Counter
    let personsFromMemory: Counter
    let batchDuration: DurationHistogram
    let freshness: DurationHistogram
    let lastCommitAge: Gauge
    let stalled: Gauge
    let receiptsWritten: Counter
    let receiptsPublished: Counter
    let receiptFailures: Counter
    /// Read by the watchdog and by `/health`.
    package let health: ProcessorHealth

    package init(
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        health: ProcessorHealth = ProcessorHealth()
    ) {
        self.registry = registry
        self.health = health
        lastCommitAge = registry.makeGauge(
            descriptor: Self.name(
                "last_commit_age", "seconds",
                "Seconds since this processor last committed a batch (since its start if none)"))
        stalled = registry.makeGauge(
            descriptor: Self.name(
                "stalled", "", "1 while a batch hangs in its transaction, or records wait and nothing commits"))
        receiptsWritten = registry.makeCounter(
            descriptor: Self.name(
                "receipts_written", "total", "Receipts written to the outbox by committed batches (published later)"))
        receiptsPublished = registry.makeCounter(
            descriptor: Self.name("receipts_published", "total", "Receipts to agents published on the receipts topic"))
        receiptFailures = registry.makeCounter(
            descriptor: Self.name(
                "receipt_publish_failures", "total",
                "Attempts to publish the receipt outbox that failed (retried later)"))
        let records = Self.name(
            "records", "total", "Records read from Kafka, by outcome (accepted, ignored as not newer, rejected)")
        accepted = registry.makeCounter(descriptor: records, labels: [("outcome", "accepted")])
        ignored = registry.makeCounter(descriptor: records, labels: [("outcome", "ignored")])
        rejected = registry.makeCounter(descriptor: records, labels: [("outcome", "rejected")])
        batches = registry.makeCounter(descriptor: Self.name("batches", "total", "Batches committed"))
        manifests = registry.makeCounter(
            descriptor: Self.name("manifests", "total", "Control totals (submission manifests) stored"))
        manifestShortfall = registry.makeCounter(
            descriptor: Self.name(
                "manifest_shortfall_records", "total",
                "Records a manifest declared that its unit-month lacked when the manifest was stored (lost or delayed between agent and ledger)"
            ))
        batchFailures = registry.makeCounter(
            descriptor: Self.name("batch_failures", "total", "Batch attempts that failed and were retried"))
        personsFromMemory = registry.makeCounter(
            descriptor: Self.name(
                "person_months_from_memory", "total",
                "Stored (person, month) pairs a batch needed and took from the processor's recent persons instead of PostgreSQL"
            ))
        let buckets: [Duration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        batchDuration = registry.makeDurationHistogram(
            descriptor: Self.name("batch_duration", "seconds", "From the batch's first poll to its commit"),
            buckets: buckets)
        freshness = registry.makeDurationHistogram(
            descriptor: Self.name(
                "freshness", "seconds",
                "From a record's produce timestamp to the commit that makes it visible in the indicators"),
            buckets: buckets)
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "empmon", subsystem: "processor", metricName: metric, unitName: unit, helpText: help)
    }

    func rejections(_ code: ValidationReason.Code) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("rejections", "total", "Rejected records, by reason"),
            labels: [("reason", code.rawValue)])
    }

    /// Records the broker deleted (retention, a recreated topic) before this group read them, at the last assignment.
    func agedOut(_ partition: KafkaTopicPartition) -> Gauge {
        registry.makeGauge(
            descriptor: Self.name(
                "aged_out", "records",
                "Records of the partition the broker no longer holds and this group never read (lost unless re-sent)"),
            labels: [("topic", partition.topic), ("partition", String(partition.partition))])
    }

    func lag(_ partition: KafkaTopicPartition) -> Gauge {
        registry.makeGauge(
            descriptor: Self.name("lag", "records", "Records in the partition not yet committed by this processor"),
            labels: [("topic", partition.topic), ("partition", String(partition.partition))])
    }
}
