import DevStack
import Foundation
import Postgres
import Storage
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `empmon-api`, the binary Deploy/ runs, serves the API on its own: started with a database URL alone, it answers
/// health and the contract, refuses a read without a token, and stops cleanly on SIGTERM.
@Suite struct APIBinaryTests {
    @Test func theAPIBinaryServesOnItsOwn() async throws {
        let empmon = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let binary = URL(fileURLWithPath: empmon).deletingLastPathComponent().appendingPathComponent("empmon-api").path
        #expect(FileManager.default.isExecutableFile(atPath: binary))
        let database = try await TestDatabase.create()
        _ = try await Schema.migrator().migrate(try await database.connect())
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-api-\(UUID().uuidString).log")
            .path
        let pid = try ChildProcess.start(
            binary, ["--postgres-url", database.url, "--port", "0"], logFile: log,
            environment: ["EMPMON_LOG_LEVEL": "info"])
        defer { try? FileManager.default.removeItem(atPath: log) }
        var port: String?
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while port == nil, ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            port = text.split(separator: "\n").first { $0.contains("listening") }
                .flatMap { line in line.firstMatch(of: /127\.0\.0\.1:(\d+)/).map { String($0.1) } }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let port else {
            kill(pid, SIGKILL)
            _ = ChildProcess.wait(pid)
            await database.drop()
            Issue.record("empmon-api never listened: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            return
        }
        func status(_ path: String) async throws -> Int {
            let (_, response) = try await URLSession.shared.data(
                from: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await status("/health") == 200)
        #expect(try await status("/api/v1/openapi.json") == 200)
        #expect(try await status("/api/v1/situation?tier=county&period=2024-03") == 401)
        kill(pid, SIGTERM)
        #expect(ChildProcess.wait(pid) == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        await database.drop()
    }
}
