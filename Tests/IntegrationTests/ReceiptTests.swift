import Agent
import DevStack
import Domain
import Foundation
import Kafka
import Postgres
import Storage
import TestSupport
import Testing
import Wire

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A month within the agent's window for corrections (records of older months are compacted once finished).
func recentMonth(_ monthsAgo: Int) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM"
    formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
    return Period(formatter.string(from: Date()))?.advanced(by: -monthsAgo).description ?? "2024-01"
}

/// One row of `agent status`'s table.
struct StatusRow {
    let kind: String
    let period: String
    let unit: String
    let pending: Int
    let delivered: Int
    let stored: Int
    let rejected: Int
}

/// The rows of `agent status`'s table (kind, month, unit, then 待发送 已送达 已入库 被退回 发送失败); `kind` keeps one kind.
func statusRows(_ output: String, kind: String = "person") -> [StatusRow] {
    output.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 8, fields[0] == kind else { return nil }
        let numbers = fields[3...].compactMap { Int($0) }
        guard numbers.count == 5 else { return nil }
        return StatusRow(
            kind: kind, period: String(fields[1]), unit: String(fields[2]), pending: numbers[0],
            delivered: numbers[1], stored: numbers[2], rejected: numbers[3])
    }
}

/// `agent status`'s counts of one kind and month, summed over its units: (pending, delivered, stored, rejected).
func statusCounts(_ output: String, kind: String, period: String) -> [Int] {
    statusRows(output, kind: kind).filter { $0.period == period }.reduce(into: [0, 0, 0, 0]) { sums, row in
        sums[0] += row.pending
        sums[1] += row.delivered
        sums[2] += row.stored
        sums[3] += row.rejected
    }
}

