import Domain
import Foundation
import Kafka
import Postgres
import Storage
import Wire

/// A batch's messages as the checks left them, sorted by what each became, with where each partition moves to.
struct BatchContents: Sendable {
    var persons: [PersonStatusRecord] = []
    var activity: [UnitActivityReport] = []
    var manifests: [SubmissionManifest] = []
    var announcements: [(announcement: KeyAnnouncement, retiring: String?)] = []
    var rejections: [RecordRejection] = []
    /// Per partition, the offset after the batch's last message from it.
    var moves: [KafkaTopicPartition: Int64] = [:]

    init(_ outcomes: [Intake], of messages: [KafkaMessage]) {
        for outcome in outcomes {
            switch outcome {
            case .person(let record): persons.append(record)
            case .activity(let report): activity.append(report)
            case .manifest(let manifest): manifests.append(manifest)
            case .key(let announcement, let retiring): announcements.append((announcement, retiring))
            case .rejected(let rejection): rejections.append(rejection)
            }
        }
        for message in messages {
            moves[message.topicPartition] = max(moves[message.topicPartition] ?? 0, message.offset + 1)
        }
    }
}

/// What one batch does inside its PostgreSQL transaction: the stored offsets moved, refusals and key announcements
/// kept, the persons read and the ledger written, the four tiers' counts changed, control totals and receipts.
/// A retry runs it again from the start on a new transaction; nothing in it is kept from a failed attempt.
struct BatchTransaction: Sendable {
    let contents: BatchContents
    let plan: BatchPlan
    /// Each moved partition with the offset this member last stored for it (nil: never stored).
    let offsetMoves: [(partition: KafkaTopicPartition, expected: Int64?, next: Int64)]
    let delta: IndicatorDelta
    let group: String
    let receipts: Bool
    let keyOverlap: Duration

    /// What a committed batch changed, for the processor's books after the commit.
    struct Outcome: Sendable {
        let effect: BatchEffect
        /// Indicator rows written across the tiers, and the units they belong to.
        let indicatorRows: Int
        let touchedUnits: Set<DivisionCode>
        /// Unit-months whose stored records fall short of their control totals.
        let shortfalls: [ControlTotals.Standing]
        let learned: LearnedPersons
        let receipts: ReceiptWork
        var phases = PhaseTimer()
    }

    /// Runs the batch in one transaction on `connection` (the `generation`th the processor opened), taking what
    /// `recent` remembers of the ledger where it is still current.
    func commit(on connection: PostgresConnection, generation: Int, recent: RememberedPersons) async throws -> Outcome {
        try await BatchStore.ensureMonths(plan.personMonths, on: connection)
        var phases = PhaseTimer()
        var outcome = try await connection.withTransaction { connection in
            try await run(on: connection, generation: generation, recent: recent, phases: &phases)
        }
        phases.mark("commit")
        outcome.phases = phases
        return outcome
    }

    private func run(
        on connection: PostgresConnection, generation: Int, recent: RememberedPersons, phases: inout PhaseTimer
    ) async throws -> Outcome {
        let store = BatchStore(connection: connection)
        try await store.advanceOffsets(group: group, offsetMoves)
        try await store.insertRejections(contents.rejections)
        let keys = try await AgentRegistry.register(contents.announcements, overlap: keyOverlap, on: connection)
        phases.mark("offsets")
        var state = BatchState()
        let personKeys = plan.personKeys
        try await store.lockPersons(personKeys)
        phases.mark("locks")
        let writesAtStart = try await store.ledgerWrites()
        var learned = try await readPersons(
            personKeys, store: store, recent: recent, generation: generation, writesAtStart: writesAtStart)
        let stored = learned.remembered.merging(learned.found) { known, _ in known }
        learned.remembered = [:]
        state.persons = stored
        phases.mark("persons")
        let acceptance = plan.acceptance(stored: stored)
        learned.written = acceptance.accepted
        // The batch's costly computation needs the stored persons alone, and the ledger's rows and the second read
        // need nothing from it: it runs on another core while PostgreSQL does those.
        async let personCounts = plan.personCounts(of: delta, acceptance, stored: stored)
        try await store.writeLedger(acceptance)
        try await store.writeDisplacement(Displacement.of(batch: contents.persons, stored: stored))
        phases.mark("ledger")
        let touched = plan.touched(stored: stored)
        try await store.lockCounties(Set(touched.villages.map(\.unit)))
        phases.mark("counties")
        state.villages = try await store.readVillageReports(touched.villages)
        state.activity = try await store.readActivity(plan.activityKeys)
        phases.mark("villages(\(touched.villages.count))")
        let probed = BatchPlan.householdsToRead(touched.households, storedVillages: state.villages)
        state.households = try await store.readHouseholds(probed)
        phases.mark("households(\(probed.count) of \(touched.households.count))")
        let effect = delta.effect(
            acceptance, personCounts: await personCounts, activity: plan.activity, state: state)
        phases.mark("compute")
        let changes = BatchPlan.changes(of: effect, opened: try await store.openPeriods(effect.periods), delta: delta)
        try await store.writeCounts(effect, state: state, changes: changes, phases: &phases)
        learned.writesAtEnd = try await store.ledgerWrites()
        // Someone else wrote while this batch ran: entries from before it may be stale, its own are not.
        if learned.writesAtEnd?.others != writesAtStart.others { learned.current = false }
        // After the records: a manifest follows its records in the partition, so by now they are stored.
        let standings = try await ControlTotals.store(contents.manifests, on: connection)
        let receiptWork = try await writeReceipts(standings: standings, keys: keys, on: connection)
        return Outcome(
            effect: effect, indicatorRows: changes.values.reduce(0) { $0 + $1.count },
            touchedUnits: Set(changes.keys.map(\.unit)), shortfalls: standings.filter { $0.missing > 0 },
            learned: learned, receipts: receiptWork)
    }

