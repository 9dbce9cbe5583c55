import Agent
import DevStack
import Domain
import Foundation
import Kafka
import Logging
import Postgres
import Storage
import Testing
import TopologyFiles
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A valid 18-character ID number for 17 leading digits.
func residentID(_ body: String) -> String {
    ResidentID.appendingCheckCharacter(to: body) ?? body
}

/// `count` distinct people as a UTF-8 ledger with Chinese headers, and their raw ID numbers.
func makeLedger(count: Int, seed: Int) -> (csv: String, ids: [String]) {
    var lines = ["姓名,身份证号,户编号,就业状态,就业形式,就业地点,人员类别"]
    var ids: [String] = []
    for index in 0..<count {
        let year = 1970 + (index + seed) % 35
        let month = 1 + index % 12
        let day = 1 + index % 28
        let sequence = String(format: "%03d", (index * 7 + seed) % 1000)
        let id = residentID(String(format: "140403%04d%02d%02d", year, month, day) + sequence)
        ids.append(id)
        let employed = index % 3 != 0
        lines.append(
            "某某\(index),\(id),H\(seed)-\(index / 3),\(employed ? "就业" : "失业"),\(employed ? "灵活就业" : ""),\(employed ? "省外" : ""),农村劳动力"
        )
    }
    return (lines.joined(separator: "\n") + "\n", ids)
}

struct AgentSandbox {
    let directory: URL
    let home: String
    let agentID: String
    /// How the agent signs: with the key it made at `agent init`, which the city holds.
    let signer: AgentSigner

    /// An enrolled agent whose key the city holds. The city registers the key the agent's announcement carries
    /// through the registry call the processor makes on reading it, and the agent takes the confirmation as from
    /// a receipt: tests that are not about enrolment start from an enrolled agent. `announce: false` leaves the
    /// key announced and unconfirmed, as `agent init` leaves it.
    static func make(unit: String, environment: [String: String] = [:], announce: Bool = true) async throws
        -> AgentSandbox
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-flow-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let credentials = directory.appendingPathComponent("cred.json").path
        let enroll = try empmon(["agent", "enroll", "--unit", unit, "--out", credentials], environment: environment)
        guard enroll.status == 0 else { throw DevStackError("enroll failed: \(enroll.output)") }
        let home = directory.appendingPathComponent("home").path
        let initialize = try empmon(["agent", "init", "--credentials", credentials, "--home", home])
        guard initialize.status == 0 else { throw DevStackError("init failed: \(initialize.output)") }
        let workspace = try AgentWorkspace(home: home)
        if announce {
            let keys = try workspace.keyring()
            let payload = try #require(keys.announcement.flatMap { Data(base64Encoded: $0) })
            let announcement = try Wire.decodeKeyAnnouncement(Array(payload))
            let url = try #require(
                environment["EMPMON_POSTGRES_URL"] ?? ProcessInfo.processInfo.environment["EMPMON_POSTGRES_URL"])
            let connection = try await PostgresConnection.connect(url: url)
            let confirmed = try await AgentRegistry.register([(announcement, nil)], overlap: .zero, on: connection)
            guard try workspace.acceptConfirmation(of: Set(confirmed.map(\.keyID))) != nil else {
                throw DevStackError("the city did not register the agent's key")
            }
        }
        return AgentSandbox(
            directory: directory, home: home, agentID: workspace.credentials.agentID, signer: try workspace.signer())
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func agent(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try empmon(["agent"] + arguments + ["--home", home])
    }

    /// The spool's bytes as text (database and write-ahead log), to search for what must never be in it.
    func spoolBytesAsText() -> String {
        ["/spool.sqlite", "/spool.sqlite-wal"].map {
            String(decoding: FileManager.default.contents(atPath: home + $0) ?? Data(), as: UTF8.self)
        }
        .joined()
    }

    /// Records the broker has confirmed, as the spool says (read beside a running agent: WAL readers do not block it).
    func deliveredCount() throws -> Int { try Spool(directory: home).status().reduce(0) { $0 + $1.delivered } }

    func spooledCount() throws -> Int {
        try Spool(directory: home).status().reduce(0) { $0 + $1.delivered + $1.pending }
    }
}

