import Domain
import Foundation
import Testing

@testable import Agent

/// A fresh agent home in the temporary folder, removed when the test ends.
struct SpoolFolder: ~Copyable {
    let path: String
    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("empmon-spool-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func spooled(
    _ id: String, unit: String = "140403001001", period: String = "2024-10", person: String?, submission: String,
    line: Int = 2
)
    -> SpooledRecord
{
    SpooledRecord(
        recordID: id, recordKind: person == nil ? "activity" : "person", period: period, submission: submission,
        line: line,
        personKey: person, unit: unit, payload: Array("payload of \(id)".utf8))
}

func submission(_ id: String, unit: String = "140403001001", period: String = "2024-10", kind: String = "person")
    -> SpoolSubmission
{
    SpoolSubmission(id: id, kind: kind, period: period, unit: unit, file: "\(id).csv", at: 0)
}

@Suite("The agent's SQLite spool")
struct SpoolTests {
    @Test(
        "A correction supersedes the same person's pending record; delivered records stay delivered; status counts by month"
    )
    func supersessionAndVerdicts() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try spool.append(
            submission("s1"),
            records: [spooled("r1", person: "p1", submission: "s1"), spooled("r2", person: "p2", submission: "s1")])
        try spool.record([.delivered(recordID: "r1", partition: 3, offset: 17)], at: 1)
        try spool.append(
            submission("s2"),
            records: [spooled("r3", person: "p1", submission: "s2"), spooled("r4", person: "p2", submission: "s2")])
        #expect(
            try spool.pending(limit: 10).map(\.record.recordID) == ["r3", "r4"],
            "r2 was replaced before it left; r1 had left")
        try spool.record(
            [.failed(recordID: "r3", reason: "broker down"), .delivered(recordID: "r4", partition: 1, offset: 2)], at: 2
        )
        #expect(
            try spool.status() == [
                SpoolMonthStatus(
                    kind: "person", period: "2024-10", unit: "140403001001", pending: 1, delivered: 2, failing: 1,
                    stored: 0, rejected: 0)
            ])
        // Pending records come in chunks, each after the last one's position.
        let first = try #require(try spool.pending(limit: 1).first)
        #expect(try spool.pending(after: first.position, limit: 10).isEmpty)
    }

    @Test(
        "Another village's record of the same person is no correction: both stay pending, for the city to see the double report"
    )
    func anotherVillagesPersonIsNotACorrection() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try spool.append(submission("s1"), records: [spooled("r1", person: "p1", submission: "s1")])
        try spool.append(
            submission("s2", unit: "140403001002"),
            records: [spooled("r2", unit: "140403001002", person: "p1", submission: "s2")])
        #expect(try spool.pending(limit: 10).map(\.record.recordID) == ["r1", "r2"])
        // The first village's own correction still replaces its pending record.
        try spool.append(submission("s3"), records: [spooled("r3", person: "p1", submission: "s3")])
        #expect(try spool.pending(limit: 10).map(\.record.recordID) == ["r2", "r3"])
    }

    @Test("The missing-persons note compares a unit's month with the same unit's earlier submission")
    func previousSubmissionIsPerUnit() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try spool.append(
            submission("a1", unit: "140403001001"),
            records: [
                spooled("a-r1", unit: "140403001001", person: "pa1", submission: "a1", line: 2),
                spooled("a-r2", unit: "140403001001", person: "pa2", submission: "a1", line: 3),
            ])
        try spool.append(
            submission("b1", unit: "140403001002"),
            records: [spooled("b-r1", unit: "140403001002", person: "pb1", submission: "b1")])
        #expect(
            try spool.previousPersons(unit: "140403001002", period: "2024-10", before: "b1").isEmpty,
            "village A's persons are not B's")
        try spool.append(
            submission("a2", unit: "140403001001"),
            records: [spooled("a-r3", unit: "140403001001", person: "pa1", submission: "a2")])
        #expect(
            try spool.previousPersons(unit: "140403001001", period: "2024-10", before: "a2") == ["pa1": 2, "pa2": 3])
        #expect(
            try spool.previousPersons(unit: "140403001001", period: "2024-09", before: "a2").isEmpty, "another month")
    }

    @Test(
        "Compaction removes delivered and superseded records of old months, keeps their counts and every pending record"
    )
    func compaction() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try spool.append(
            submission("old", period: "2023-01"),
            records: (0..<5).map { spooled("o\($0)", period: "2023-01", person: "p\($0)", submission: "old") })
        try spool.record((0..<4).map { .delivered(recordID: "o\($0)", partition: 0, offset: Int64($0)) }, at: 1)
        try spool.append(
            submission("new", period: "2024-10"), records: [spooled("n0", person: "p0", submission: "new")])
        try spool.record([.delivered(recordID: "n0", partition: 0, offset: 9)], at: 1)
        let before = try spool.status()
        let removed = try spool.compact(before: Period("2024-01")!)
        #expect(removed == 4)
        #expect(try spool.status() == before, "the month-by-month summary is unchanged")
        #expect(try spool.pending(limit: 10).map(\.record.recordID) == ["o4"], "pending records are never compacted")
        try spool.record([.delivered(recordID: "o4", partition: 0, offset: 4)], at: 2)
        #expect(try spool.compact(before: Period("2024-01")!) == 1)
        #expect(
            try spool.status().first
                == SpoolMonthStatus(
                    kind: "person", period: "2023-01", unit: "140403001001", pending: 0, delivered: 5, failing: 0,
                    stored: 0, rejected: 0))
    }

    @Test("Every command's statements use the spool's indexes: cost follows the submission, not the history")
    func indexedStatements() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        for statement in Spool.perCommandStatements {
            let plan = try spool.queryPlan(statement)
            #expect(
                plan.contains("USING") && !plan.contains("SCAN records") && !plan.contains("SCAN submissions"),
                "\(statement): \(plan)")
            // An index searched by the record kind alone reaches every record of that kind, the whole history.
            #expect(!plan.contains("(kind=?)"), "\(statement): \(plan)")
        }
    }

    @Test("An older JSON-lines spool is imported once, with every record's state, and kept beside as .imported")
    func importsTheJSONLinesSpool() throws {
        let folder = try SpoolFolder()
        func payload(_ id: String) -> String { Data("payload of \(id)".utf8).base64EncodedString() }
        let lines = [
            #"{"at":1,"count":2,"file":"a.csv","kind":"submission","period":"2024-09","recordKind":"person","submission":"s1"}"#,
            #"{"kind":"record","line":2,"payload":"\#(payload("r1"))","period":"2024-09","personKey":"p1","recordID":"r1","recordKind":"person","submission":"s1","unit":"140403001001"}"#,
            #"{"kind":"record","line":3,"payload":"\#(payload("r2"))","period":"2024-09","personKey":"p2","recordID":"r2","recordKind":"person","submission":"s1","unit":"140403001001"}"#,
            #"{"kind":"delivered","offset":5,"partition":2,"recordID":"r1"}"#,
            #"{"at":2,"count":1,"file":"b.csv","kind":"submission","period":"2024-09","recordKind":"person","submission":"s2"}"#,
            #"{"kind":"record","line":2,"payload":"\#(payload("r3"))","period":"2024-09","personKey":"p2","recordID":"r3","recordKind":"person","submission":"s2","unit":"140403001001"}"#,
            #"{"kind":"failed","reason":"broker down","recordID":"r3"}"#,
            #"{"kind":"record","payload":"\#(payload("r4"))","period":"2024-09","recordID":"r4","recordKind":"activity","submission":"s3","unit":"140403001000"}"#,
            #"{"kind":"record","line":4,"payl"#,  // torn by a crash
        ]
        try Data((lines.joined(separator: "\n")).utf8).write(to: URL(fileURLWithPath: folder.path + "/spool.log"))
        let spool = try Spool(directory: folder.path)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/spool.log"))
        #expect(FileManager.default.fileExists(atPath: folder.path + "/spool.log.imported"))
        let pending = try spool.pending(limit: 10).map(\.record)
        #expect(pending.map(\.recordID) == ["r3", "r4"], "r1 delivered, r2 superseded by r3")
        #expect(pending.first?.payload == Array("payload of r3".utf8))
        #expect(
            try spool.status() == [
                SpoolMonthStatus(
                    kind: "activity", period: "2024-09", unit: "140403001000", pending: 1, delivered: 0, failing: 0,
                    stored: 0, rejected: 0),
                SpoolMonthStatus(
                    kind: "person", period: "2024-09", unit: "140403001001", pending: 1, delivered: 1, failing: 1,
                    stored: 0, rejected: 0),
            ])
        #expect(try spool.previousPersons(unit: "140403001001", period: "2024-09", before: "new") == ["p2": 2])
        // The old file back in place (a crash between the import's commit and the rename): not imported twice.
        try FileManager.default.moveItem(
            atPath: folder.path + "/spool.log.imported", toPath: folder.path + "/spool.log")
        let again = try Spool(directory: folder.path)
        #expect(try again.pending(limit: 10).count == 2)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/spool.log"))
    }
}