    /// The batch's persons as the ledger holds them: from `recent` where it is current on this connection, the
    /// rest read. A month with no ledger row at all (the month after the one reported, mostly) holds none of the
    /// batch's persons: any row of theirs was committed before the batch took their locks.
    private func readPersons(
        _ personKeys: Set<PersonMonthKey>, store: BatchStore, recent: RememberedPersons, generation: Int,
        writesAtStart: LedgerWrites
    ) async throws -> LearnedPersons {
        let split = await recent.split(personKeys, connection: generation, writes: writesAtStart)
        var learned = LearnedPersons(current: split.current, connection: generation)
        learned.read = split.unknown
        learned.remembered = split.known
        learned.fromMemory = split.known.count + split.absent
        let filled = try await store.monthsWithPersons(Set(learned.read.lazy.map(\.period)))
        learned.found = try await store.readPersons(learned.read.filter { filled.contains($0.period) })
        return learned
    }

    /// The batch's receipts to the agents whose manifests or refusals it holds, into the outbox in this transaction.
    private func writeReceipts(
        standings: [ControlTotals.Standing], keys: [(agentID: String, keyID: String)],
        on connection: PostgresConnection
    ) async throws -> ReceiptWork {
        guard receipts else { return ReceiptWork(written: 0, duration: .zero) }
        let started = ContinuousClock.now
        let displaced = try await ReceiptOutbox.displacedRecords(of: standings, on: connection)
        let batchReceipts = ReceiptOutbox.receipts(
            manifests: contents.manifests, standings: standings, displaced: displaced,
            rejections: contents.rejections, keys: keys,
            storedAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        try await ReceiptOutbox.write(try batchReceipts.map { ($0.agentID, try Wire.encode($0)) }, on: connection)
        return ReceiptWork(written: batchReceipts.count, duration: ContinuousClock.now - started)
    }
}

/// What a batch learned about the ledger's persons, for `RecentPersons` once it has committed.
struct LearnedPersons: Sendable {
    /// Whether the entries from before the batch were current at its start and stayed so to its end.
    var current: Bool
    let connection: Int
    /// Pairs read from PostgreSQL, and the records found for them (a pair without one is absent from the ledger).
    var read: [PersonMonthKey] = []
    var found: [PersonMonthKey: PersonStatusRecord] = [:]
    /// Records taken from memory instead of read.
    var remembered: [PersonMonthKey: PersonStatusRecord] = [:]
    var written: [PersonStatusRecord] = []
    var writesAtEnd: LedgerWrites?
    /// Pairs the batch took from memory instead of reading them.
    var fromMemory = 0

    init(current: Bool, connection: Int) {
        self.current = current
        self.connection = connection
    }
}

/// Where a batch's time goes (logged at debug level).
struct PhaseTimer: Sendable {
    private var last = ContinuousClock.now
    private(set) var phases: [(String, Duration)] = []

    mutating func mark(_ name: String) {
        let now = ContinuousClock.now
        phases.append((name, now - last))
        last = now
    }

    var summary: String { phases.map { "\($0.0)=\($0.1.milliseconds)" }.joined(separator: " ") }
}
