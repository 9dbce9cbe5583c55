import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Serve
import Testing
import TopologyFiles

/// The API's edges through Hummingbird's router test client: no sockets, and no database, because nothing here may
/// reach one (a request without a token never looks a token up).
@Suite("The API's edges, without services")
struct APIRouterTests {
    static func server() throws -> APIServer {
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let database = try PostgresClient(url: "postgresql://nobody@127.0.0.1:1/nothing", logger: quiet)
        return APIServer(
            database: database, topology: try TopologyFiles.locate().loadTopology(), targets: nil, logger: quiet)
    }

    @Test("A route whose authentication was forgotten answers 401; it cannot fall back to the whole city")
    func forgottenAuthenticationFailsClosed() async throws {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ProblemResponses(logger: Logger(label: "test")))
        router.group("/forgot").group(context: AuthenticatedContext.self).get("scope") { _, context in
            context.access.scope.description
        }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/forgot/scope", method: .get)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(!String(buffer: response.body).contains("140400000000"))
        }
    }

    @Test("Every /api/v1 route but the open ones answers 401 without a token, 405 with Allow to other methods")
    func unauthenticatedAndWrongMethods() async throws {
        let server = try Self.server()
        try await Application(router: server.router()).test(.router) { client in
            for path in [
                "/api/v1/meta", "/api/v1/situation?tier=county&period=2024-03", "/api/v1/units/140400000000/series",
                "/api/v1/alerts", "/api/v1/map",
            ] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .unauthorized, "\(path)")
                #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"empmon\"")
            }
            let open = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(open.status == .ok)
            let trace = try await client.execute(uri: "/health", method: .trace)
            #expect(trace.status == .methodNotAllowed && trace.headers[.allow] == "GET, HEAD")
        }
    }

    @Test(
        "10,000 requests without a token to invented paths leave /metrics with one label per route and one for the rest"
    )
    func metricsStayBounded() async throws {
        let server = try Self.server()
        try await Application(router: server.router()).test(.router) { client in
            var random = SeededGenerator(seed: 10_000)
            for index in 0..<10_000 {
                let noise = String(UInt64.random(in: 0...UInt64.max, using: &random), radix: 36)
                let path =
                    switch index % 5 {
                    case 0: "/api/v1/units/\(noise)/series"
                    case 1: "/\(noise)"
                    case 2: "/api/v1/\(noise)/\(noise)"
                    case 3: "/api/v1/situation?tier=\(noise)"
                    default: "/api/v1/units/\(noise)/forecast/\(noise)"
                    }
                _ = try await client.execute(uri: path, method: index % 7 == 0 ? .post : .get)
            }
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let endpoints = Set(
                metrics.split(separator: "\n").compactMap { line -> String? in
                    guard line.hasPrefix("empmon_api_"), let start = line.range(of: "endpoint=\"") else { return nil }
                    return String(line[start.upperBound...].prefix { $0 != "\"" })
                })
            #expect(!endpoints.isEmpty)
            #expect(
                endpoints.isSubset(of: Set(APIServer.routes).union(["NotFound"])),
                "\(endpoints.subtracting(APIServer.routes))")
            #expect(endpoints.count <= APIServer.routes.count + 1)
            #expect(metrics.split(separator: "\n").count < 400, "the scrape does not grow with the requests")
        }
    }
}
