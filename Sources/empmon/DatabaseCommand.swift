import ArgumentParser
import CommandEdge
import DevStack
import Postgres
import Storage

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The PostgreSQL schema.", subcommands: [Migrate.self, Status.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the schema migrations not applied yet (safe to run again).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let url = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap ?? "",
                home: connection.home
            ).postgresURL
            let database = try await PostgresConnection.connect(url: url)
            let applied = try await Schema.migrator().migrate(database)
            print(
                applied.isEmpty
                    ? "schema up to date (\(Schema.migrations.count) migrations)"
                    : "applied \(applied.map(String.init).joined(separator: ", "))")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List migrations and whether each is applied.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let url = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap ?? "",
                home: connection.home
            ).postgresURL
            let applied = Set(
                try await Schema.migrator().appliedVersions(try await PostgresConnection.connect(url: url)))
            for migration in Schema.migrations {
                print(
                    "\(applied.contains(migration.version) ? "applied" : "pending")  \(migration.version)  \(migration.name)"
                )
            }
        }
    }
}