extension SharedStackTests {
    @Test(
        "Receipts: records lost with their manifests between agent and processor come back by re-sending, with no hand action; the agent then shows them 已入库"
    )
    func lostRecordsComeBackByResending() async throws {
        try await Pipeline.with { pipeline in
            let county = try await pipeline.agent(for: "140403000000")
            defer { try? FileManager.default.removeItem(at: county.directory) }
            let month = recentMonth(1)
            let ledgers = [
                ("140403001001", try county.write("a.csv", makeLedger(count: 6, seed: 41).csv)),
                ("140403001002", try county.write("b.csv", makeLedger(count: 5, seed: 42).csv)),
            ]
            for (unit, file) in ledgers {
                let submit = try county.agent(["submit", "--period", month, file, "--unit", unit, "--offline"])
                #expect(submit.status == 0, "\(submit.output)")
            }
            let start = try await partitionEnds(WireTopics.personStatus)
            let grace = ["--confirm-within", "20"]
            let firstAt = ContinuousClock.now
            let first = try county.agent(["flush"] + grace)
            #expect(first.status == 0, "\(first.output)")
            let partition = try #require(
                try await partitionEnds(WireTopics.personStatus).first { end in
                    start.first { $0.partition == end.partition }.map { $0.end < end.end } ?? false
                })
            let from = try #require(start.first { $0.partition == partition.partition }).end
            let sent = try await agentMessageOffsets(
                partition: Int32(partition.partition), from: from, agentID: county.agentID, expecting: 13)
            #expect(sent.count == 13)
            // The loss that control totals cannot see: the stored offset moved past every record and both manifests.
            let connection = try await pipeline.database.connect()
            try await connection.query(
                "UPDATE consumer_offsets SET next_offset = $1 WHERE consumer_group = $2 AND topic = $3 AND partition = $4",
                [try #require(sent.last).offset + 1, pipeline.group, WireTopics.personStatus, partition.partition])
            _ = try pipeline.processAll()
            let units = PostgresArray(ledgers.map(\.0))
            let storedBefore = try await pipeline.query(
                "SELECT count(*)::int FROM person_ledger WHERE unit_code = ANY($1::text[])", [units], as: Int.self)
            #expect(storedBefore == [0], "the records never reached the ledger")

            // Within the grace the agent waits; after it, it sends both months again, whole, on its own.
            let early = try county.agent(["flush"] + grace)
            #expect(!early.output.contains("sent again"), "\(early.output)")
            try await Task.sleep(until: firstAt + .seconds(22))
            let resend = try county.agent(["flush"] + grace)
            #expect(resend.output.contains("sent again: 2 unit-months"), "\(resend.output)")
            _ = try pipeline.processAll()
            let confirm = try county.agent(["flush"] + grace)
            #expect(confirm.output.contains("city receipts: 2 unit-months stored"), "\(confirm.output)")

            let storedAfter = try await pipeline.query(
                "SELECT count(*)::int FROM person_ledger WHERE unit_code = ANY($1::text[])", [units], as: Int.self)
            #expect(storedAfter == [11])
            let verify = try pipeline.run(["verify", "--manifests", "--period", month])
            #expect(verify.status == 0, "\(verify.output)")
            let status = try county.agent(["status"])
            let rows = statusRows(status.output)
            #expect(rows.map(\.unit) == ["140403001001", "140403001002"], "\(status.output)")
            #expect(rows.map(\.stored) == [6, 5] && rows.allSatisfy { $0.pending + $0.delivered + $0.rejected == 0 })
            #expect(status.output.contains("city receipts last read"))
            // The city published each receipt once its batch had committed, and marked it.
            let unpublished = try await pipeline.query(
                "SELECT count(*)::int FROM receipt_outbox WHERE published_at IS NULL", as: Int.self)
            #expect(unpublished == [0])
        }
    }

    @Test(
        "A person two villages reported in one month: the later report counts, and the earlier village's month still balances in its receipt and in verify --manifests, whichever report arrives first"
    )
    func aPersonReportedByTwoVillages() async throws {
        try await Pipeline.with { pipeline in
            let earlier = try await pipeline.agent(for: "140403001001")
            let later = try await pipeline.agent(for: "140403001002")
            defer {
                try? FileManager.default.removeItem(at: earlier.directory)
                try? FileManager.default.removeItem(at: later.directory)
            }
            let grace = ["--confirm-within", "600"]
            // In one month the earlier village's report reaches the city last (delivered late, as after a loss);
            // in the other, first.
            for (month, earlierArrivesLast) in [(recentMonth(1), true), (recentMonth(2), false)] {
                let own = makeLedger(count: 4, seed: earlierArrivesLast ? 51 : 53).csv
                let moved = own.split(separator: "\n")[2]  // the person on file line 3 moved to the other village
                let other = makeLedger(count: 3, seed: earlierArrivesLast ? 52 : 54).csv + moved + "\n"
                let ownFile = try earlier.write("own-\(month).csv", own)
                let otherFile = try later.write("other-\(month).csv", other)
                #expect(try earlier.agent(["submit", "--period", month, ownFile, "--offline"]).status == 0)
                try await Task.sleep(for: .milliseconds(20))
                #expect(try later.agent(["submit", "--period", month, otherFile, "--offline"]).status == 0)
                for agent in earlierArrivesLast ? [later, earlier] : [earlier, later] {
                    #expect(try agent.agent(["flush"] + grace).status == 0)
                    _ = try pipeline.processAll()
                }
                for agent in [earlier, later] { _ = try agent.agent(["flush"] + grace) }
                let ledger = try await pipeline.query(
                    "SELECT unit_code::text FROM person_ledger WHERE period = $1::date ORDER BY 1", ["\(month)-01"],
                    as: String.self)
                #expect(
                    ledger == Array(repeating: "140403001001", count: 3) + Array(repeating: "140403001002", count: 4),
                    "the later report of the moved person counts: \(ledger)")
                let displaced = try await pipeline.query(
                    "SELECT unit_code::text FROM person_ledger_displaced WHERE period = $1::date", ["\(month)-01"],
                    as: String.self)
                #expect(displaced == ["140403001001"])
                let verify = try pipeline.run(["verify", "--manifests", "--period", month])
                #expect(verify.status == 0 && verify.output.contains("every unit-month"), "\(verify.output)")
            }
            // Every record of both villages is accounted for: nothing waits to be confirmed or sent again. The
            // earlier village's record that arrived first was stored when its receipt came, and stays so.
            for (agent, stored) in [(earlier, [4, 3]), (later, [4, 4])] {
                let status = try agent.agent(["status"])
                let rows = statusRows(status.output)
                #expect(rows.map(\.stored) == stored, "\(status.output)")
                #expect(rows.allSatisfy { $0.pending + $0.delivered + $0.rejected == 0 }, "\(status.output)")
            }
        }
    }

