import Kafka
import Logging
import Postgres
import Storage
import Synchronization
import TopologyFiles
import Wire

/// A run on the dev stack could not go on (the processors stalled, the topics are not where expected).
package struct HarnessError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// The group's lag per partition, from the brokers' watermarks and the offsets the processors committed
/// (in PostgreSQL, with the ledger). Refreshed continuously; agents wait on it before each chunk.
package final class LagWatch: Sendable {
    private struct State {
        var committed: [KafkaTopicPartition: Int64]
        var lags: [KafkaTopicPartition: Int64] = [:]
        /// Per partition, the most records seen deleted (low watermark) ahead of the group's committed offset.
        var lost: [KafkaTopicPartition: Int64] = [:]
        var largestLag: Int64 = 0
        var refreshedAt: ContinuousClock.Instant?
    }
    private let starts: [KafkaTopicPartition: Int64]
    private let state: Mutex<State>

    package init(starts: [KafkaTopicPartition: Int64]) {
        self.starts = starts
        state = Mutex(State(committed: starts))
    }

    package var lost: Int64 { state.withLock { $0.lost.values.reduce(0, +) } }
    /// The group's committed offsets as last read.
    package var committed: [KafkaTopicPartition: Int64] { state.withLock { $0.committed } }
    package var largestLagSeen: Int64 { state.withLock { $0.largestLag } }
    /// Records the group has committed since the start, over both record topics.
    package var consumed: Int64 {
        state.withLock { state in state.committed.reduce(0) { $0 + $1.value - (starts[$1.key] ?? $1.value) } }
    }

    package func run(bootstrap: String, database: PostgresClient, group: String) async throws {
        var quiet = Logger(label: "empmon.bench.lag")
        quiet.logLevel = .critical
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: "empmon-city-watch"),
            logger: quiet)
        while !Task.isCancelled {
            let began = ContinuousClock.now
            let stored = try await database.withConnection { try await ConsumerOffsets.stored(group: group, on: $0) }
            var committed: [KafkaTopicPartition: Int64] = [:]
            for offset in stored {
                committed[KafkaTopicPartition(topic: offset.topic, partition: Int32(offset.partition))] = offset.next
            }
            var marks: [KafkaTopicPartition: (low: Int64, high: Int64)] = [:]
            for partition in starts.keys { marks[partition] = try await consumer.watermarks(of: partition) }
            state.withLock { state in
                for (partition, mark) in marks {
                    let stored = committed[partition] ?? state.committed[partition] ?? 0
                    state.committed[partition] = stored
                    let lag = max(0, mark.high - stored)
                    state.lags[partition] = lag
                    state.largestLag = max(state.largestLag, lag)
                    if mark.low > stored { state.lost[partition] = max(state.lost[partition] ?? 0, mark.low - stored) }
                }
                state.refreshedAt = began
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        try await consumer.close()
    }

    /// Returns once a refresh that began after this call shows each of `partitions` (every partition, when none
    /// is named) under `limit`.
    package func waitForRoom(limit: Int64, on partitions: Set<KafkaTopicPartition> = []) async throws {
        let called = ContinuousClock.now
        while true {
            let ready = state.withLock { state in
                guard let refreshed = state.refreshedAt, refreshed > called else { return false }
                let watched = partitions.isEmpty ? Array(state.lags.values) : partitions.map { state.lags[$0] ?? 0 }
                return (watched.max() ?? 0) < limit
            }
            if ready { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Returns once the group has committed up to `ends` everywhere; throws if nothing moves for `stall`.
    package func waitUntilCommitted(_ ends: [KafkaTopicPartition: Int64], stall: Duration) async throws {
        var last = consumed
        var moved = ContinuousClock.now
        while true {
            let behind = state.withLock { state in ends.contains { (state.committed[$0.key] ?? 0) < $0.value } }
            if !behind { return }
            let now = consumed
            if now != last { (last, moved) = (now, .now) }
            if ContinuousClock.now - moved > stall {
                throw HarnessError("the processors committed nothing for \(stall); \(now) records committed so far")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// Where a consumer group starts: one row per partition in consumer_offsets, as the processor reads it.
package func presetGroupOffsets(_ offsets: [KafkaTopicPartition: Int64], group: String, database: PostgresClient)
    async throws
{
    try await database.withConnection { connection in
        try await ConsumerOffsets.preset(
            group: group,
            offsets.map {
                ConsumerOffsets.Start(topic: $0.key.topic, partition: Int($0.key.partition), next: $0.value)
            },
            on: connection)
    }
}

/// The two record topics' partitions on the brokers at `bootstrap`, as `Topology/topics.yaml` declares them.
package struct RecordTopics: Sendable {
    package let bootstrap: String
    package let topics: TopicDefinitions

    package init(bootstrap: String, topics: TopicDefinitions) {
        self.bootstrap = bootstrap
        self.topics = topics
    }

    /// The end (high watermark) of every partition.
    package func ends(logger: Logger) async throws -> [KafkaTopicPartition: Int64] {
        try await watermarks(logger: logger).mapValues(\.high)
    }

    /// Each partition's oldest kept offset.
    package func starts(logger: Logger) async throws -> [KafkaTopicPartition: Int64] {
        try await watermarks(logger: logger).mapValues(\.low)
    }

    private func watermarks(logger: Logger) async throws -> [KafkaTopicPartition: (low: Int64, high: Int64)] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: "empmon-watermarks"),
            logger: logger)
        var marks: [KafkaTopicPartition: (low: Int64, high: Int64)] = [:]
        for topic in topics.topics where [WireTopics.personStatus, WireTopics.unitActivity].contains(topic.name) {
            for partition in 0..<topic.partitions {
                let key = KafkaTopicPartition(topic: topic.name, partition: partition)
                marks[key] = try await consumer.watermarks(of: key)
            }
        }
        try await consumer.close()
        return marks
    }
}
