import Domain
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One line of the agent's spool: an append-only, fsync'd log that is the agent's memory of what it
/// accepted and what the broker confirmed. A record is written here before it is produced, and marked
/// delivered only on the broker's delivery report; after a crash, replaying the log tells what is pending.
public struct SpoolEntry: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case submission, record, delivered, failed }

    public var kind: Kind
    public var recordID: String?
    /// `person` or `activity`, for submissions and records.
    public var recordKind: String?
    public var period: String?
    public var submission: String?
    /// The ledger line the record came from (person records).
    public var line: Int?
    public var personKey: String?
    public var unit: String?
    /// The protobuf bytes, base64.
    public var payload: String?
    public var file: String?
    public var count: Int?
    public var partition: Int32?
    public var offset: Int64?
    public var reason: String?
    public var at: Int64?

    public init(kind: Kind) { self.kind = kind }
}

/// A record as the spool remembers it.
public struct SpooledRecord: Sendable, Equatable {
    public let recordID: String
    public let recordKind: String
    public let period: String
    public let submission: String
    public let line: Int?
    public let personKey: String?
    public let unit: String
    public let payload: [UInt8]
}

/// The spool replayed: every record, which are delivered, and the latest failure of the rest.
public struct SpoolState: Sendable {
    public var records: [SpooledRecord] = []
    public var delivered: Set<String> = []
    public var lastFailure: [String: String] = [:]
    /// Submissions in the order they were made: id, kind, period, file.
    public var submissions: [(id: String, kind: String, period: String, file: String)] = []
    /// Lines that could not be read (a write torn by a crash leaves at most the last one).
    public var unreadableLines = 0

    /// Records still to send: not delivered, and not superseded by a later submission of the same
    /// person (or unit) and month, which replaces them at the city anyway.
    public var pending: [SpooledRecord] {
        var latestSubmission: [String: String] = [:]
        for record in records { latestSubmission[identity(of: record)] = record.submission }
        return records.filter { !delivered.contains($0.recordID) && latestSubmission[identity(of: $0)] == $0.submission }
    }

    func identity(of record: SpooledRecord) -> String {
        "\(record.recordKind)|\(record.period)|\(record.personKey ?? record.unit)"
    }

    /// Person keys and ledger lines of the latest earlier person submission for `period`.
    public func previousPersons(period: String, before submission: String) -> [String: Int] {
        guard let previous = submissions.last(where: { $0.kind == "person" && $0.period == period && $0.id != submission }) else {
            return [:]
        }
        var persons: [String: Int] = [:]
        for record in records where record.submission == previous.id {
            if let key = record.personKey { persons[key] = record.line ?? 0 }
        }
        return persons
    }
}

/// The spool file. Appends are whole lines followed by fsync, so a crash loses at most a torn last line
/// of a batch that was never reported as written.
public struct Spool: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Appends whole lines; with `sync` (the default) they are on disk when this returns.
    public func append(_ entries: [SpoolEntry], sync: Bool = true) throws {
        guard !entries.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        for entry in entries {
            bytes += Array(try encoder.encode(entry))
            bytes.append(UInt8(ascii: "\n"))
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw AgentError("cannot open the spool \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                throw AgentError("cannot write the spool \(path): \(String(cString: strerror(errno)))")
            }
            written += result
        }
        if sync {
            guard fsync(fd) == 0 else { throw AgentError("cannot sync the spool \(path) to disk: \(String(cString: strerror(errno)))") }
        }
    }

    /// Forces everything appended so far to disk (after appends made with `sync: false`).
    public func sync() throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw AgentError("cannot open the spool \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw AgentError("cannot sync the spool \(path) to disk: \(String(cString: strerror(errno)))") }
    }

    public func load() throws -> SpoolState {
        var state = SpoolState()
        guard let data = FileManager.default.contents(atPath: path) else { return state }
        let decoder = JSONDecoder()
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let entry = try? decoder.decode(SpoolEntry.self, from: Data(line)) else {
                state.unreadableLines += 1
                continue
            }
            switch entry.kind {
            case .submission:
                state.submissions.append((entry.submission ?? "", entry.recordKind ?? "", entry.period ?? "", entry.file ?? ""))
            case .record:
                guard let id = entry.recordID, let payload = entry.payload.flatMap({ Data(base64Encoded: $0) }) else {
                    state.unreadableLines += 1
                    continue
                }
                state.records.append(
                    SpooledRecord(
                        recordID: id, recordKind: entry.recordKind ?? "person", period: entry.period ?? "",
                        submission: entry.submission ?? "", line: entry.line, personKey: entry.personKey,
                        unit: entry.unit ?? "", payload: Array(payload)))
            case .delivered:
                if let id = entry.recordID { state.delivered.insert(id) }
            case .failed:
                if let id = entry.recordID { state.lastFailure[id] = entry.reason ?? "" }
            }
        }
        return state
    }
}

public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