    @Test("Receipts: records the city rejects reach the agent's status with their ledger rows and the city's reason")
    func rejectedRowsReachTheAgent() async throws {
        try await Pipeline.with { pipeline in
            let village = try await pipeline.agent(for: "140403001003")
            defer { try? FileManager.default.removeItem(at: village.directory) }
            let month = recentMonth(2)
            let file = try village.write("c.csv", makeLedger(count: 4, seed: 43).csv)
            #expect(try village.agent(["submit", "--period", month, file, "--offline"]).status == 0)
            // The city stops accepting what this agent signed from an hour ago (its key may have leaked then):
            // the clerk's submission is refused when it is delivered.
            let since = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
            let revoke = try pipeline.run(["agent", "revoke", village.agentID, "--since", since])
            #expect(revoke.status == 0, "\(revoke.output)")
            #expect(try village.agent(["flush", "--confirm-within", "600"]).status == 0)
            _ = try pipeline.processAll()
            _ = try village.agent(["flush", "--confirm-within", "600"])
            let status = try village.agent(["status"])
            #expect(statusRows(status.output).map(\.rejected) == [4], "\(status.output)")
            let spooled = try Spool(directory: village.home).rejections()
            #expect(spooled.compactMap(\.line) == [2, 3, 4, 5], "\(spooled)")
            for line in 2...5 {
                #expect(status.output.contains("\(month) 140403001003 第\(line)行: agent_id：报送终端"), "\(status.output)")
            }
            #expect(status.output.contains("[agent.revoked]"))
        }
    }

    @Test("A receipt is written in its batch's transaction: a batch killed before its commit leaves none to publish")
    func noReceiptForARolledBackBatch() async throws {
        try await Pipeline.with { pipeline in
            let village = try await pipeline.agent(for: "140403001004")
            defer { try? FileManager.default.removeItem(at: village.directory) }
            let month = recentMonth(1)
            let file = try village.write("d.csv", makeLedger(count: 3, seed: 44).csv)
            #expect(try village.agent(["submit", "--period", month, file, "--offline"]).status == 0)
            #expect(try village.agent(["flush", "--confirm-within", "600"]).status == 0)
            // Every batch stops before its commit: the processor's statement is cancelled at once.
            let connection = try await pipeline.database.connect()
            try await connection.query(
                "CREATE FUNCTION empmon_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'killed before commit' USING ERRCODE = '23514'; END $$"
            )
            try await connection.query(
                "CREATE TRIGGER fail_receipts BEFORE INSERT ON receipt_outbox FOR EACH STATEMENT EXECUTE FUNCTION empmon_test_fail()"
            )
            let failed = try pipeline.run(pipeline.processorArguments + ["--stop-when-caught-up"])
            #expect(failed.status != 0, "\(failed.output.suffix(800))")
            let nothing = try await pipeline.query(
                "SELECT (SELECT count(*) FROM receipt_outbox) + (SELECT count(*) FROM person_ledger WHERE unit_code = '140403001004')",
                as: Int.self)
            #expect(nothing == [0], "neither the records nor their receipt outlived the rolled-back batch")
            let quiet = try village.agent(["flush", "--confirm-within", "600"])
            #expect(!quiet.output.contains("city receipts:"), "\(quiet.output)")
            try await connection.query("DROP TRIGGER fail_receipts ON receipt_outbox")
            _ = try pipeline.processAll()
            let heard = try village.agent(["flush", "--confirm-within", "600"])
            #expect(heard.output.contains("city receipts: 1 unit-months stored"), "\(heard.output)")
        }
    }
}

