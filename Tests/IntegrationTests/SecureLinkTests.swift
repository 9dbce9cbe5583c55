import DevStack
import Domain
import Foundation
import Postgres
import Serve
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The links to PostgreSQL as deployed: TLS whose certificate is checked against the stack's CA and the host's
/// address (`sslmode=verify-full`), SCRAM passwords, Deploy's roles. `scripts/test.sh` starts the suite's stack
/// with `dev up --secure`, so every test that reaches PostgreSQL does so over TLS; these name it.
extension SharedStackTests {
    static func secureServerURL() throws -> String {
        let url = try TestDatabase.serverURL()
        try #require(
            url.contains("sslmode=verify-full") && url.contains("sslrootcert="),
            "the suite's PostgreSQL must be the secure dev stack (scripts/test.sh runs `empmon dev up --secure`)")
        return url
    }

    @Test(
        "Over TLS (verify-full) with SCRAM, as Deploy's roles: a clerk's ledger goes from the agent through the processor into the ledger, the agent reads its receipt, and the API serves the month"
    )
    func agentFlowOverTLSAsDeployedRoles() async throws {
        _ = try Self.secureServerURL()
        try await DeployedRoles.with { roles in
            try await roles.apply()
            let pipeline = roles.pipeline
            let processorRole = ["EMPMON_POSTGRES_URL": roles.url(as: "processor")]
            // Enrolment is the operator's (the schema's owner); the agent announces its key at its first flush,
            // and the processor, as its role, registers it.
            let county = try await AgentSandbox.make(
                unit: "140403000000", environment: pipeline.environment, announce: false)
            defer { try? FileManager.default.removeItem(at: county.directory) }
            let month = recentMonth(1)
            let village = "140403001001"
            let ledger = makeLedger(count: 7, seed: 61)
            let submit = try county.agent([
                "submit", "--period", month, try county.write("a.csv", ledger.csv), "--unit", village, "--offline",
            ])
            #expect(submit.status == 0, "\(submit.output)")
            // A new agent's first flush announces its key; the records go once the city has confirmed it.
            var output = ""
            for _ in 0..<2 {
                let flush = try county.agent(["flush", "--confirm-within", "60"])
                #expect(flush.status == 0, "\(flush.output)")
                output += flush.output
                let processed = try empmon(
                    pipeline.processorArguments + ["--batch-size", "5000", "--stop-when-caught-up"],
                    environment: processorRole)
                #expect(processed.status == 0, "\(processed.output.suffix(2000))")
            }
            let confirm = try county.agent(["flush", "--confirm-within", "60"])
            output += confirm.output
            #expect(output.contains("the city confirmed key"), "\(output)")
            #expect(confirm.output.contains("city receipts: 1 unit-months stored"), "\(output)")
            // verify is the operator's check, as the schema's owner.
            let verify = try pipeline.run(["verify", "--manifests", "--period", month])
            #expect(verify.status == 0, "\(verify.output.suffix(2000))")
            let stored = try await pipeline.query(
                "SELECT count(*)::int FROM person_ledger WHERE unit_code = $1", [village], as: Int.self)
            #expect(stored == [7])

            // The API, as its role, over the same kind of link: the village's month as the processor stored it.
            let labourForce = try await pipeline.query(
                "SELECT labour_force::int FROM unit_month_counts WHERE unit_code = $1 AND period = $2::date",
                [village, month + "-01"], as: Int.self)
            #expect(labourForce.count == 1 && labourForce.allSatisfy { $0 > 0 }, "\(labourForce)")
            let database = try PostgresClient(url: roles.url(as: "api"), maxConnections: 2)
            let topology = try Topology(
                csv: String(
                    decoding: try #require(FileManager.default.contents(atPath: AlertFixture.topologyPath())),
                    as: UTF8.self))
            let token = try await APITokens(database: database).create(
                scope: topology.city.code, role: .analyst, name: "tls"
            ).token
            let server = APIServer(database: database, topology: topology, targets: nil)
            try await withTestServer(server.router()) { base in
                let path = "/api/v1/units/\(village)/series?indicator=labour_force&from=\(month)&to=\(month)"
                var request = URLRequest(url: try #require(URL(string: base + path)))
                request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                let (body, response) = try await URLSession.shared.data(for: request)
                let text = String(decoding: body, as: UTF8.self)
                #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(text.prefix(300))")
                let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
                let points = try #require(object["points"] as? [[String: Any]], "\(text.prefix(300))")
                #expect(points.compactMap { ($0["value"] as? Double).map { Int($0) } } == labourForce, "\(text)")
            }

            // Every role's own link is TLS; a role without its password, or without TLS, is refused.
            for name in ["processor", "api"] {
                let connection = try await PostgresConnection.connect(url: roles.url(as: name))
                let ssl = try await connection.query(
                    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                #expect(try ssl.first?.decode(Bool.self, at: 0) == true, "\(name) is not on TLS")
            }
            await expectRefused(
                roles.url(as: "processor").replacingOccurrences(of: roles.password, with: "not-the-password"),
                saying: "password authentication failed")
            await expectRefused(
                roles.url(as: "processor").replacing(/sslmode=verify-full/, with: "sslmode=disable"),
                saying: "no encryption")
        }
    }

    @Test(
        "A client that cannot trust the server is stopped at once, saying so: a CA it was not given, a CA whose validity has ended, a name the certificate does not carry"
    )
    func untrustedServerIsRefusedClearly() async throws {
        let url = try Self.secureServerURL()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let caFile = try #require(url.firstMatch(of: /sslrootcert=([^&]+)/)).output.1
        let stackCA = try ThrowawayCA.load(from: (String(caFile) as NSString).deletingLastPathComponent)

        // Another CA: the server's certificate does not chain to it.
        let stranger = try ThrowawayCA.make(name: "a stranger's CA")
        try stranger.write(to: folder.appendingPathComponent("stranger").path)
        await expectRefused(
            url.replacing(/sslrootcert=[^&]+/, with: "sslrootcert=\(folder.path)/stranger/ca.crt"),
            saying: "certificate verify failed")
        await expectRefused(
            url.replacing(/sslrootcert=[^&]+/, with: "sslrootcert=\(folder.path)/stranger/ca.crt"),
            saying: "does not chain to the CA in sslrootcert")

        // The stack's own CA key and name, but a certificate for it whose validity ended yesterday. libpq reports
        // both as "certificate verify failed", without OpenSSL's reason; the error adds what to check.
        // The same certificate made valid today is trusted: what fails below is the date, not the making.
        let current = try stackCA.reissued(notValidBefore: Date() - 86_400, notValidAfter: Date() + 86_400)
        try current.write(to: folder.appendingPathComponent("current").path)
        let trusted = try await PostgresConnection.connect(
            url: url.replacing(/sslrootcert=[^&]+/, with: "sslrootcert=\(folder.path)/current/ca.crt"))
        #expect(try await trusted.query("SELECT 1").count == 1)
        let expired = try stackCA.reissued(notValidBefore: Date() - 30 * 86_400, notValidAfter: Date() - 86_400)
        try expired.write(to: folder.appendingPathComponent("expired").path)
        await expectRefused(
            url.replacing(/sslrootcert=[^&]+/, with: "sslrootcert=\(folder.path)/expired/ca.crt"),
            saying: "certificate verify failed")

        // The right CA, but reached by a name its certificate does not carry: verify-full checks the host too.
        await expectRefused(
            url.replacing(/@127\.0\.0\.1:/, with: "@db.example:") + "&hostaddr=127.0.0.1",
            saying: "does not match host name")
    }
}

/// Connecting to `url` fails within seconds, and the error says `reason`.
func expectRefused(_ url: String, saying reason: String, sourceLocation: SourceLocation = #_sourceLocation) async {
    let started = ContinuousClock.now
    do {
        let separator = url.contains("?") ? "&" : "?"
        _ = try await PostgresConnection.connect(url: url + separator + "connect_timeout=10")
        Issue.record("connected, expected: \(reason)", sourceLocation: sourceLocation)
    } catch {
        #expect(String(describing: error).contains(reason), "\(error)", sourceLocation: sourceLocation)
        #expect(ContinuousClock.now - started < .seconds(10), sourceLocation: sourceLocation)
    }
}
