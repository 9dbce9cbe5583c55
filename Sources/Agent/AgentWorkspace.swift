import Domain
import Foundation
import Kafka
import Ledger
import Logging
import Wire

/// The agent's home folder: its credentials and its spool. Everything here works offline except `flush`.
package struct AgentWorkspace: Sendable {
    package let home: String
    package let credentials: AgentCredentials
    package let spool: Spool

    static func credentialsPath(_ home: String) -> String { home + "/credentials.json" }

    /// The home used when none is configured: `./.empmon-agent`.
    package static var homeInWorkingDirectory: String { FileManager.default.currentDirectoryPath + "/.empmon-agent" }

    /// Sets up a home from a credentials file written by `empmon agent enroll`.
    package static func initialize(home: String, credentialsFile: String, durable: Bool = true) throws -> AgentWorkspace
    {
        guard let data = FileManager.default.contents(atPath: credentialsFile) else {
            throw AgentError("cannot read the credentials file \(credentialsFile)")
        }
        let credentials: AgentCredentials
        do { credentials = try JSONDecoder().decode(AgentCredentials.self, from: data) } catch {
            throw AgentError(
                "\(credentialsFile) is not a credentials file from `empmon agent enroll`: \(error.localizedDescription)"
            )
        }
        guard credentials.secretBytes.count >= 32, credentials.cityKeyBytes.count >= 32 else {
            throw AgentError("\(credentialsFile) has no usable secret or city key; enrol the agent again")
        }
        try FileManager.default.createDirectory(
            atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = credentialsPath(home)
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw AgentError("cannot write \(path)")
        }
        return try AgentWorkspace(home: home, durable: durable)
    }

    /// Opens the agent in `home`. With `durable` (the default) each submission is on disk before `submit…`
    /// returns; a bulk publisher may turn it off and call `spool.sync()` once before delivering.
    package init(home: String, durable: Bool = true) throws {
        guard let data = FileManager.default.contents(atPath: Self.credentialsPath(home)) else {
            throw AgentError("no agent set up in \(home); run `empmon agent init --credentials FILE` first")
        }
        do { credentials = try JSONDecoder().decode(AgentCredentials.self, from: data) } catch {
            throw AgentError("\(Self.credentialsPath(home)) is damaged: \(error.localizedDescription)")
        }
        self.home = home
        spool = try Spool(directory: home, durable: durable)
    }

    /// What one submission did.
    package struct SubmitReport: Sendable {
        package var encoding: LedgerEncoding
        package var rows = 0
        package var errors: [RowError] = []
        package var ignoredColumns: [String] = []
        package var spooled = 0
        /// Ledger lines (in the previous file for the month) of persons absent from this one.
        package var missingFromPrevious: [Int] = []
        package var refused: Bool { spooled == 0 && !errors.isEmpty }
    }

    /// Reads a person ledger for `unit` and `period`, and spools its signed records. With errors and
    /// without `skipInvalid`, nothing is spooled. `reportMissing` compares with the unit's previous submission
    /// for the month (bulk publishers, which never correct, turn it off).
    package func submitPersons(
        file: String, bytes: [UInt8], period: Period, unit: DivisionCode?, topology: Topology, latestPeriod: Period,
        skipInvalid: Bool, reportMissing: Bool = true
    ) throws -> SubmitReport {
        let unit = try scopedUnit(unit)
        let ledger: PersonLedger
        do { ledger = try PersonLedger.read(bytes, format: LedgerFormat(path: file)) } catch {
            throw AgentError("\(file): \(error)")
        }
        let builder = SubmissionBuilder(
            unit: unit, period: period, agentID: credentials.agentID,
            pseudonymizer: Pseudonymizer(cityKey: credentials.cityKeyBytes),
            signer: RecordSigner(secret: credentials.secretBytes),
            validator: RecordValidator(topology: topology, latestPeriod: latestPeriod))
        let built = builder.build(ledger, reportedAtMilliseconds: Delivery.now)
        var report = SubmitReport(encoding: ledger.encoding)
        report.rows = ledger.entries.count + Set(ledger.errors.map(\.line)).count
        report.errors = built.errors
        report.ignoredColumns = ledger.ignoredColumns
        if !built.errors.isEmpty && !skipInvalid { return report }
        guard !built.records.isEmpty else { return report }
        let submission = newSubmission(kind: "person", period: period, unit: unit, file: file)
        var records: [SpooledRecord] = []
        records.reserveCapacity(built.records.count)
        for (line, record) in built.records {
            records.append(
                SpooledRecord(
                    recordID: record.recordID.text, recordKind: "person", period: period.description,
                    submission: submission.id,
                    line: line, personKey: record.personKey, unit: record.unit.description,
                    payload: try Wire.encode(record)))
        }
        try spool.append(submission, records: records) { current in
            try manifest(.person, submission: submission, unit: unit, period: period, current: current)
        }
        report.spooled = built.records.count
        guard reportMissing else { return report }
        let previous = try spool.previousPersons(
            unit: unit.description, period: period.description, before: submission.id)
        let present = Set(built.records.map(\.record.personKey))
        report.missingFromPrevious = previous.filter { !present.contains($0.key) }.map(\.value).sorted()
        return report
    }

    /// Reads a township's or county's counters for `period` and spools the signed report.
    package func submitActivity(
        file: String, bytes: [UInt8], period: Period, unit: DivisionCode?, topology: Topology, latestPeriod: Period
    ) throws -> SubmitReport {
        let unit = try scopedUnit(unit)
        let ledger: ActivityLedger
        do { ledger = try ActivityLedger.read(bytes, format: LedgerFormat(path: file)) } catch {
            throw AgentError("\(file): \(error)")
        }
        var report = SubmitReport(encoding: ledger.encoding)
        report.rows = ledger.counters.count + ledger.errors.count
        report.errors = ledger.errors
        var record = UnitActivityReport(
            recordID: .random(), unit: unit, period: period, counters: ledger.counters,
            reportedAtMilliseconds: Delivery.now, agentID: credentials.agentID)
        let problems = RecordValidator(topology: topology, latestPeriod: latestPeriod).problems(with: record)
        report.errors += problems.map { RowError(line: 0, column: $0.field, chinese: $0.chinese, english: $0.english) }
        guard report.errors.isEmpty else { return report }
        RecordSigner(secret: credentials.secretBytes).sign(&record)
        let submission = newSubmission(kind: "activity", period: period, unit: unit, file: file)
        try spool.append(
            submission,
            records: [
                SpooledRecord(
                    recordID: record.recordID.text, recordKind: "activity", period: period.description,
                    submission: submission.id,
                    line: nil, personKey: nil, unit: unit.description, payload: try Wire.encode(record))
            ]
        ) { current in try manifest(.activity, submission: submission, unit: unit, period: period, current: current) }
        report.spooled = 1
        return report
    }

    /// How long the city has to confirm a delivered unit-month before it is sent again (hours in production:
    /// a processor may be down for maintenance, and a re-send of a village costs little but should be rare).
    package static let defaultConfirmWithin: Duration = .seconds(6 * 3600)

    /// Delivers everything pending, reads the city's receipts, sends again whatever it has not confirmed within
    /// `confirmWithin`, then compacts finished months older than `keepMonths` before `now`. With `confirmWithin`
    /// nil, or when receipts cannot be read, the agent works as before receipts: delivered is done.
    /// - Parameter beforeChunk: awaited before each chunk of 2,000 records, to pace delivery (the demo waits on
    ///   the consumer group's lag); without it, records go in the delivery's usual chunks.
    package func flush(
        timeout: Duration, keepMonths: Int = 13, now: Period, security: KafkaSecurity, logger: Logger,
        confirmWithin: Duration? = defaultConfirmWithin, beforeChunk: Delivery.Pacer? = nil
    ) async throws -> (pending: Int, outcome: Delivery.Outcome) {
        let kafka = KafkaEndpoint(bootstrapServers: credentials.kafkaBootstrap, security: security)
        var pending = try spool.pendingCount()
        var delivery = Delivery(spool: spool, kafka: kafka, agentID: credentials.agentID, logger: logger)
        if let beforeChunk {
            delivery.chunkSize = 2_000
            delivery.beforeChunk = beforeChunk
        }
        var outcome = try await delivery.deliverPending(timeout: timeout)
        // Receipts after delivering, and only from a broker that answered: one that is down would add its timeout
        // to every flush while the clerk waits.
        let brokerAnswered = outcome.failed == 0 || outcome.delivered + outcome.manifests > 0
        if let confirmWithin, brokerAnswered {
            let listener = ReceiptListener(spool: spool, kafka: kafka, agentID: credentials.agentID, logger: logger)
            do {
                outcome.receipts = try await listener.collect(timeout: min(timeout, .seconds(15)))
                let cutoff = Delivery.now - confirmWithin.components.seconds * 1000
                outcome.resent = try spool.requeueUnconfirmed(deliveredBefore: cutoff)
                if outcome.resent > 0 {
                    logger.warning(
                        "the city has not confirmed \(outcome.resent) unit-months in time: sending them again")
                    let requeued = try spool.pendingCount()
                    pending += requeued
                    let again = try await delivery.deliverPending(timeout: timeout)
                    outcome.delivered += again.delivered
                    outcome.manifests += again.manifests
                    outcome.failed += again.failed
                    outcome.lastError = again.lastError ?? outcome.lastError
                }
            } catch {
                outcome.receiptsError = "\(error)"
                logger.notice("receipts cannot be read; delivering without them: \(error)")
            }
        }
        try spool.compact(before: now.advanced(by: -keepMonths))
        return (pending, outcome)
    }

    /// Pending, delivered and failing counts by kind and month.
    package func status() throws -> [SpoolMonthStatus] { try spool.status() }

    /// The unit a submission is for: the agent's own by default; any other must lie in its subtree.
    private func scopedUnit(_ unit: DivisionCode?) throws -> DivisionCode {
        guard let unit else { return credentials.unit }
        guard unit.isInSubtree(of: credentials.unit) else {
            throw AgentError("this agent reports for \(credentials.unit) and below; \(unit) is outside it")
        }
        return unit
    }

    /// The signed control total for a unit's month after `submission`, as the spool record that carries it.
    private func manifest(
        _ kind: SubmissionManifest.Kind, submission: SpoolSubmission, unit: DivisionCode, period: Period,
        current: [String]
    ) throws -> SpooledRecord {
        var manifest = SubmissionManifest(
            recordID: .random(), unit: unit, period: period, kind: kind, records: current.count,
            digest: SubmissionManifest.digest(of: current), reportedAtMilliseconds: Delivery.now,
            agentID: credentials.agentID)
        RecordSigner(secret: credentials.secretBytes).sign(&manifest)
        return SpooledRecord(
            recordID: manifest.recordID.text, recordKind: Spool.manifestKind(for: kind.rawValue),
            period: period.description,
            submission: submission.id, line: nil, personKey: nil, unit: unit.description,
            payload: try Wire.encode(manifest))
    }

    private func newSubmission(kind: String, period: Period, unit: DivisionCode, file: String) -> SpoolSubmission {
        SpoolSubmission(
            id: RecordID.random().text, kind: kind, period: period.description, unit: unit.description,
            file: (file as NSString).lastPathComponent, at: Delivery.now)
    }
}
