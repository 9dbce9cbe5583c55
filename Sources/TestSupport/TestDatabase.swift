import Foundation
import Postgres

/// A fresh database on the test server for one test, dropped afterwards.
///
/// The server comes from `EMPMON_TEST_POSTGRES_URL` (set by scripts/test.sh, which starts the dev stack).
package struct TestDatabase: Sendable {
    package let url: String
    package let name: String
    private let adminURL: String

    package static func serverURL() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["EMPMON_TEST_POSTGRES_URL"] ?? environment["EMPMON_POSTGRES_URL"] else {
            throw PostgresError(.usage, "set EMPMON_TEST_POSTGRES_URL, or run the tests through scripts/test.sh")
        }
        return url
    }

    package static func create() async throws -> TestDatabase {
        let adminURL = try serverURL()
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try await PostgresConnection.connect(url: adminURL)
        // A database name cannot be a parameter; this one is generated here from hex digits only.
        try await admin.query("CREATE DATABASE \(name)")
        guard let url = PostgresURL.replacingDatabase(of: adminURL, with: name) else {
            throw PostgresError(.usage, "the test server URL needs a database path")
        }
        return TestDatabase(url: url, name: name, adminURL: adminURL)
    }

    package func drop() async {
        guard let admin = try? await PostgresConnection.connect(url: adminURL) else { return }
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    package func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(url: url)
    }
}

package func withTestDatabase(_ body: (TestDatabase) async throws -> Void) async throws {
    try await withCleanUp(try await TestDatabase.create(), cleanUp: { await $0.drop() }, body)
}

/// Runs `body` on a fixture and cleans it up however `body` ends: returning, throwing, or a failed `#require`
/// (which throws). A clean-up after the body's last line would be skipped by the last two.
package func withCleanUp<Fixture>(
    _ fixture: Fixture, cleanUp: (Fixture) async -> Void, _ body: (Fixture) async throws -> Void
) async throws {
    do {
        try await body(fixture)
    } catch {
        await cleanUp(fixture)
        throw error
    }
    await cleanUp(fixture)
}
