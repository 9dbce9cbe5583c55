import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Hummingbird
import Logging
import Postgres
import Serve
import Situation
import TopologyFiles

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Serve the HTTP API: situation, series, forecasts, targets, completeness, alerts, rejections; bearer tokens scoped to a subtree."
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port.") var port = 8080
    @Option(help: "Scale of the count targets; default $EMPMON_TARGET_SCALE or 1.") var targetScale: Double?

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1 to 65535") }
    }

    func run() async throws {
        let files = try Edge.topologyFiles()
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let database = try PostgresClient(url: settings.postgresURL, maxConnections: 8)
        let logger = Logger(label: "empmon.serve")
        let topology = try files.loadTopology()
        let server = APIServer(
            database: database, topology: topology,
            targets: try Edge.targets(files: files, scale: targetScale),
            countyMap: try files.loadCountyMap(for: topology), logger: logger)
        let app = Application(
            router: server.router(), configuration: .init(address: .hostname(host, port: port)), logger: logger)
        logger.info("API at http://\(host):\(port)/api/v1/openapi.json")
        try await app.runService()
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API bearer tokens, each scoped to one unit's subtree.",
        subcommands: [Create.self, Revoke.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token; it is printed once and stored only as a hash.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The unit whose subtree the token reads (12-digit code or exact name).") var scope: String
        @Option(help: "analyst or viewer (viewers cannot read rejections).") var role = "viewer"
        @Option(help: "Who holds it, for the list.") var name = ""

        func run() async throws {
            guard let parsed = APIAccess.Role(rawValue: role) else {
                throw ValidationError("--role must be analyst or viewer")
            }
            let topology = try Edge.topologyFiles().loadTopology()
            let unit = try resolveUnit(scope, in: topology)
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
            let created = try await APITokens(
                database: try PostgresClient(url: settings.postgresURL, maxConnections: 1)
            )
            .create(scope: unit.code, role: parsed, name: name)
            FileHandle.standardError.write(
                Data(
                    "token \(created.id): \(parsed.rawValue) of \(unit.name) \(unit.code) and below; shown once:\n".utf8
                ))
            print(created.token)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token id (from `empmon token list`).") var id: Int64

        func run() async throws {
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
            let revoked = try await APITokens(
                database: try PostgresClient(url: settings.postgresURL, maxConnections: 1)
            ).revoke(id: id)
            guard revoked else { throw ValidationError("no active token \(id)") }
            print("revoked token \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
            let tokens = try await APITokens(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
                .list()
            print(
                Table.render(
                    header: ["id", "scope", "role", "name", "created", "last used", "revoked"],
                    rows: tokens.map {
                        [
                            String($0.id), $0.scope, $0.role, $0.name, $0.createdAt, $0.lastUsedAt ?? "–",
                            $0.revokedAt ?? "–",
                        ]
                    }))
        }
    }
}
