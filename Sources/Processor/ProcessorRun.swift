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

/// Whether the batch beside a read-ahead has finished committing.
final class CommitInProgress: Sendable {
    private let done = Atomic<Bool>(false)
    var isDone: Bool { done.load(ordering: .acquiring) }
    func finish() { done.store(true, ordering: .releasing) }
}

/// The state of one processor while it runs; lives in the processor's single task.
struct ProcessorRun {
    let configuration: ProcessorConfiguration
    let metrics: ProcessorMetrics
    let logger: Logger
    let consumer: KafkaConsumer
    let deadLetters: KafkaProducer
    let delta: IndicatorDelta
    var database: ProcessorDatabase
    var agents: AgentCache
    let recent: RememberedPersons
    /// Submissions' root signatures this member has verified.
    let seals = VerifiedSeals()
    /// Where each assigned partition stands in PostgreSQL; a partition not assigned has no entry.
    var positions: [KafkaTopicPartition: PartitionPosition] = [:]
    /// How many times the consumer was assigned and seeked: a read that overlapped one is discarded.
    var assignments = 0
    /// Where a partition's records begin after an aged-out gap the operator accepted at assignment.
    var acceptedFrom: [KafkaTopicPartition: Int64] = [:]
    /// Set by a batch that registered keys: what was checked beside it used the registry from before.
    var registeredKeys = false
    var health: ProcessorHealth { metrics.health }