/// Every message on the person topic sent by `agentID`, as (record id, payload).
func messages(from agentID: String, expecting count: Int) async throws -> [(id: String, payload: [UInt8])] {
    let consumer = try checkingConsumer(group: "check")
    try await consumer.subscribe(topics: [WireTopics.personStatus])
    var found: [(String, [UInt8])] = []
    var quietPolls = 0
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(60))
    while clock.now < deadline, found.count < count || quietPolls < 10 {
        let result = try await consumer.poll(maxMessages: 5000, timeout: .milliseconds(200))
        if case .assigned(let partitions) = result.rebalance {
            try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .beginning) }))
        }
        // Records only: the manifests (control totals) that follow them are checked by their own tests.
        let mine = result.messages.filter {
            $0.header("empmon.agent") == Array(agentID.utf8) && $0.header("empmon.kind") == Array("person".utf8)
        }
        found += mine.map { (String(decoding: $0.header("empmon.record") ?? [], as: UTF8.self), $0.value) }
        quietPolls = mine.isEmpty && found.count >= count ? quietPolls + 1 : 0
    }
    try await consumer.close()
    return found
}

/// Tests that use the test script's dev stack run one at a time: some take its brokers down.
@Suite("Against the shared test stack, one at a time", .serialized)
struct SharedStackTests {
    @Test("Brokers down: everything spooled; brokers up and flush: all delivered, signed, and no raw ID anywhere")
    func brokerOutage() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140403001001")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let (csv, ids) = makeLedger(count: 300, seed: 1)
        let file = try sandbox.write("october.csv", csv)

