import Postgres

/// A database of a run's own beside the dev stack's, for a bench or a replay that must start empty.
package enum FreshDatabase {
    /// Drops and creates the database `name` on the server at `serverURL`; returns its URL.
    package static func create(_ name: String, on serverURL: String) async throws -> String {
        guard let url = PostgresURL.replacingDatabase(of: serverURL, with: name) else {
            throw PostgresError(.usage, "the server URL \(serverURL) names no database")
        }
        let admin = try await PostgresConnection.connect(url: serverURL)
        // A database name cannot be a parameter; callers pass a fixed lower-case name.
        try await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await admin.query("CREATE DATABASE \(name)")
        return url
    }

    package static func drop(_ name: String, on serverURL: String) async throws {
        try await PostgresConnection.connect(url: serverURL).query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