    init(configuration: ProcessorConfiguration, metrics: ProcessorMetrics, logger: Logger) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        var consumerConfiguration = KafkaConsumerConfiguration(
            endpoint: configuration.kafka, groupID: configuration.group, clientID: configuration.clientID)
        consumerConfiguration.client.properties["fetch.max.bytes"] = "52428800"
        var kafkaLogger = logger
        kafkaLogger.logLevel = max(logger.logLevel, .warning)
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: kafkaLogger)
        deadLetters = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                endpoint: configuration.kafka, clientID: configuration.clientID + "-dlq"),
            logger: kafkaLogger)
        delta = IndicatorDelta(topology: configuration.topology)
        database = ProcessorDatabase(
            url: configuration.databaseURL, applicationName: configuration.clientID,
            statementTimeout: configuration.statementTimeout, logger: logger)
        agents = AgentCache()
        recent = RememberedPersons(capacity: configuration.recentPersons)
    }

    static var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    mutating func loop() async throws {
        try await consumer.subscribe(topics: [WireTopics.personStatus, WireTopics.unitActivity])
        logger.info(
            "processor started",
            metadata: ["group": "\(configuration.group)", "batch.size": "\(configuration.batchSize)"])
        var pending: [KafkaMessage] = []
        // The checks of `pending`, when they were made while the batch before was committing.
        var examined: [Intake]?
        var batchStarted = ContinuousClock.now
        var lastLagCheck = ContinuousClock.now
        var lastCaughtUpCheck = ContinuousClock.now
        var idlePolls = 0
        while true {
            let stopping = Self.stopping
            let full = pending.count >= configuration.openingBatch
            let due = !pending.isEmpty && ContinuousClock.now - batchStarted >= configuration.linger
            if !pending.isEmpty, full || due || stopping {
                let batch = pending
                let checked = examined
                pending = []
                examined = nil
                if stopping {
                    try await commit(batch, examined: checked, startedAt: batchStarted)
                } else {
                    // The next batch is read and checked (decoding, HMAC: CPU work) while this one commits
                    // (mostly PostgreSQL's work): the two cores were idle in turn before. Only reading: the
                    // next batch's offsets move in its own transaction, after this one's.
                    let intake = try await makeIntake()
                    let committing = CommitInProgress()
                    async let ahead = Self.readAhead(
                        consumer, limit: configuration.batchSize, linger: configuration.linger, intake: intake,
                        committing: committing)
                    let assignmentsBefore = assignments
                    do { try await commit(batch, examined: checked, startedAt: batchStarted) } catch {
                        committing.finish()
                        throw error
                    }
                    committing.finish()
                    let next = try await ahead
                    if assignments != assignmentsBefore {
                        // The commit found a partition moved and re-seeked the consumer while the read went on:
                        // what it read may come from either side of the seek, so seek again and read afresh.
                        pending = []
                        examined = nil
                        try await resynchronize()
                        continue
                    }
                    pending = next.messages
                    examined = registeredKeys ? nil : next.examined
                    registeredKeys = false
                    batchStarted = next.firstAt ?? .now
                    idlePolls = next.messages.isEmpty ? idlePolls + 1 : 0
                    if let rebalance = next.rebalance {
                        examined = nil
                        try await handle(rebalance, pending: &pending)
                    }
                    continue
                }
            }
            if stopping { break }
            if ContinuousClock.now - lastLagCheck >= .seconds(5) {
                _ = await measureLag()
                lastLagCheck = .now
            }
            if configuration.stopWhenCaughtUp, pending.isEmpty, idlePolls >= 3, !positions.isEmpty,
                ContinuousClock.now - lastCaughtUpCheck >= .seconds(1)
            {
                lastCaughtUpCheck = .now
                if await measureLag() == 0 { break }
            }
            let result = try await consumer.poll(
                maxMessages: max(1, configuration.openingBatch - pending.count), timeout: .milliseconds(50))
            if let rebalance = result.rebalance {
                examined = nil
                try await handle(rebalance, pending: &pending)
            }
            if pending.isEmpty, !result.messages.isEmpty { batchStarted = .now }
            if !result.messages.isEmpty { examined = nil }
            pending += result.messages
            idlePolls = result.messages.isEmpty ? idlePolls + 1 : 0
        }
        logger.info("processor leaving the group")
        try? await deadLetters.flush(timeout: .seconds(10))
        try await consumer.close()
    }

    mutating func handle(_ rebalance: KafkaRebalance, pending: inout [KafkaMessage]) async throws {
        // Another member may have joined or left, and written the persons this member knows about meanwhile.
        await recent.forget()
        switch rebalance {
        case .revoked(let partitions):
            let revoked = Set(partitions)
            pending.removeAll { revoked.contains($0.topicPartition) }
            for partition in partitions { positions[partition] = nil }
            logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
        case .assigned(let partitions):
            try await assign(partitions)
        }
    }

    /// The next batch, read while the one before commits: polls until it is full, or until its first message
    /// has waited `linger` (or, with nothing to read, `linger` has passed) and the commit beside it is done.
    /// Behind a backlog the batch so grows with the commit it waits for, up to `limit`; at a steady stream the
    /// commit ends first and `linger` alone closes it. Stops early at a rebalance, which the caller handles once
    /// the commit is done. What it reads is checked as it arrives, so that little is left to check at the end.
    static func readAhead(
        _ consumer: KafkaConsumer, limit: Int, linger: Duration, intake: RecordIntake, committing: CommitInProgress
    ) async throws
        -> (messages: [KafkaMessage], examined: [Intake], firstAt: ContinuousClock.Instant?, rebalance: KafkaRebalance?)
    {
        let started = ContinuousClock.now
        var messages: [KafkaMessage] = []
        var examined: [Intake] = []
        var firstAt: ContinuousClock.Instant?
        while messages.count < limit, !stopping {
            if ContinuousClock.now - (firstAt ?? started) >= linger, committing.isDone { break }
            let result = try await consumer.poll(
                maxMessages: min(limit - messages.count, 5_000), timeout: .milliseconds(50))
            if firstAt == nil, !result.messages.isEmpty { firstAt = .now }
            messages += result.messages
            if let rebalance = result.rebalance { return (messages, [], firstAt, rebalance) }
            examined += await examineBeside(result.messages, with: intake)
        }
        return (messages, examined, firstAt, nil)
    }

    /// Checks a batch read ahead on one core, a slice at a time, yielding between slices. Spread over both
    /// cores, as `examine` does, the check held each of the two threads for ~300 ms at a time while the commit
    /// beside it waited for one to resume on: PostgreSQL sat idle ~100 ms between some of the batch's statements.
    static func examineBeside(_ messages: [KafkaMessage], with intake: RecordIntake) async -> [Intake] {
        var outcomes: [Intake] = []
        outcomes.reserveCapacity(messages.count)
        for start in stride(from: 0, to: messages.count, by: 500) {
            outcomes += messages[start..<min(messages.count, start + 500)].map { intake.examine($0) }
            await Task.yield()
        }
        return outcomes
    }

    /// Answers an assignment with the offsets stored in PostgreSQL (the group's Kafka offsets are never used).
    mutating func assign(_ partitions: [KafkaTopicPartition]) async throws {
        let group = configuration.group
        let stored = try await withDatabaseRetries("reading offsets") { connection in
            try await ProcessorRun.storedOffsets(of: partitions, group: group, on: connection)
        }
        positions = [:]
        acceptedFrom = [:]
        try await checkRetention(of: partitions, stored: stored)
        assignments += 1
        var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
        for partition in partitions {
            positions[partition] = stored[partition].map(PartitionPosition.stored) ?? .neverStored
            offsets[partition] = stored[partition].map { .exact($0) } ?? .beginning
        }
        try await consumer.assign(offsets)
        logger.info(
            "partitions assigned",
            metadata: ["offsets": "\(offsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })"])
    }

    /// Names every assigned partition whose oldest kept record lies beyond where this group stands: records the
    /// broker deleted before the city read them (retention, a recreated topic, an offset moved by hand). They are
    /// gone from the ledger unless agents send them again, so the processor says so loudly and, unless told that
    /// starting from the oldest kept record is intended (`acceptAgedOutRecords`), refuses to go on.
    mutating func checkRetention(of partitions: [KafkaTopicPartition], stored: [KafkaTopicPartition: Int64])
        async throws
    {
        var lost: [AgedOutRecords.Gap] = []
        for partition in partitions {
            let marks: (low: Int64, high: Int64)
            do { marks = try await consumer.watermarks(of: partition, timeout: .seconds(10)) } catch {
                logger.warning(
                    "cannot read a partition's oldest offset; retention is not checked",
                    metadata: ["partition": "\(partition)", "error": "\(error)"])
                continue
            }
            let from = stored[partition] ?? 0
            metrics.agedOut(partition).set(max(0, marks.low - from))
            if marks.low > from { lost.append(.init(partition: partition, from: from, to: marks.low)) }
        }
        guard !lost.isEmpty else { return }
        let refusal = AgedOutRecords(lost)
        log(refusal)
        guard configuration.acceptAgedOutRecords else { throw refusal }
        logger.error(
            "starting from the oldest kept records as told (--accept-aged-out-records): \(refusal.records) records are not in the ledger until their agents re-send them"
        )
        for gap in lost { acceptedFrom[gap.partition] = gap.to }
    }

    /// Stops the processor when the consumer skipped records the broker deleted while they waited to be read.
    /// librdkafka, finding its position gone from the broker, starts again from the oldest kept record
    /// (`auto.offset.reset`) without a word, and the batch's offsets would move past the hole. A batch that holds
    /// fewer of a partition's offsets than lie between where the partition stands and its last one is checked
    /// against the partition's oldest kept offset: a hole the broker still covers (a transaction's markers) is no
    /// loss. Once stopped, a restart names the loss at assignment as any other (`checkRetention`).
    func refuseSkippedRecords(in messages: [KafkaMessage]) async throws {
        var read: [KafkaTopicPartition: (count: Int64, last: Int64)] = [:]
        for message in messages {
            let seen = read[message.topicPartition] ?? (0, -1)
            read[message.topicPartition] = (seen.count + 1, max(seen.last, message.offset))
        }
        var lost: [AgedOutRecords.Gap] = []
        for (partition, seen) in read {
            let from = max(positions[partition]?.next ?? 0, acceptedFrom[partition] ?? 0)
            guard seen.last + 1 - from > seen.count else { continue }
            let low: Int64
            do { low = try await consumer.watermarks(of: partition, timeout: .seconds(10)).low } catch {
                logger.warning(
                    "a batch skips offsets, and the partition's oldest offset cannot be read to tell why",
                    metadata: ["partition": "\(partition)", "kafka.offset.stored": "\(from)", "error": "\(error)"])
                continue
            }
            if low > from { lost.append(.init(partition: partition, from: from, to: low)) }
        }
        guard !lost.isEmpty else { return }
        for gap in lost { metrics.agedOut(gap.partition).set(gap.to - gap.from) }
        let refusal = AgedOutRecords(lost)
        log(refusal)
        throw refusal
    }

    private func log(_ refusal: AgedOutRecords) {
        for gap in refusal.gaps {
            logger.error(
                "the broker no longer holds records this group has not read",
                metadata: [
                    "partition": "\(gap.partition)", "kafka.offset.stored": "\(gap.from)",
                    "kafka.offset.earliest": "\(gap.to)",
                    "records": "\(gap.to - gap.from)",
                ])
        }
    }

    static func storedOffsets(of partitions: [KafkaTopicPartition], group: String, on connection: PostgresConnection)
        async throws
        -> [KafkaTopicPartition: Int64]
    {
        var result: [KafkaTopicPartition: Int64] = [:]
        let wanted = Set(partitions)
        for offset in try await ConsumerOffsets.stored(group: group, on: connection) {
            let key = KafkaTopicPartition(topic: offset.topic, partition: Int32(offset.partition))
            if wanted.contains(key) { result[key] = offset.next }
        }
        return result
    }

    /// Commits a batch, retrying what can be retried. A batch is never skipped: it commits, or the
    /// processor stops without moving its offsets and the batch is read again.
    mutating func commit(_ messages: [KafkaMessage], examined: [Intake]?, startedAt: ContinuousClock.Instant)
        async throws
    {
        let intakeStarted = ContinuousClock.now
        health.began()
        defer { health.ended() }
        var outcomes: [Intake]
        if let examined, examined.count == messages.count {
            outcomes = examined
        } else {
            outcomes = await Self.examine(messages, with: try await makeIntake())
        }
        let contents = BatchContents(try await recheckUnknownKeys(outcomes, of: messages), of: messages)
        try await publishDeadLetters(contents.rejections)
        logger.debug(
            "batch intake",
            metadata: ["ms": "\((ContinuousClock.now - intakeStarted).milliseconds)", "messages": "\(messages.count)"])
        try await refuseSkippedRecords(in: messages)
        let planStarted = ContinuousClock.now
        let transaction = BatchTransaction(
            contents: contents, plan: BatchPlan(persons: contents.persons, activity: contents.activity),
            offsetMoves: contents.moves.map { (partition: $0.key, expected: positions[$0.key]?.next, next: $0.value) },
            delta: delta, group: configuration.group, receipts: configuration.receipts,
            keyOverlap: configuration.keyOverlap)
        let planned = ContinuousClock.now - planStarted
        // Whatever happens to this batch, the next starts from the ledger unless this one commits.
        let outcome: BatchTransaction.Outcome
        do {
            outcome = try await withDatabaseRetries("committing a batch") { [recent] connection, generation in
                try await transaction.commit(on: connection, generation: generation, recent: recent)
            }
        } catch let stale as StaleAssignment {
            await recent.forget()
            logger.warning("batch dropped: \(stale)")
            try await resynchronize()
            return
        } catch {
            await recent.forget()
            throw error
        }
        let settleStarted = ContinuousClock.now
        if let writes = outcome.learned.writesAtEnd {
            await recent.settle(
                (outcome.learned.read, outcome.learned.found, outcome.learned.written),
                current: outcome.learned.current,
                connection: outcome.learned.connection, writes: writes)
        } else {
            await recent.forget()
        }
        settle(contents)
        logger.debug(
            "batch phases",
            metadata: [
                "ms":
                    "plan=\(planned.milliseconds) \(outcome.phases.summary) settle=\((ContinuousClock.now - settleStarted).milliseconds)",
                "persons.from_memory": "\(outcome.learned.fromMemory)",
            ])
        let report = account(
            outcome, of: contents, messages: messages, droppedWithinBatch: transaction.plan.droppedWithinBatch,
            startedAt: startedAt)
        configuration.onCommit?(report)
    }

    /// After a commit: the partitions' stored positions, and the keys it registered.
    private mutating func settle(_ contents: BatchContents) {
        for (partition, next) in contents.moves { positions[partition] = .stored(next) }
        guard !contents.announcements.isEmpty else { return }
        agents.invalidate()
        registeredKeys = true
        for (announcement, retiring) in contents.announcements {
            logger.notice(
                "agent key registered",
                metadata: [
                    "agent": "\(announcement.agentID)", "key": "\(announcement.publicKey.keyID)",
                    "retiring": "\(retiring ?? "")",
                ])
        }
    }

    /// A committed batch in the metrics, the health and the log; returns its report.
    private func account(
        _ outcome: BatchTransaction.Outcome, of contents: BatchContents, messages: [KafkaMessage],
        droppedWithinBatch: Int, startedAt: ContinuousClock.Instant
    ) -> BatchReport {
        metrics.personsFromMemory.increment(by: Int64(outcome.learned.fromMemory))
        metrics.receiptsWritten.increment(by: Int64(outcome.receipts.written))
        updateLagGauges(of: Array(contents.moves.keys))
        let now = Date()
        let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        let effect = outcome.effect
        let ignored = droppedWithinBatch + effect.ignoredPersons + effect.ignoredActivity
        metrics.accepted.increment(by: Int64(effect.acceptedPersons.count + effect.acceptedActivity.count))
        metrics.ignored.increment(by: Int64(ignored))
        metrics.rejected.increment(by: Int64(contents.rejections.count))
        metrics.manifests.increment(by: Int64(contents.manifests.count))
        metrics.manifestShortfall.increment(by: Int64(outcome.shortfalls.reduce(0) { $0 + $1.missing }))
        for shortfall in outcome.shortfalls {
            logger.warning(
                "a unit's month lacks records its agent delivered",
                metadata: [
                    "unit": "\(shortfall.unit)", "period": "\(shortfall.period)", "kind": "\(shortfall.kind.rawValue)",
                    "declared": "\(shortfall.declared ?? 0)", "stored": "\(shortfall.stored)",
                ])
        }
        for rejection in contents.rejections { metrics.rejections(rejection.reason.code).increment() }
        metrics.batches.increment()
        let duration = ContinuousClock.now - startedAt
        metrics.batchDuration.recordNanoseconds(duration.nanoseconds)
        let produced = messages.compactMap(\.timestampMilliseconds)
        for timestamp in produced {
            metrics.freshness.recordNanoseconds(max(0, nowMilliseconds - timestamp) * 1_000_000)
        }
        let report = BatchReport(
            messages: messages.count, acceptedPersons: effect.acceptedPersons.count,
            acceptedActivity: effect.acceptedActivity.count, ignored: ignored, rejected: contents.rejections.count,
            indicatorRows: outcome.indicatorRows, duration: duration, committedAt: now,
            producedAtMilliseconds: produced, touchedUnits: outcome.touchedUnits, receiptWork: outcome.receipts.duration
        )
        health.committed(report)
        for rejection in contents.rejections {
            logger.notice(
                "record rejected",
                metadata: [
                    "reason": "\(rejection.reason.code)", "agent": "\(rejection.agentID ?? "")",
                    "record": "\(rejection.recordID ?? "")",
                    "partition": "\(rejection.topic)[\(rejection.partition)]@\(rejection.offset)",
                ])
        }
        return report
    }

    /// Decoding and checking (HMAC above all) use every core: the database is idle meanwhile. Results keep
    /// the messages' order.
    static func examine(_ messages: [KafkaMessage], with intake: RecordIntake) async -> [Intake] {
        await messages.concurrentMap(minimumSlice: 1000) { intake.examine($0) }
    }

    /// Publishes rejections on the dead-letter topic before the batch commits: if the commit then fails,
    /// the batch is read again and they are published again (at least once; the table has them exactly once).
    func publishDeadLetters(_ rejections: [RecordRejection]) async throws {
        guard !rejections.isEmpty else { return }
        var attempt = 0
        while true {
            do {
                for rejection in rejections {
                    _ = try await deadLetters.send(
                        KafkaProducerMessage(
                            topic: WireTopics.deadLetter, key: rejection.key, value: try Wire.encode(rejection),
                            headers: [KafkaHeader(key: "empmon.reason", string: rejection.reason.code.rawValue)]))
                }
                try await deadLetters.flush(timeout: .seconds(30))
                return
            } catch {
                attempt += 1
                // Broker transport errors and time-outs pass; anything else (an oversized message, an unknown topic,
                // an encoding failure) would recur, so the processor stops with it, no offset moved.
                guard let kafka = error as? KafkaError, kafka.isRetriable || kafka.code == .timedOut else {
                    logger.critical(
                        "dead-letter publishing failed in a way no retry mends; stopping with no offset moved",
                        metadata: ["error": "\(error)"])
                    throw error
                }
                logger.warning(
                    "dead-letter publishing failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                if Self.stopping { throw error }
                try await Task.sleep(for: .seconds(min(5, attempt)))
            }
        }
    }

    /// After another member moved a partition's stored offset: re-read every stored offset and restart there.
    mutating func resynchronize() async throws {
        let partitions = Array(positions.keys)
        guard !partitions.isEmpty else { return }
        try await assign(partitions)
    }

    /// Runs database work, reconnecting and retrying only on failures known to be transient
    /// (`PostgresError.isTransient`: a lost connection, a restart, a deadlock or serialization failure, a lack of
    /// resources). Anything else, from a missing grant to a violated constraint or a stored row that cannot be
    /// decoded, would recur on every retry: the processor then stops with the reason rather than retry in
    /// silence, and no offset has moved, so a restart after the fix reads the batch again. Also gives up when the
    /// processor is asked to stop.
    mutating func withDatabaseRetries<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T)
        async throws -> T
    {
        try await withDatabaseRetries(what) { connection, _ in try await body(connection) }
    }

    /// As above; `body` also gets the connection's number (`ProcessorDatabase.generation`).
    mutating func withDatabaseRetries<T: Sendable>(
        _ what: String, _ body: (PostgresConnection, Int) async throws -> T
    ) async throws -> T {
        health.began()
        defer { health.ended() }
        var attempt = 0
        while true {
            do {
                let connection = try await database.connection()
                return try await body(connection, database.generation)
            } catch let stale as StaleAssignment {
                throw stale
            } catch {
                attempt += 1
                metrics.batchFailures.increment()
                let postgres = error as? PostgresError
                guard let postgres, postgres.isTransient else {
                    logger.critical(
                        "\(what) failed in a way no retry mends; stopping with no offset moved",
                        metadata: [
                            "error": "\(postgres?.debugDescription ?? String(describing: error))",
                            "db.sqlstate": "\(postgres?.sqlState ?? "")",
                        ])
                    throw error
                }
                if postgres.isConnectionLost { database.disconnect() }
                let immediate = [PostgresError.deadlockDetected, PostgresError.serializationFailure].contains(
                    postgres.sqlState ?? "")
                // A lost connection stops the whole city until it is back: an operator should hear of it.
                logger.log(
                    level: postgres.isConnectionLost ? .error : .warning, "\(what) failed; retrying",
                    metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                if Self.stopping { throw error }
                if !immediate { try await Task.sleep(for: .milliseconds(min(5000, 100 << min(attempt, 6)))) }
            }
        }
    }

    /// Messages refused for an agent or key the registry did not know are checked again against a registry read
    /// now: the read-ahead checked them against one read before the batch beside it registered the key, and
    /// another member may have registered it within the last two seconds.
    mutating func recheckUnknownKeys(_ outcomes: [Intake], of messages: [KafkaMessage]) async throws -> [Intake] {
        let unknown = outcomes.indices.filter { index in
            guard case .rejected(let rejection) = outcomes[index] else { return false }
            return [.unknownKey, .unknownAgent].contains(rejection.reason.code)
        }
        guard !unknown.isEmpty else { return outcomes }
        agents.invalidate()
        let intake = try await makeIntake()
        var outcomes = outcomes
        for index in unknown { outcomes[index] = intake.examine(messages[index]) }
        return outcomes
    }

    /// The checks with the registry as it stands now, and the root signatures this member has verified.
    mutating func makeIntake() async throws -> RecordIntake {
        RecordIntake(topology: configuration.topology, agents: try await currentAgents(), seals: seals)
    }

    /// The registry of agents, re-read at most every two seconds so that enrolments and revocations
    /// take effect within that time.
    mutating func currentAgents() async throws -> [String: RegisteredAgent] {
        if let agents = agents.fresh() { return agents }
        let loaded = try await withDatabaseRetries("reading the agent registry") { connection in
            try await AgentRegistry.all(on: connection)
        }
        agents.store(loaded)
        return agents.agents
    }

    /// Records after the stored offset (or after the oldest kept, when retention deleted some or none is stored).
    static func lag(stored: Int64?, marks: (low: Int64, high: Int64)) -> Int64 {
        max(0, marks.high - max(stored ?? marks.low, marks.low))
    }

    /// After a commit: the lag of the partitions it moved, from the watermarks the client already holds.
    func updateLagGauges(of partitions: [KafkaTopicPartition]) {
        for partition in partitions {
            guard let stored = positions[partition]?.next, let marks = consumer.cachedWatermarks(of: partition) else {
                continue
            }
            metrics.lag(partition).set(Self.lag(stored: stored, marks: marks))
        }
    }

    /// Records not yet committed, over the assigned partitions; updates the lag gauges.
    func measureLag() async -> Int64 {
        var total: Int64 = 0
        for (partition, position) in positions {
            let stored = position.next
            var marks = consumer.cachedWatermarks(of: partition)
            if marks == nil { marks = try? await consumer.watermarks(of: partition, timeout: .seconds(2)) }
            guard let marks else { continue }
            if let stored, stored < marks.low {
                logger.error(
                    "records were deleted by the broker's retention before this group processed them",
                    metadata: [
                        "partition": "\(partition)", "kafka.offset.stored": "\(stored)",
                        "kafka.offset.earliest": "\(marks.low)",
                    ])
            }
            let lag = Self.lag(stored: stored, marks: marks)
            metrics.lag(partition).set(lag)
            total += lag
        }
        health.measured(lag: total)
        return total
    }
}