        for broker in 1...3 { #expect(try empmon(["dev", "broker", "down", String(broker)]).status == 0) }
        let submit = try sandbox.agent(["submit", "--period", "2024-10", file, "--timeout", "3"])
        for broker in 1...3 { #expect(try empmon(["dev", "broker", "up", String(broker)]).status == 0) }
        #expect(submit.status == 2, "\(submit.output)")
        #expect(submit.output.contains("spooled 300 records") && submit.output.contains("still pending"))
        let pending = try sandbox.agent(["status"])
        #expect(statusCounts(pending.output, kind: "person", period: "2024-10") == [300, 0, 0, 0], "\(pending.output)")

        let flush = try sandbox.agent(["flush"])
        #expect(flush.status == 0 && flush.output.contains("delivered 300 of 300"), "\(flush.output)")
        let after = try sandbox.agent(["status"])
        #expect(statusCounts(after.output, kind: "person", period: "2024-10") == [0, 300, 0, 0], "\(after.output)")
        #expect(try sandbox.agent(["flush"]).output.contains("nothing pending"))

        let sent = try await messages(from: sandbox.agentID, expecting: 300)
        #expect(Set(sent.map(\.id)).count == 300)
        let signer = sandbox.signer
        var payloadText = ""
        for (id, payload) in sent {
            let record = try Wire.decodePersonStatus(payload)
            #expect(record.recordID.text == id && signer.isValid(record) && record.unit.description == "140403001001")
            payloadText += String(decoding: payload, as: UTF8.self)
        }
        let places = [
            sandbox.spoolBytesAsText(), payloadText, submit.output, flush.output,
            (try? String(contentsOfFile: sandbox.home + "/credentials.json", encoding: .utf8)) ?? "",
        ]
        for id in ids {
            #expect(!places.contains { $0.contains(id) || $0.contains(String(id.dropLast())) })
        }
        #expect(!places.contains { $0.contains("某某") }, "names stay on the agent's computer")
    }

    @Test("SIGKILL during flush, then flush again: every record delivered at least once; record ids make it once")
    func killedDuringFlush() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140400000000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        // One village in each county, so the records spread over partitions led by every broker.
        let villages = try TopologyFilesHelper.oneVillagePerCounty()
        try #require(villages.count == 12)
        var expected = 0
        for (index, unit) in villages.enumerated() {
            let (csv, _) = makeLedger(count: 150, seed: 100 + index)
            let file = try sandbox.write("v\(index).csv", csv)
            let submit = try sandbox.agent(["submit", "--period", "2024-10", file, "--unit", unit, "--offline"])
            #expect(submit.status == 0, "\(submit.output)")
            expected += 150
        }
        #expect(try empmon(["dev", "broker", "down", "1"]).status == 0)
        let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let log = sandbox.directory.appendingPathComponent("flush.log").path
        let pid = try ChildProcess.start(
            binary, ["agent", "flush", "--home", sandbox.home, "--timeout", "60"], logFile: log)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(20))
        while clock.now < deadline, (try? sandbox.deliveredCount()) ?? 0 == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))
        kill(pid, SIGKILL)
        #expect(ChildProcess.wait(pid) == 128 + SIGKILL)
        let deliveredBeforeKill = try sandbox.deliveredCount()
        #expect(
            deliveredBeforeKill > 0,
            "some records were confirmed before the kill: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(deliveredBeforeKill < expected, "the kill came mid-flush, with records still in flight")
        #expect(try empmon(["dev", "broker", "up", "1"]).status == 0)

        let again = try sandbox.agent(["flush"])
        #expect(again.status == 0, "\(again.output)")
        #expect(
            again.output.contains("delivered \(expected - deliveredBeforeKill) of \(expected - deliveredBeforeKill)"),
            "\(again.output)")
        let sent = try await messages(from: sandbox.agentID, expecting: expected)
        let distinct = Set(sent.map(\.id))
        #expect(distinct.count == expected, "every record arrived at least once; the city dedupes by record id")
        #expect(sent.count >= expected)
    }

    @Test(
        "A correction replaces the month record by record and names the persons missing from it; another village's file is no correction"
    )
    func correction() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140403001000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let (csv, _) = makeLedger(count: 10, seed: 7)
        let first = try sandbox.write("first.csv", csv)
        let villageA = ["--unit", "140403001001"]
        #expect(try sandbox.agent(["submit", "--period", "2024-09", first, "--offline"] + villageA).status == 0)
        let (otherCSV, _) = makeLedger(count: 6, seed: 8)
        let other = try sandbox.write("other.csv", otherCSV)
        let villageB = try sandbox.agent([
            "submit", "--period", "2024-09", other, "--offline", "--unit", "140403001002",
        ])
        #expect(
            villageB.status == 0 && !villageB.output.contains("not in this file"),
            "village B is not a correction of A: \(villageB.output)")
        var lines = csv.split(separator: "\n").map(String.init)
        lines.remove(at: 4)  // the person on file line 5 is gone from the correction
        let second = try sandbox.write("second.csv", lines.joined(separator: "\n") + "\n")
        let corrected = try sandbox.agent(["submit", "--period", "2024-09", second, "--offline"] + villageA)
        #expect(corrected.status == 0, "\(corrected.output)")
        #expect(
            corrected.output.contains(
                "1 persons of the previous 2024-09 submission are not in this file (previous lines 5)"))
        let status = try sandbox.agent(["status"])
        // 9 corrected records, plus the missing person's earlier one, which stands until the clerk corrects it.
        #expect(
            statusCounts(status.output, kind: "person", period: "2024-09") == [16, 0, 0, 0],
            "superseded records are not sent: \(status.output)")
    }
}

enum TopologyFilesHelper {
    static func topology() throws -> Topology { try TopologyFiles.locate().loadTopology() }

    /// The first village of each county, in code order: records for them spread over every county's partition.
    static func oneVillagePerCounty() throws -> [String] {
        let topology = try topology()
        return topology.children(of: topology.city.code).compactMap {
            topology.units(of: .village, under: $0.code).first?.code.description
        }
    }
}

extension SharedStackTests {
    @Test("A GBK ledger with bad rows: the exact errors and nothing sent; --skip-invalid sends only the good rows")
    func gbkLedgerThroughTheCommand() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140403001001")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let good = residentID("14040319900307123")
        let other = residentID("14040319851231002")
        let broken = String(other.dropLast()) + (other.last == "1" ? "2" : "1")
        let text =
            "序号,姓名,身份证号,户编号,联系电话,就业状态,就业形式,就业地点\r\n"
            + "1,张三,\(good),H1,13800000000,就业,单位就业,本地\r\n"
            + "2,李四,\(broken),H2,13900000000,失业,,\r\n"
            + "3,王五,\(other),H3,,不详,,\r\n"
        let path = sandbox.directory.appendingPathComponent("gbk.csv").path
        try #require(text.data(using: String.Encoding(rawValue: 0x8000_0632))).write(to: URL(fileURLWithPath: path))

