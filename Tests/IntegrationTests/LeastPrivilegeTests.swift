import Domain
import Foundation
import Postgres
import Serve
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `Deploy/postgres/roles.sql` applied to a migrated database, under names of this run's own (roles belong to
/// the whole server, which other tests share).
struct DeployedRoles {
    let suffix = "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
    let pipeline: Pipeline

    /// Roles over a fresh pipeline for `body`, dropped with it however `body` ends.
    static func with(_ body: (DeployedRoles) async throws -> Void) async throws {
        try await withCleanUp(DeployedRoles(pipeline: try await Pipeline.make()), cleanUp: { await $0.drop() }, body)
    }

    /// Each role's password, set after roles.sql as its header says an operator does; SCRAM on the secure stack
    /// refuses a role without one.
    let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")

    func role(_ name: String) -> String { "empmon_\(name)_\(suffix)" }

    /// The pipeline's database URL (with its TLS settings), logging in as one of the roles.
    func url(as name: String) -> String {
        pipeline.database.url.replacing(/:\/\/[^@\/]*@/, with: "://\(role(name)):\(password)@")
    }

    func apply() async throws {
        let path = URL(fileURLWithPath: DeployFilesTests.root.path).appendingPathComponent("postgres/roles.sql").path
        var script = try String(contentsOfFile: path, encoding: .utf8)
        script = script.replacing(/\bempmon_(owner|processor|api|reader|backup)\b/) {
            "empmon_\($0.output.1)_\(suffix)"
        }
        script = script.replacingOccurrences(of: "ON DATABASE empmon ", with: "ON DATABASE \(pipeline.database.name) ")
        for name in ["owner", "processor", "api", "reader", "backup"] {
            // A constant of ours, not input: identifiers and PASSWORD take no parameters.
            script += "\nALTER ROLE \(role(name)) PASSWORD '\(password)';"
        }
        let connection = try await pipeline.database.connect()
        try await connection.execute(script: script)
    }

    func drop() async {
        await pipeline.cleanUp()
        guard let admin = try? await PostgresConnection.connect(url: try TestDatabase.serverURL()) else { return }
        for name in ["owner", "processor", "api", "reader", "backup"] {
            _ = try? await admin.query("DROP ROLE IF EXISTS \(role(name))")
        }
    }
}

extension SharedStackTests {
    @Test(
        "Under Deploy's least-privilege roles the processor commits, the API answers, and neither reads what it must not"
    )
    func deployedRolesSuffice() async throws {
        try await DeployedRoles.with { roles in
            let pipeline = roles.pipeline
            try await roles.apply()

            // A processor logged in as the readers' role may not write: it stops with the reason, not retrying in
            // silence, and moves no offset.
            let truth = try await pipeline.simulate(seed: 21, months: 2, counties: "140403000000")
            let offsets = try await pipeline.committedOffsets()
            let refused = try empmon(
                pipeline.processorArguments + ["--batch-size", "5000", "--stop-when-caught-up"],
                environment: ["EMPMON_POSTGRES_URL": roles.url(as: "reader")])
            #expect(
                refused.status != 0 && refused.output.contains("no retry mends") && refused.output.contains("42501"),
                "\(refused.output.suffix(2000))")
            #expect(try await pipeline.committedOffsets() == offsets)

            // The processor, logged in as its role: the month partitions come from the SECURITY DEFINER function,
            // alerts are evaluated after each commit, and the figures equal the ground truth.
            let processed = try empmon(
                pipeline.processorArguments + ["--batch-size", "5000", "--stop-when-caught-up"],
                environment: ["EMPMON_POSTGRES_URL": roles.url(as: "processor")])
            #expect(processed.status == 0, "\(processed.output.suffix(2000))")
            #expect(!processed.output.contains("permission denied"), "\(processed.output.suffix(2000))")
            #expect(try await pipeline.storedLines(periods: periods(of: truth)) == truth)

            // The API, logged in as its role: every endpoint answers (a forecast nobody ran is a 404, not a 500).
            let database = try PostgresClient(url: roles.url(as: "api"), maxConnections: 2)
            let topology = try Topology(
                csv: String(
                    decoding: try #require(FileManager.default.contents(atPath: AlertFixture.topologyPath())),
                    as: UTF8.self
                ))
            let token = try await APITokens(database: database).create(
                scope: topology.city.code, role: .analyst, name: "roles"
            ).token
            let server = APIServer(database: database, topology: topology, targets: nil)
            try await withTestServer(server.router()) { base in
                let paths = [
                    "/health", "/api/v1/meta", "/api/v1/situation?tier=county&period=2024-02",
                    "/api/v1/completeness?tier=township&period=2024-02",
                    "/api/v1/targets?period=2024-02",
                    "/api/v1/units/140403000000/series?indicator=employed&from=2024-01&to=2024-02",
                    "/api/v1/alerts", "/api/v1/rejections", "/api/v1/quality?period=2024-02",
                    "/api/v1/open-data/situation?tier=village&period=2024-02&indicator=employed",
                    "/api/v1/units/140403000000/forecast",
                ]
                for path in paths {
                    var request = URLRequest(url: try #require(URL(string: base + path)))
                    request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                    let (body, response) = try await URLSession.shared.data(for: request)
                    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    #expect(
                        status == (path.hasSuffix("/forecast") ? 404 : 200),
                        "\(path): \(status) \(String(decoding: body, as: UTF8.self).prefix(300))")
                }
            }

            // What the roles are kept from: persons and agents' secrets for the API and the readers, tokens for the readers.
            for (name, table) in [
                ("api", "person_ledger"), ("api", "agents"), ("api", "city_keys"), ("api", "legacy_hmac_secrets"),
                ("reader", "person_ledger"), ("reader", "api_tokens"), ("reader", "agent_keys"),
            ] {
                let connection = try await PostgresConnection.connect(url: roles.url(as: name))
                do {
                    _ = try await connection.query("SELECT 1 FROM \(table) LIMIT 1")
                    Issue.record("\(roles.role(name)) can read \(table)")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "42501", "\(name) on \(table): \(String(reflecting: error))")
                }
            }
        }
    }
}
