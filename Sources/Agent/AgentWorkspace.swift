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

    /// Sets up a home from a credentials file written by `empmon agent enroll`. With an enrolment code in it, makes
    /// the agent's key pair and the announcement of its public key (sent by the first flush). `registeredKey` is a
    /// key whose public half the operator registered at enrolment (`agent enroll --public-key`): it is used as is.
    package static func initialize(
        home: String, credentialsFile: String, durable: Bool = true, registeredKey: AgentSigningKey? = nil
    ) throws -> AgentWorkspace {
        guard let data = FileManager.default.contents(atPath: credentialsFile) else {
            throw AgentError("cannot read the credentials file \(credentialsFile)")
        }
        let credentials: AgentCredentials
        do { credentials = try JSONDecoder().decode(AgentCredentials.self, from: data) } catch {
            throw AgentError(
                "\(credentialsFile) is not a credentials file from `empmon agent enroll`: \(error.localizedDescription)"
            )
        }
        guard credentials.cityKeyBytes.count >= 32,
            (credentials.secretBytes?.count ?? 0) >= 32 || !(credentials.enrolmentCode ?? "").isEmpty
                || registeredKey != nil
        else {
            throw AgentError("\(credentialsFile) has no enrolment code or usable city key; enrol the agent again")
        }
        try FileManager.default.createDirectory(
            atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = credentialsPath(home)
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw AgentError("cannot write \(path)")
        }
        if let registeredKey {
            var keyring = AgentKeyring()
            keyring.current = Data(registeredKey.privateKey).base64EncodedString()
            try keyring.save(home: home)
        } else if let code = credentials.enrolmentCode, !code.isEmpty {
            // The key pair is made here, on the agent's computer; only its public half is sent.
            let key = AgentSigningKey()
            var keyring = AgentKeyring()
            try keyring.announce(
                key,
                KeyAnnouncement(
                    recordID: .random(), agentID: credentials.agentID, publicKey: key.publicKey,
                    announcedAtMilliseconds: Delivery.now, proof: .enrolmentCode(code)))
            try keyring.save(home: home)
        }
        return try AgentWorkspace(home: home, durable: durable)
    }

    /// The keys in this home.
    package func keyring() throws -> AgentKeyring { try AgentKeyring.load(home: home) }

    /// How this agent signs now: its confirmed key; else its HMAC secret (an agent moving off it); else the key it
    /// announced at enrolment (what it signs then waits for the city's confirmation).
    package func signer() throws -> AgentSigner {
        let keys = try keyring()
        if let current = try AgentKeyring.key(keys.current) { return .ed25519(current, agentID: credentials.agentID) }
        if let secret = credentials.secretBytes { return .hmac(RecordSigner(secret: secret)) }
        if let pending = try AgentKeyring.key(keys.pending) { return .ed25519(pending, agentID: credentials.agentID) }
        throw AgentError("this agent has no signing key; enrol it again (`empmon agent enroll`, then `agent init`)")
    }

    /// Takes the city's word (a receipt's) that it holds the keys `confirmed`: the pending key among them becomes
    /// the one the agent signs with. Returns its id when it did.
    package func acceptConfirmation(of confirmed: Set<String>) throws -> String? {
        var keys = try keyring()
        guard let pending = try AgentKeyring.key(keys.pending), try keys.promote(ifConfirmed: confirmed) else {
            return nil
        }
        try keys.save(home: home)
        return pending.keyID
    }

    /// Whether delivery waits for the city to confirm the agent's first key.
    package func awaitsEnrolment() throws -> Bool {
        let keys = try keyring()
        return keys.current == nil && credentials.secretBytes == nil
    }

    /// Makes a new key pair and announces its public key, signed by the current key (or the HMAC secret). The
    /// agent goes on signing with the current key until a receipt confirms the new one.
    package func rotateKey() throws -> String {
        var keys = try keyring()
        if let pending = try AgentKeyring.key(keys.pending) {
            throw AgentError(
                "key \(pending.keyID) was announced and the city has not confirmed it yet; run `empmon agent flush` first"
            )
        }
        let next = AgentSigningKey()
        let announcement: KeyAnnouncement
        if let current = try AgentKeyring.key(keys.current) {
            announcement = .rotation(to: next, from: current, agentID: credentials.agentID, at: Delivery.now)
        } else if let secret = credentials.secretBytes {
            announcement = .leavingHMAC(
                to: next, signer: RecordSigner(secret: secret), agentID: credentials.agentID, at: Delivery.now)
        } else {
            throw AgentError("this agent has no key to sign a new one with; enrol it again")
        }
        try keys.announce(next, announcement)
        try keys.save(home: home)
        return next.keyID
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
    /// for the month (bulk publishers, which never correct, turn it off). `reportedAt` stamps the records and
    /// their control total with another time than now (a simulation replaying its months).
    package func submitPersons(
        file: String, bytes: [UInt8], period: Period, unit: DivisionCode?, topology: Topology, latestPeriod: Period,
        skipInvalid: Bool, reportMissing: Bool = true, reportedAt: Int64? = nil
    ) throws -> SubmitReport {
        let unit = try scopedUnit(unit)
        let ledger: PersonLedger
        do { ledger = try PersonLedger.read(bytes, format: LedgerFormat(path: file)) } catch {
            throw AgentError("\(file): \(error)")
        }
        let builder = SubmissionBuilder(
            unit: unit, period: period, agentID: credentials.agentID,
            pseudonymizer: Pseudonymizer(cityKey: credentials.cityKeyBytes),
            signer: try signer(),
            validator: RecordValidator(topology: topology, latestPeriod: latestPeriod))
        let built = builder.build(ledger, reportedAtMilliseconds: reportedAt ?? Delivery.now)
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
            try manifest(
                .person, submission: submission, unit: unit, period: period, current: current, reportedAt: reportedAt)
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
        file: String, bytes: [UInt8], period: Period, unit: DivisionCode?, topology: Topology, latestPeriod: Period,
        reportedAt: Int64? = nil
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
            reportedAtMilliseconds: reportedAt ?? Delivery.now, agentID: credentials.agentID)
        let problems = RecordValidator(topology: topology, latestPeriod: latestPeriod).problems(with: record)
        report.errors += problems.map { RowError(line: 0, column: $0.field, chinese: $0.chinese, english: $0.english) }
        guard report.errors.isEmpty else { return report }
        try signer().sign(&record)
        let submission = newSubmission(kind: "activity", period: period, unit: unit, file: file)
        try spool.append(
            submission,
            records: [
                SpooledRecord(
                    recordID: record.recordID.text, recordKind: "activity", period: period.description,
                    submission: submission.id,
                    line: nil, personKey: nil, unit: unit.description, payload: try Wire.encode(record))
            ]
        ) { current in
            try manifest(
                .activity, submission: submission, unit: unit, period: period, current: current, reportedAt: reportedAt)
        }
        report.spooled = 1
        return report
    }

    /// How long the city has to confirm a delivered unit-month before it is sent again (hours in production:
    /// a processor may be down for maintenance, and a re-send of a village costs little but should be rare).
    package static let defaultConfirmWithin: Duration = .seconds(6 * 3600)

    /// Delivers everything pending, reads the city's receipts, sends again whatever it has not confirmed within
    /// `confirmWithin`, then compacts finished months older than `keepMonths` before `now`. With `confirmWithin`
    /// nil, or when receipts cannot be read, the agent works as before receipts: delivered is done. A new key
    /// waiting for the city's confirmation is announced first (at enrolment, nothing else goes until it is confirmed).
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
        let listener = ReceiptListener(spool: spool, kafka: kafka, agentID: credentials.agentID, logger: logger)
        let announced = try await announcePendingKey(through: delivery, confirmedBy: listener, timeout: timeout)
        if announced.awaitingEnrolment { return (pending, announced) }
        var outcome = try await delivery.deliverPending(timeout: timeout)
        outcome.announcedKey = announced.announcedKey
        outcome.confirmedKey = announced.confirmedKey
        outcome.failed += announced.failed
        outcome.lastError = outcome.lastError ?? announced.lastError
        // Receipts after delivering, and only from a broker that answered: one that is down would add its timeout
        // to every flush while the clerk waits.
        let brokerAnswered = outcome.failed == 0 || outcome.delivered + outcome.manifests > 0
        if let confirmWithin, brokerAnswered {
            do {
                outcome.receipts = try await listener.collect(timeout: min(timeout, .seconds(15)))
                if let confirmed = try acceptConfirmation(of: Set(outcome.receipts?.keys ?? [])) {
                    outcome.confirmedKey = confirmed
                }
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

    /// Sends the announcement of a key not yet confirmed, if there is one. At enrolment nothing the agent signed
    /// may go before the city holds its key, so it waits up to 30 s for a receipt naming it; the outcome says
    /// `awaitingEnrolment` when it did not come (or the broker could not be reached).
    private func announcePendingKey(
        through delivery: Delivery, confirmedBy listener: ReceiptListener, timeout: Duration
    )
        async throws -> Delivery.Outcome
    {
        var announced = Delivery.Outcome()
        let keys = try keyring()
        guard let payload = keys.announcement.flatMap({ Data(base64Encoded: $0) }), let id = keys.announcementID,
            let key = try AgentKeyring.key(keys.pending)
        else { return announced }
        do {
            try await delivery.announce(Array(payload), recordID: id, timeout: timeout)
            announced.announcedKey = key.keyID
        } catch {
            // A broker that is down: as for records, the flush reports it and what waits stays pending.
            announced.failed += 1
            announced.lastError = "\(error)"
        }
        guard try awaitsEnrolment() else { return announced }
        if announced.announcedKey != nil {
            let deadline = ContinuousClock.now + min(timeout, .seconds(30))
            while ContinuousClock.now < deadline {
                let read = try? await listener.collect(timeout: .seconds(5))
                if let confirmed = try acceptConfirmation(of: Set(read?.keys ?? [])) {
                    announced.confirmedKey = confirmed
                    return announced
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
        announced.awaitingEnrolment = true
        return announced
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
        current: [String], reportedAt: Int64? = nil
    ) throws -> SpooledRecord {
        var manifest = SubmissionManifest(
            recordID: .random(), unit: unit, period: period, kind: kind, records: current.count,
            digest: SubmissionManifest.digest(of: current), reportedAtMilliseconds: reportedAt ?? Delivery.now,
            agentID: credentials.agentID)
        try signer().sign(&manifest)
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
