import Agent
import DevStack
import Domain
import Foundation
import Ledger
import Testing
import Wire

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

extension SharedStackTests {
    @Test(
        "The clerk's page in headless Chromium: a ledger with errors shows each one and sends nothing; the corrected one is delivered to Kafka"
    )
    func agentPageInTheBrowser() async throws {
        let python = try testPython(with: "Playwright")
        let sandbox = try await AgentSandbox.make(unit: "140403001000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let village = "140403001001"
        let (csv, _) = makeLedger(count: 12, seed: 31)
        var rows = csv.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let header = rows.removeFirst()
        var broken = rows
        broken[2][1] = String(broken[2][1].dropLast()) + (broken[2][1].hasSuffix("1") ? "2" : "1")  // check digit wrong
        broken[5][3] = "不详"  // not a status
        let title = "和平社区2024年10月就业监测台账"
        let bad = try sandbox.write("十月台账-有误.xlsx", "")
        try Data(try WorkbookWriter.xlsx(title: title, header: header, rows: broken, textColumns: [1])).write(
            to: URL(fileURLWithPath: bad))
        let good = try sandbox.write("十月台账.xlsx", "")
        try Data(try WorkbookWriter.xlsx(title: title, header: header, rows: rows, textColumns: [1])).write(
            to: URL(fileURLWithPath: good))

        let page = try await AgentPageProcess.start(sandbox)
        defer { page.stop() }
        let url = page.url

        let artifacts = try artifactsDirectory().path
        let script = browserScript("agent_page.py")
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

        #expect(
            (shown["message_after_good"] as? String)?.contains("已保存 12 条记录") == true,
            "\(shown["message_after_good"] ?? "")")
        #expect((shown["message_after_good"] as? String)?.contains("已送达 12 条") == true)
        #expect(shown["errors_visible_after_good"] as? Bool == false)
        #expect(
            (shown["status_rows"] as? [[String]])?.first == [
                "人员台账", "2024-10", "140403001001", "0", "12", "0", "0", "0",
            ],
            "\(shown["status_rows"] ?? "")")
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

/// `empmon agent serve` on a free port, for one test.
struct AgentPageProcess {
    let pid: Int32
    let url: String

    static func start(_ sandbox: AgentSandbox, extra: [String] = []) async throws -> AgentPageProcess {
        let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let log = sandbox.directory.appendingPathComponent("serve.log").path
        let pid = try ChildProcess.start(
            binary, ["agent", "serve", "--home", sandbox.home, "--port", "0", "--retry-every", "2"] + extra,
            logFile: log)
        var address: String?
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(30))
        while address == nil, clock.now < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            address = text.split(separator: "\n").first { $0.contains("agent page: http://") }
                .flatMap { $0.split(separator: " ").last }.map(String.init)
            if address == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let address else {
            kill(pid, SIGKILL)
            _ = ChildProcess.wait(pid)
            throw DevStackError("the page never started: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        return AgentPageProcess(pid: pid, url: address)
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = ChildProcess.wait(pid)
    }

    func request(_ method: String, _ path: String, body: Data? = nil, pageHeader: Bool = true) async throws -> (
        status: Int, json: [String: Any]
    ) {
        var request = URLRequest(url: try #require(URL(string: url + path)))
        request.httpMethod = method
        request.httpBody = body
        if pageHeader { request.setValue("1", forHTTPHeaderField: "X-Empmon-Agent") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }
}

extension SharedStackTests {
    @Test(
        "The page works offline: with every broker down a ledger is kept, and it leaves by itself once the brokers are back"
    )
    func agentPageDeliversWhenTheBrokerReturns() async throws {
        let sandbox = try await AgentSandbox.make(unit: "140403001000")
        defer { try? FileManager.default.removeItem(at: sandbox.directory) }
        let page = try await AgentPageProcess.start(sandbox, extra: ["--timeout", "2"])
        defer { page.stop() }
        let (csv, _) = makeLedger(count: 9, seed: 41)

        let foreign = try await page.request(
            "POST", "api/submit?period=2024-10&unit=140403001001", body: Data(csv.utf8), pageHeader: false)
        #expect(foreign.status == 403, "a request without the page's header changes nothing")
        let otherCounty = try #require(
            try TopologyFilesHelper.topology().units(of: .village, under: DivisionCode("140404000000")!).first)
        let outside = try await page.request(
            "POST", "api/submit?period=2024-10&unit=\(otherCounty.code)", body: Data(csv.utf8))
        #expect(outside.status == 403 && (outside.json["title"] as? String)?.contains("140403001000") == true)

        for broker in 1...3 { #expect(try empmon(["dev", "broker", "down", String(broker)]).status == 0) }
        let submitted: (status: Int, json: [String: Any])
        do {
            submitted = try await page.request(
                "POST", "api/submit?period=2024-10&unit=140403001001&name=%E5%8D%81%E6%9C%88.csv", body: Data(csv.utf8))
        } catch {
            for broker in 1...3 { _ = try? empmon(["dev", "broker", "up", String(broker)]) }
            throw error
        }
        for broker in 1...3 { #expect(try empmon(["dev", "broker", "up", String(broker)]).status == 0) }
        #expect(submitted.status == 200 && submitted.json["spooled"] as? Int == 9, "\(submitted)")
        #expect(submitted.json["file"] as? String == "十月.csv")
        let delivery = submitted.json["delivery"] as? [String: Any]
        #expect(delivery?["delivered"] as? Int == 0, "the brokers were down: \(delivery ?? [:])")

        // No one presses anything: the page's own retry sends them.
        var delivered = 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        while delivered < 9, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let months = try await page.request("GET", "api/status").json["months"] as? [[String: Any]] ?? []
            delivered = months.first?["delivered"] as? Int ?? 0
        }
        #expect(delivered == 9)
        let sent = try await messages(from: sandbox.agentID, expecting: 9)
        #expect(Set(sent.map(\.id)).count == 9)
    }
}
