import Domain
import Postgres

/// How records are written to and read from the ledger tables (PostgreSQL text format).
package enum LedgerColumns {
    package static let person = """
        period, person_key, record_id, unit_code, household_key, birth_year, sex, status, employment_form, \
        work_location, sector, registered_unemployed, groups, seeking_work, assisted, trained, income_band, \
        reported_at_ms, agent_id, signature
        """

    static let personCount = person.split(separator: ",").count

    /// `person`, each column qualified with `alias`.
    static func personQualified(_ alias: String) -> String {
        person.split(separator: ",").map { alias + "." + $0.trimmingCharacters(in: " ") }.joined(separator: ", ")
    }

    static let activity = "period, unit_code, record_id, counters, reported_at_ms, agent_id, signature"

    /// `activity`, each column qualified with the alias `a`.
    static let activityQualified = activity.split(separator: ",").map { "a." + $0.trimmingCharacters(in: " ") }.joined(
        separator: ", ")

    /// What the ledger's `signature` column keeps: the HMAC of an HMAC-signed record, the root of a sealed record's
    /// submission (its whole seal is ~400 bytes, more than the rest of the row; the city verified it on arrival).
    static func storedSignature(_ signature: [UInt8], _ seal: RecordSeal?) -> [UInt8] { seal?.root ?? signature }

    package static func row(_ record: PersonStatusRecord) -> [(any PostgresEncodable)?] {
        [
            date(record.period), hexBytea(record.personKey), record.recordID.text, record.unit.description,
            hexBytea(record.householdKey), record.birthYear, record.sex.rawValue, record.status.rawValue,
            record.employmentForm?.rawValue, record.workLocation?.rawValue, record.sector?.rawValue,
            record.registeredUnemployed, PostgresArray(record.groups.sorted().map(\.rawValue)),
            record.seekingWork, record.assisted, record.trained, record.incomeBand?.rawValue,
            record.reportedAtMilliseconds, record.agentID,
            PostgresBytes(storedSignature(record.signature, record.seal)),
        ]
    }

    /// `row(record)` in COPY's binary format, the form the processor loads the ledger in.
    package static func appendRow(_ record: PersonStatusRecord, to writer: inout PostgresBinaryCopyWriter) throws {
        try writer.beginRow(fields: personCount)
        try appendDate(record.period, to: &writer)
        try writer.appendBytes(hex: record.personKey)
        try writer.appendUUID(record.recordID.text)
        try writer.appendText(record.unit.description)
        try writer.appendBytes(hex: record.householdKey)
        try writer.appendSmallInt(record.birthYear)
        try writer.appendText(record.sex.rawValue)
        try writer.appendText(record.status.rawValue)
        try writer.appendOptionalText(record.employmentForm?.rawValue)
        try writer.appendOptionalText(record.workLocation?.rawValue)
        try writer.appendOptionalText(record.sector?.rawValue)
        try writer.appendBool(record.registeredUnemployed)
        try writer.appendTextArray(record.groups.sorted().map(\.rawValue))
        try writer.appendBool(record.seekingWork)
        try writer.appendBool(record.assisted)
        try writer.appendBool(record.trained)
        try writer.appendOptionalText(record.incomeBand?.rawValue)
        try writer.appendBigInt(record.reportedAtMilliseconds)
        try writer.appendText(record.agentID)
        try writer.appendBytes(storedSignature(record.signature, record.seal))
    }

    package static func appendDate(_ period: Period, to writer: inout PostgresBinaryCopyWriter) throws {
        try writer.appendDate(year: period.year, month: period.month, day: 1)
    }

    static func row(_ report: UnitActivityReport) -> [(any PostgresEncodable)?] {
        let counters = report.counters.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            "\"\($0.key.rawValue)\": \($0.value)"
        }
        return [
            date(report.period), report.unit.description, report.recordID.text,
            "{" + counters.joined(separator: ", ") + "}",
            report.reportedAtMilliseconds, report.agentID,
            PostgresBytes(storedSignature(report.signature, report.seal)),
        ]
    }

    /// Reads a row selected with the columns of `person`, in that order, starting at column `offset`.
    package static func personRecord(_ row: PostgresRow, offset: Int = 0) throws -> PersonStatusRecord {
        func text(_ index: Int) throws -> String {
            guard let value = row.text(at: index + offset) else {
                throw PostgresError(.decoding, "ledger column \(index) is NULL")
            }
            return value
        }
        func parsed<T>(_ index: Int, _ make: (String) -> T?) throws -> T {
            let value = try text(index)
            guard let result = make(value) else {
                throw PostgresError(.decoding, "ledger column \(index) has '\(value)'")
            }
            return result
        }
        func optional<T>(_ index: Int, _ make: (String) -> T?) throws -> T? {
            guard let value = row.text(at: index + offset) else { return nil }
            guard let result = make(value) else {
                throw PostgresError(.decoding, "ledger column \(index) has '\(value)'")
            }
            return result
        }
        let groupsText = try text(12)
        let groups = try groupsText.dropFirst().dropLast().split(separator: ",").map { name in
            guard let group = PersonGroup(rawValue: String(name)) else {
                throw PostgresError(.decoding, "unknown group '\(name)'")
            }
            return group
        }
        return PersonStatusRecord(
            recordID: try parsed(2) { RecordID($0) }, unit: try parsed(3) { DivisionCode($0) },
            period: try parsed(0) { period(fromDate: $0) }, personKey: try parsed(1) { hex(fromBytea: $0) },
            householdKey: try parsed(4) { hex(fromBytea: $0) }, birthYear: try parsed(5) { Int($0) },
            sex: try parsed(6) { Sex(rawValue: $0) }, status: try parsed(7) { EmploymentStatus(rawValue: $0) },
            employmentForm: try optional(8) { EmploymentForm(rawValue: $0) },
            workLocation: try optional(9) { WorkLocation(rawValue: $0) },
            sector: try optional(10) { Sector(rawValue: $0) }, registeredUnemployed: try text(11) == "t",
            groups: Set(groups),
            seekingWork: try text(13) == "t", assisted: try text(14) == "t", trained: try text(15) == "t",
            incomeBand: try optional(16) { IncomeBand(rawValue: $0) },
            reportedAtMilliseconds: try parsed(17) { Int64($0) },
            agentID: try text(18), signature: try PostgresBytes(postgresText: try text(19)).bytes)
    }

    /// Reads a row selected with the columns of `activity`, in that order.
    static func activityReport(_ row: PostgresRow) throws -> UnitActivityReport {
        guard let periodText = row.text(at: 0), let period = period(fromDate: periodText),
            let unitText = row.text(at: 1), let unit = DivisionCode(unitText),
            let idText = row.text(at: 2), let recordID = RecordID(idText), let countersText = row.text(at: 3),
            let reportedText = row.text(at: 4), let reportedAt = Int64(reportedText), let agentID = row.text(at: 5),
            let signatureText = row.text(at: 6)
        else { throw PostgresError(.decoding, "an activity ledger row is incomplete") }
        return UnitActivityReport(
            recordID: recordID, unit: unit, period: period, counters: try counters(fromJSON: countersText),
            reportedAtMilliseconds: reportedAt, agentID: agentID,
            signature: try PostgresBytes(postgresText: signatureText).bytes)
    }

    /// Parses the flat `{"name": 12, …}` object the processor writes (jsonb prints it back the same way).
    static func counters(fromJSON text: String) throws -> [UnitActivityReport.Counter: Int64] {
        var result: [UnitActivityReport.Counter: Int64] = [:]
        let body = text.trimmingCharacters(in: "{} ")
        guard !body.isEmpty else { return result }
        for pair in body.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2,
                let counter = UnitActivityReport.Counter(rawValue: parts[0].trimmingCharacters(in: "\" ")),
                let value = Int64(parts[1].trimmingCharacters(in: " "))
            else { throw PostgresError(.decoding, "activity counters '\(text)' are not a flat object of counts") }
            result[counter] = value
        }
        return result
    }

    package static func date(_ period: Period) -> String { "\(period)-01" }

    package static func period(fromDate text: String) -> Period? { Period(text.prefix(7)) }

    package static func hexBytea(_ hex: String) -> String { "\\x" + hex }

    package static func hex(fromBytea text: String) -> String? {
        text.hasPrefix("\\x") ? String(text.dropFirst(2)) : nil
    }
}

extension StringProtocol {
    func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        return String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
