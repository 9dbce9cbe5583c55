import Agent
import DevStack
import Domain
import Foundation
import Ledger
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

extension SharedStackTests {
    @Test("The clerk's page in headless Chromium: a ledger with errors shows each one and sends nothing; the corrected one is delivered to Kafka")
    func agentPageInTheBrowser() async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["EMPMON_TEST_PYTHON"], "scripts/test.sh sets EMPMON_TEST_PYTHON to a Python with Playwright")
        let sandbox = try AgentSandbox.make(unit: "140403001000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let village = "140403001001"
        let (csv, _) = makeLedger(count: 12, seed: 31)
        var rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows.removeFirst()
        var broken = rows
        broken[2][1] = String(broken[2][1].dropLast()) + (broken[2][1].hasSuffix("1") ? "2" : "1")  // check digit wrong
        broken[5][3] = "不详"  // not a status
        let title = "和平社区2024年10月就业监测台账"
        let bad = try sandbox.write("十月台账-有误.xlsx", "")
        try Data(try WorkbookWriter.xlsx(title: title, header: header, rows: broken, textColumns: [1])).write(to: URL(fileURLWithPath: bad))
        let good = try sandbox.write("十月台账.xlsx", "")
        try Data(try WorkbookWriter.xlsx(title: title, header: header, rows: rows, textColumns: [1])).write(to: URL(fileURLWithPath: good))

        let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let log = sandbox.directory.appendingPathComponent("serve.log").path
        let pid = try ChildProcess.start(binary, ["agent", "serve", "--home", sandbox.home, "--port", "0", "--retry-every", "2"], logFile: log)
        defer {
            kill(pid, SIGTERM)
            _ = ChildProcess.wait(pid)
        }
        var address: String?
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(30))
        while address == nil, clock.now < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            address = text.split(separator: "\n").first { $0.contains("agent page: http://") }
                .flatMap { $0.split(separator: " ").last }.map(String.init)
            if address == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let url = try #require(address, "the page never started: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")

        let artifacts = try artifactsDirectory().path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Browser/agent_page.py").path
        let run = try ChildProcess.run(python, [script, url, village, bad, good, artifacts])
        #expect(run.status == 0, "\(run.output.suffix(2000))")
        let lastLine = String(run.output.split(separator: "\n").last ?? "")
        let shown = try #require(try json(lastLine) as? [String: Any], "\(run.output)")

        #expect(shown["post_without_header"] as? Int == 403, "another site's page cannot post to it")
        #expect((shown["agent_line"] as? String)?.contains("东街街道") == true)
        let errors = shown["errors"] as? [[String]] ?? []
        // Rows as Excel numbers them: the title is row 1, the header row 2, data from row 3.
        #expect(errors.count == 2, "\(errors)")
        #expect(errors.contains { $0 == ["第5行", "身份证号", $0[2]] && $0[2].contains("校验") }, "\(errors)")
        #expect(errors.contains { $0[0] == "第8行" && $0[1] == "就业状态" && $0[2].contains("不详") }, "\(errors)")
        #expect((shown["message_after_bad"] as? String)?.contains("未发送任何记录") == true)
        let statusAfterBad = shown["status_after_bad"] as? [String: Any] ?? [:]
        let monthsAfterBad = statusAfterBad["months"] as? [Any] ?? ["missing"]
        #expect(monthsAfterBad.isEmpty, "nothing was spooled while errors remained")

        #expect((shown["message_after_good"] as? String)?.contains("已保存 12 条记录") == true, "\(shown["message_after_good"] ?? "")")
        #expect((shown["message_after_good"] as? String)?.contains("已送达 12 条") == true)
        #expect(shown["errors_visible_after_good"] as? Bool == false)
        #expect((shown["status_rows"] as? [[String]])?.first == ["人员台账", "2024-10", "0", "12", "0"], "\(shown["status_rows"] ?? "")")
        #expect((shown["template_bytes"] as? Int ?? 0) > 1000)
        #expect(FileManager.default.fileExists(atPath: artifacts + "/agent-page-errors.png"))
        #expect(FileManager.default.fileExists(atPath: artifacts + "/agent-page-delivered.png"))

        let sent = try await messages(from: sandbox.agentID, expecting: 12)
        #expect(Set(sent.map(\.id)).count == 12)
        for (_, payload) in sent {
            let record = try Wire.decodePersonStatus(payload)
            #expect(record.unit.description == village && record.period.description == "2024-10")
        }
    }
}
