import Domain
import Foundation
import Kafka
import Ledger
import Logging
import Wire

/// The agent's home folder: its credentials and its spool. Everything here works offline except `flush`.
public struct AgentWorkspace: Sendable {
    public let home: String
    public let credentials: AgentCredentials
    /// Whether each submission is synced to disk before `submit…` returns (the default). A bulk
    /// publisher may turn it off and call `spool.sync()` once before delivering.
    public var syncEachSubmission = true
    public var spool: Spool { Spool(path: home + "/spool.log") }

    static func credentialsPath(_ home: String) -> String { home + "/credentials.json" }

    /// `$EMPMON_AGENT_HOME`, else `./.empmon-agent`.
    public static func defaultHome(_ explicit: String?) -> String {
        if let explicit { return explicit }
        if let home = ProcessInfo.processInfo.environment["EMPMON_AGENT_HOME"], !home.isEmpty { return home }
        return FileManager.default.currentDirectoryPath + "/.empmon-agent"
    }

    /// Sets up a home from a credentials file written by `empmon agent enroll`.
    public static func initialize(home: String, credentialsFile: String) throws -> AgentWorkspace {
        guard let data = FileManager.default.contents(atPath: credentialsFile) else {
            throw AgentError("cannot read the credentials file \(credentialsFile)")
        }
        let credentials: AgentCredentials
        do { credentials = try JSONDecoder().decode(AgentCredentials.self, from: data) } catch {
            throw AgentError("\(credentialsFile) is not a credentials file from `empmon agent enroll`: \(error.localizedDescription)")
        }
        guard credentials.secretBytes.count >= 32, credentials.cityKeyBytes.count >= 32 else {
            throw AgentError("\(credentialsFile) has no usable secret or city key; enrol the agent again")
        }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = credentialsPath(home)
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw AgentError("cannot write \(path)")
        }
        return try AgentWorkspace(home: home)
    }

    public init(home: String) throws {
        guard let data = FileManager.default.contents(atPath: Self.credentialsPath(home)) else {
            throw AgentError("no agent set up in \(home); run `empmon agent init --credentials FILE` first")
        }
        do { credentials = try JSONDecoder().decode(AgentCredentials.self, from: data) } catch {
            throw AgentError("\(Self.credentialsPath(home)) is damaged: \(error.localizedDescription)")
        }
        self.home = home
    }

    /// What one submission did.
    public struct SubmitReport: Sendable {
        public var encoding: LedgerEncoding
        public var rows = 0
        public var errors: [RowError] = []
        public var ignoredColumns: [String] = []
        public var spooled = 0
        /// Ledger lines (in the previous file for the month) of persons absent from this one.
        public var missingFromPrevious: [Int] = []
        public var refused: Bool { spooled == 0 && !errors.isEmpty }
    }

    /// Reads a person ledger for `unit` and `period`, and spools its signed records. With errors and
    /// without `skipInvalid`, nothing is spooled. `reportMissing` compares with the previous submission
    /// for the month, which reads the whole spool: bulk publishers (the simulator) turn it off.
    public func submitPersons(
        file: String, bytes: [UInt8], period: Period, unit: DivisionCode?, topology: Topology, latestPeriod: Period,
        skipInvalid: Bool, reportMissing: Bool = true
    ) throws -> SubmitReport {
        let unit = try scopedUnit(unit)
        let ledger: PersonLedger
        do { ledger = try PersonLedger.read(bytes, format: LedgerFormat(path: file)) } catch { throw AgentError("\(file): \(error)") }
        let builder = SubmissionBuilder(
            unit: unit, period: period, agentID: credentials.agentID,
            pseudonymizer: Pseudonymizer(cityKey: credentials.cityKeyBytes), signer: RecordSigner(secret: credentials.secretBytes),
            validator: RecordValidator(topology: topology, latestPeriod: latestPeriod))
        let built = builder.build(ledger, reportedAtMilliseconds: Delivery.now)
        var report = SubmitReport(encoding: ledger.encoding)
        report.rows = ledger.entries.count + Set(ledger.errors.map(\.line)).count
        report.errors = built.errors
        report.ignoredColumns = ledger.ignoredColumns
        if !built.errors.isEmpty && !skipInvalid { return report }
        guard !built.records.isEmpty else { return report }
        let submission = RecordID.random().text
        var entries = [submissionEntry(submission, kind: "person", period: period, file: file, count: built.records.count)]
        for (line, record) in built.records {
            var entry = SpoolEntry(kind: .record)
            entry.recordID = record.recordID.text
            entry.recordKind = "person"
            entry.period = period.description
            entry.submission = submission
            entry.line = line
            entry.personKey = record.personKey
            entry.unit = record.unit.description
            entry.payload = Data(try Wire.encode(record)).base64EncodedString()
            entries.append(entry)
        }
        try spool.append(entries, sync: syncEachSubmission)
        report.spooled = built.records.count
        guard reportMissing else { return report }
        let previous = try spool.load().previousPersons(period: period.description, before: submission)
        let present = Set(built.records.map(\.record.personKey))
        report.missingFromPrevious = previous.filter { !present.contains($0.key) }.map(\.value).sorted()
        return report
    }

    /// Reads a township's or county's counters for `period` and spools the signed report.
    public func submitActivity(
        file: String, bytes: [UInt8], period: Period, unit: DivisionCode?, topology: Topology, latestPeriod: Period
    ) throws -> SubmitReport {
        let unit = try scopedUnit(unit)
        let ledger: ActivityLedger
        do { ledger = try ActivityLedger.read(bytes, format: LedgerFormat(path: file)) } catch { throw AgentError("\(file): \(error)") }
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
        let submission = RecordID.random().text
        var entry = SpoolEntry(kind: .record)
        entry.recordID = record.recordID.text
        entry.recordKind = "activity"
        entry.period = period.description
        entry.submission = submission
        entry.unit = unit.description
        entry.payload = Data(try Wire.encode(record)).base64EncodedString()
        try spool.append([submissionEntry(submission, kind: "activity", period: period, file: file, count: 1), entry], sync: syncEachSubmission)
        report.spooled = 1
        return report
    }

    /// Delivers everything pending.
    public func flush(timeout: Duration, logger: Logger) async throws -> (pending: Int, outcome: Delivery.Outcome) {
        let pending = try spool.load().pending
        let delivery = Delivery(spool: spool, bootstrap: credentials.kafkaBootstrap, agentID: credentials.agentID, logger: logger)
        return (pending.count, try await delivery.deliver(pending, timeout: timeout))
    }

    /// Pending, delivered and failed counts by kind and month.
    public func status() throws -> [(kind: String, period: String, pending: Int, delivered: Int, failing: Int)] {
        let state = try spool.load()
        let pendingIDs = Set(state.pending.map(\.recordID))
        var rows: [String: (pending: Int, delivered: Int, failing: Int)] = [:]
        for record in state.records {
            let key = "\(record.recordKind) \(record.period)"
            var row = rows[key] ?? (0, 0, 0)
            if state.delivered.contains(record.recordID) {
                row.delivered += 1
            } else if pendingIDs.contains(record.recordID) {
                row.pending += 1
                if state.lastFailure[record.recordID] != nil { row.failing += 1 }
            }
            rows[key] = row
        }
        return rows.sorted { $0.key < $1.key }.map { key, value in
            let parts = key.split(separator: " ")
            return (String(parts[0]), String(parts[1]), value.pending, value.delivered, value.failing)
        }
    }

    /// The unit a submission is for: the agent's own by default; any other must lie in its subtree.
    private func scopedUnit(_ unit: DivisionCode?) throws -> DivisionCode {
        guard let unit else { return credentials.unit }
        guard unit.isInSubtree(of: credentials.unit) else {
            throw AgentError("this agent reports for \(credentials.unit) and below; \(unit) is outside it")
        }
        return unit
    }

    private func submissionEntry(_ id: String, kind: String, period: Period, file: String, count: Int) -> SpoolEntry {
        var entry = SpoolEntry(kind: .submission)
        entry.submission = id
        entry.recordKind = kind
        entry.period = period.description
        entry.file = (file as NSString).lastPathComponent
        entry.count = count
        entry.at = Delivery.now
        return entry
    }
}