        let refused = try sandbox.agent(["submit", "--period", "2024-10", path])
        #expect(refused.status == 1)
        #expect(refused.output.contains("GB18030/GBK"))
        #expect(refused.output.contains("line 3 [身份证号]: the ID number's check digit does not match"))
        #expect(refused.output.contains("line 4 [就业状态]: '不详' is not one of"))
        #expect(refused.output.contains("nothing was sent"))
        #expect(!refused.output.contains(broken) && !refused.output.contains("13800000000"))
        #expect(try sandbox.spooledCount() == 0)

        let skipped = try sandbox.agent(["submit", "--period", "2024-10", path, "--skip-invalid"])
        #expect(skipped.status == 0, "\(skipped.output)")
        #expect(
            skipped.output.contains("spooled 1 records (2 rows skipped)") && skipped.output.contains("delivered 1 of 1")
        )
        let sent = try await messages(from: sandbox.agentID, expecting: 1)
        #expect(sent.count == 1)
        #expect(try Wire.decodePersonStatus(try #require(sent.first).payload).birthYear == 1990)
    }

    @Test("A township's activity report: counters in Chinese, spooled, delivered; a bad one is refused whole")
    func activityReport() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140403001000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let good = try sandbox.write("activity.csv", "指标,数值\n岗位征集数,120\n招聘活动场次,2\nrecruitment_events_typo,1\n")
        let refused = try sandbox.agent(["report-activity", "--period", "2024-10", good])
        #expect(refused.status == 1 && refused.output.contains("unknown counter 'recruitment_events_typo'"))
        let fixed = try sandbox.write("fixed.csv", "指标,数值\n岗位征集数,\"1,200\"\n招聘活动场次,2\n零工服务人次,35\n")
        let reported = try sandbox.agent(["report-activity", "--period", "2024-10", fixed])
        #expect(reported.status == 0 && reported.output.contains("delivered 1 of 1"), "\(reported.output)")
        #expect(
            statusCounts(try sandbox.agent(["status"]).output, kind: "activity", period: "2024-10") == [0, 1, 0, 0])
        let village = try sandbox.agent(["report-activity", "--period", "2024-10", fixed, "--unit", "140403001001"])
        #expect(
            village.status == 1 && village.output.contains("activity reports come from a township or county station"))
    }
}

extension SharedStackTests {
    @Test("simulate --publish sends every accepted record through a city agent")
    func simulatePublish() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140400000000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let out = sandbox.directory.appendingPathComponent("sim").path
        let run = try empmon([
            "simulate", "--months", "2", "--scale", "0.0003", "--seed", "5", "--malformed", "0.01", "--start",
            "2024-03",
            "--publish", "--agent-home", sandbox.home, "--out", out,
        ])
        #expect(run.status == 0, "\(run.output.suffix(600))")
        #expect(
            !FileManager.default.fileExists(atPath: out + "/ledgers"), "nothing but the truth and schedule is written")
        let truth = try String(contentsOfFile: out + "/ground-truth.csv", encoding: .utf8)
        // Every village's labour force, employed or not, is one accepted record per person and month.
        var records = 0
        for line in truth.split(separator: "\n") where line.hasPrefix("140400000000,") {
            let parts = line.split(separator: ",")
            if parts[2] == "labour_force" { records += Int(parts[3]) ?? 0 }
        }
        let spooled =
            run.output.split(separator: "\n").first { $0.hasPrefix("spooled ") }.flatMap {
                Int($0.split(separator: " ")[1])
            } ?? 0
        #expect(spooled >= records, "labour force is a subset of the records sent")
        #expect(run.output.contains("delivered \(spooled) of \(spooled)"))
        let stations = 149 + 12  // one activity report per township and county and month, on their own topic
        let sent = try await messages(from: sandbox.agentID, expecting: spooled - 2 * stations)
        #expect(Set(sent.map(\.id)).count == spooled - 2 * stations)
    }
}