extension SharedStackTests {
    @Test(
        "The clerk's page in headless Chromium shows 已入库 once the city stored a month, and each refused row with its line and the city's reason"
    )
    func agentPageShowsReceipts() async throws {
        let python = try testPython(with: "Playwright")
        try await Pipeline.with { pipeline in
            let village = try await pipeline.agent(for: "140403001007")
            defer { try? FileManager.default.removeItem(at: village.directory) }
            let stored = recentMonth(2)
            let refused = recentMonth(1)
            let first = try village.write("stored.csv", makeLedger(count: 7, seed: 46).csv)
            #expect(try village.agent(["submit", "--period", stored, first]).status == 0)
            _ = try pipeline.processAll()
            // The city stops accepting this agent; its next month comes back refused, row by row.
            #expect(try pipeline.run(["agent", "revoke", village.agentID]).status == 0)
            let second = try village.write("refused.csv", makeLedger(count: 3, seed: 47).csv)
            #expect(try village.agent(["submit", "--period", refused, second]).status == 0)
            _ = try pipeline.processAll()

            let page = try await AgentPageProcess.start(village)
            defer { page.stop() }
            let artifacts = try artifactsDirectory().path
            let script = browserScript("agent_page_receipts.py")
            let run = try ChildProcess.run(python, [script, page.url, artifacts])
            #expect(run.status == 0, "\(run.output.suffix(2000))")
            let lastLine = String(run.output.split(separator: "\n").last ?? "")
            let shown = try #require(try json(lastLine) as? [String: Any], "\(run.output)")
            let rows = shown["status_rows"] as? [[String]] ?? []
            // Columns: 类型 月份 单位 待发送 已送达 已入库 被退回 发送失败; newest month first.
            #expect(
                rows == [
                    ["人员台账", refused, "140403001007", "0", "0", "0", "3", "0"],
                    ["人员台账", stored, "140403001007", "0", "0", "7", "0", "0"],
                ], "\(rows)")
            let rejected = shown["rejected_rows"] as? [[String]] ?? []
            #expect(rejected.map { $0.prefix(3) } == (2...4).map { [refused, "140403001007", "\($0)"] }, "\(rejected)")
            #expect(rejected.allSatisfy { $0.last?.contains("已被注销") == true }, "\(rejected)")
            #expect((shown["receipts_line"] as? String)?.contains("市里回执") == true)
            #expect(FileManager.default.fileExists(atPath: artifacts + "/agent-page-receipts.png"))
        }
    }
}

/// A batch of the processor's largest size answers thousands of one agent's months and rejections at once.
@Test("An agent's answer to a large batch is split into receipts a broker takes, each standing and rejection once")
func largeBatchReceiptsSplit() throws {
    let county = try #require(DivisionCode("140403000000"))
    let village = try #require(DivisionCode("140403001001"))
    var generator = SeededGenerator(seed: 7)
    let periods = (0..<24).compactMap { Period(year: 2024, month: 1)?.advanced(by: $0) }
    var manifests: [SubmissionManifest] = []
    var standings: [ControlTotals.Standing] = []
    var displaced: [UnitMonth: [String]] = [:]
    for index in 0..<6_000 {
        let unit = try #require(DivisionCode(String(format: "140403%03d%03d", 1 + index / 240, 1 + index % 10)))
        let period = periods[(index / 10) % periods.count]
        manifests.append(
            SubmissionManifest(
                recordID: RecordID.random(using: &generator), unit: unit, period: period, kind: .person,
                records: 300, digest: [UInt8](repeating: 1, count: 32), reportedAtMilliseconds: 0, agentID: "county"))
        standings.append(
            .init(kind: .person, unit: unit, period: period, declared: 300, stored: 290, digestMatches: nil))
        if index % 50 == 0 {
            displaced[UnitMonth(unit: unit, period: period)] = (0..<10).map { _ in
                RecordID.random(using: &generator).text
            }
        }
    }
    let rejections = (0..<3_000).map { index in
        RecordRejection(
            recordID: RecordID.random(using: &generator).text, agentID: "county", unit: village.description,
            problems: [.invalidSignature], topic: "t", partition: 0, offset: Int64(index), key: nil, payload: [],
            rejectedAtMilliseconds: 0)
    }
    let other = SubmissionManifest(
        recordID: RecordID.random(using: &generator), unit: county, period: periods[0], kind: .person,
        records: 1, digest: [], reportedAtMilliseconds: 0, agentID: "other")
    let receipts = ReceiptOutbox.receipts(
        manifests: manifests + [other], standings: standings, displaced: displaced, rejections: rejections,
        storedAtMilliseconds: 1)
    let countys = receipts.filter { $0.agentID == "county" }
    #expect(countys.count > 1)
    for receipt in receipts {
        #expect(try Wire.encode(receipt).count <= ReceiptOutbox.receiptBudget + 1_024)
    }
    #expect(countys.flatMap(\.standings).map(\.manifest).sorted() == manifests.map(\.recordID.text).sorted())
    #expect(countys.flatMap(\.rejections).map(\.record).sorted() == rejections.compactMap(\.recordID).sorted())
    #expect(receipts.filter { $0.agentID == "other" }.count == 1)
}
