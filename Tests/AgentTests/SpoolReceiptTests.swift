import Domain
import Foundation
import Testing

@testable import Agent

/// A village's submission of three persons and its manifest, all delivered at `at`.
private func deliveredMonth(_ spool: Spool, at: Int64 = 1_000, prefix: String = "r") throws {
    try spool.append(
        submission("s-\(prefix)"),
        records: (1...3).map { spooled("\(prefix)\($0)", person: "p\($0)", submission: "s-\(prefix)", line: $0 + 1) }
    ) { current in
        #expect(current.count == 3)
        return SpooledRecord(
            recordID: "m-\(prefix)", recordKind: "manifest.person", period: "2024-10", submission: "s-\(prefix)",
            line: nil, personKey: nil, unit: "140403001001", payload: Array("manifest".utf8))
    }
    try spool.record(
        ((1...3).map { "\(prefix)\($0)" } + ["m-\(prefix)"]).map { .delivered(recordID: $0, partition: 0, offset: 0) },
        at: at)
}

private func receipt(manifest: String = "m-r", stored: Int, rejected: [String] = []) -> SubmissionReceipt {
    SubmissionReceipt(
        agentID: "a", storedAtMilliseconds: 5,
        standings: [
            .init(
                manifest: manifest, unit: "140403001001", period: "2024-10", kind: "person", declared: 3, stored: stored
            )
        ],
        rejections: rejected.map {
            .init(record: $0, reasonCode: "status.unknown", field: "status", chinese: "status：就业状态无法识别")
        })
}

@Suite("The spool and the city's receipts")
struct SpoolReceiptTests {
    @Test("A receipt that accounts for every declared record marks them stored or rejected, with row and reason")
    func completeReceipt() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try deliveredMonth(spool)
        let outcome = try spool.apply([receipt(stored: 2, rejected: ["r2"])], positions: [0: 7], at: 9)
        #expect(outcome.confirmed == 1 && outcome.incomplete == 0 && outcome.rejected == 1)
        let month = try #require(try spool.status().first)
        #expect(month.stored == 2 && month.rejected == 1 && month.delivered == 0 && month.pending == 0)
        #expect(
            try spool.rejections() == [
                SpoolRejection(
                    kind: "person", period: "2024-10", unit: "140403001001", line: 3, reasonCode: "status.unknown",
                    reason: "status：就业状态无法识别")
            ])
        #expect(try spool.receiptPositions() == [0: 7])
        #expect(try spool.unconfirmedCount() == 0)
        #expect(try spool.requeueUnconfirmed(deliveredBefore: .max) == 0, "nothing confirmed is sent again")
        // Applying the same receipt again changes nothing.
        _ = try spool.apply([receipt(stored: 2, rejected: ["r2"])], positions: [0: 7], at: 10)
        #expect(try spool.status().first == month)
    }

    @Test(
        "A record the ledger holds under another village's later report is accounted for: the month is confirmed, and the record is no longer waited for"
    )
    func displacedRecordIsAccountedFor() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try deliveredMonth(spool)
        let standing = SubmissionReceipt.Standing(
            manifest: "m-r", unit: "140403001001", period: "2024-10", kind: "person", declared: 3, stored: 2,
            superseded: ["R3"])
        let displaced = SubmissionReceipt(agentID: "a", storedAtMilliseconds: 5, standings: [standing], rejections: [])
        let outcome = try spool.apply([displaced], positions: [0: 7], at: 9)
        #expect(outcome.confirmed == 1 && outcome.incomplete == 0)
        let month = try #require(try spool.status().first)
        #expect(month.stored == 2 && month.delivered == 0 && month.pending == 0 && month.rejected == 0)
        #expect(try spool.requeueUnconfirmed(deliveredBefore: .max) == 0, "nothing accounted for is sent again")
        #expect(try spool.currentRecordIDs(kind: "person").sorted() == ["r1", "r2"])
    }

    @Test("A receipt from a processor that names no displaced records reads as none")
    func receiptWithoutSuperseded() throws {
        let json = #"{"manifest":"m","unit":"140403001001","period":"2024-10","kind":"person","declared":3,"stored":3}"#
        let standing = try JSONDecoder().decode(SubmissionReceipt.Standing.self, from: Data(json.utf8))
        #expect(standing.superseded == [] && standing.stored == 3)
    }

    @Test("A unit-month the city lacks records of is sent again whole, records then manifest, after the grace only")
    func incompleteReceiptIsResent() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try deliveredMonth(spool, at: 1_000)
        let outcome = try spool.apply([receipt(stored: 1)], positions: [:], at: 2_000)
        #expect(outcome.confirmed == 0 && outcome.incomplete == 1)
        #expect(try spool.status().first?.delivered == 3, "not stored: 已送达, not 已入库")
        #expect(try spool.requeueUnconfirmed(deliveredBefore: 1_000) == 0, "still within the grace period")
        #expect(try spool.pending(limit: 10).isEmpty)
        #expect(try spool.requeueUnconfirmed(deliveredBefore: 1_001) == 1)
        #expect(try spool.pending(limit: 10).map(\.record.recordID) == ["r1", "r2", "r3", "m-r"])
        // Delivered again, then confirmed whole.
        try spool.record(
            ["r1", "r2", "r3", "m-r"].map { .delivered(recordID: $0, partition: 0, offset: 1) }, at: 3_000)
        _ = try spool.apply([receipt(stored: 3)], positions: [:], at: 4_000)
        #expect(try spool.status().first?.stored == 3)
    }

    @Test("A month with no receipt at all is sent again after the grace; a later submission's manifest replaces it")
    func silentMonthIsResent() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try deliveredMonth(spool, at: 1_000)
        try deliveredMonth(spool, at: 1_500, prefix: "c")  // a correction: the same three persons again
        #expect(try spool.requeueUnconfirmed(deliveredBefore: 2_000) == 1, "only the latest manifest speaks")
        #expect(try spool.pending(limit: 10).map(\.record.recordID) == ["r1", "r2", "r3", "c1", "c2", "c3", "m-c"])
    }

    @Test("With receipts heard, compaction keeps delivered records the city has not confirmed; without, it does not")
    func compactionWaitsForReceipts() throws {
        let folder = try SpoolFolder()
        let spool = try Spool(directory: folder.path)
        try deliveredMonth(spool)
        #expect(try spool.compact(before: Period("2025-01")!) == 4, "no receipts ever heard: delivered is done")
        let other = try SpoolFolder()
        let listening = try Spool(directory: other.path)
        try deliveredMonth(listening)
        _ = try listening.apply([], positions: [:], at: 1)
        #expect(try listening.compact(before: Period("2025-01")!) == 0)
        _ = try listening.apply([receipt(stored: 3)], positions: [:], at: 2)
        #expect(try listening.compact(before: Period("2025-01")!) == 4)
        #expect(try listening.status().first?.stored == 3, "the counts outlive the records")
    }
}