/// One connection, opened on demand and dropped when it breaks.
struct ProcessorDatabase {
    let url: String
    let applicationName: String
    let statementTimeout: Duration
    let logger: Logger
    private var current: PostgresConnection?
    /// Counts the connections opened: what was learned on one holds for no other (the database may have changed).
    private(set) var generation = 0

    init(url: String, applicationName: String, statementTimeout: Duration, logger: Logger) {
        self.url = url
        self.applicationName = applicationName
        self.statementTimeout = statementTimeout
        self.logger = logger
    }

    mutating func connection() async throws -> PostgresConnection {
        if let current { return current }
        let separator = url.contains("?") ? "&" : "?"
        let named =
            url.hasPrefix("postgres") && !url.contains("application_name=")
            ? url + separator + "application_name=" + applicationName : url
        let connection = try await PostgresConnection.connect(url: named, logger: logger)
        try await connection.execute(script: BatchStore.stagingTables)
        // A statement that waits longer than this (a lock held elsewhere, a server that stopped answering) is
        // cancelled, and the batch retried, rather than waited for without end.
        try await connection.execute(script: "SET statement_timeout = \(statementTimeout.milliseconds)")
        current = connection
        generation += 1
        return connection
    }

    mutating func disconnect() { current = nil }
}

/// The agent registry as last read. A batch that registered keys invalidates it, so the next batch sees them.
struct AgentCache {
    private(set) var agents: [String: RegisteredAgent] = [:]
    private var loadedAt: ContinuousClock.Instant?

    func fresh() -> [String: RegisteredAgent]? {
        guard let loadedAt, ContinuousClock.now - loadedAt < .seconds(2) else { return nil }
        return agents
    }

    mutating func store(_ list: [RegisteredAgent]) {
        agents = Dictionary(list.map { ($0.agentID, $0) }, uniquingKeysWith: { first, _ in first })
        loadedAt = .now
    }

    mutating func invalidate() { loadedAt = nil }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

/// An assigned partition's offset as stored in PostgreSQL with the ledger.
enum PartitionPosition: Sendable, Equatable {
    /// The group has never committed a batch from it: reading starts at the beginning, and the first commit
    /// inserts the row.
    case neverStored
    /// The next offset to read; a commit moves it only from exactly here.
    case stored(Int64)

    var next: Int64? {
        if case .stored(let offset) = self { offset } else { nil }
    }
}
