import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the dev stack lives and how to reach it; written by `empmon dev up` to `<home>/dev.json` and read
/// by every other subcommand by default.
package struct DevSettings: Codable, Sendable, Equatable {
    package var postgresURL: String
    package var kafkaBootstrap: String
    package var postgres: PostgresInstance
    package var kafka: KafkaInstance

    package struct PostgresInstance: Codable, Sendable, Equatable {
        package var dataDirectory: String
        package var port: Int
        package var pid: Int32?
        package var binDirectory: String
        /// TLS and SCRAM (`dev up --secure`); absent in settings written before it existed.
        package var secure: Bool? = nil
    }

    package struct KafkaInstance: Codable, Sendable, Equatable {
        package var pid: Int32
        package var brokers: Int
        package var controlSocket: String
    }
}

/// The folder that holds the dev stack's data, logs and settings.
package struct DevHome: Sendable {
    package let path: String

    package init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `$EMPMON_HOME`, else the nearest `.empmon` folder at or above the working directory, else `./.empmon`.
    package static func resolve(_ explicit: String? = nil) -> DevHome {
        if let explicit { return DevHome(path: explicit) }
        if let home = ProcessInfo.processInfo.environment["EMPMON_HOME"], !home.isEmpty { return DevHome(path: home) }
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent(".empmon")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("dev.json").path) {
                return DevHome(path: candidate.path)
            }
            directory.deleteLastPathComponent()
        }
        return DevHome(path: FileManager.default.currentDirectoryPath + "/.empmon")
    }

    package var settingsFile: String { path + "/dev.json" }

    /// A short stable name for this home (FNV-1a of its path), for the places outside it that the stack
    /// must use: a data folder the `postgres` user can reach, a socket path short enough for Unix sockets.
    var pathHash: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return String(hash, radix: 16)
    }
    package var kafkaLog: String { path + "/kafka.log" }
    package var kafkaReadyFile: String { path + "/kafka.ready" }
    package var kafkaControlSocket: String { path + "/kafka.sock" }
    /// The stack's throwaway CA and the PostgreSQL superuser's password, when secure.
    package var tlsDirectory: String { path + "/tls" }

    package func loadSettings() throws -> DevSettings? {
        guard let data = FileManager.default.contents(atPath: settingsFile) else { return nil }
        do {
            return try JSONDecoder().decode(DevSettings.self, from: data)
        } catch {
            throw DevStackError("\(settingsFile) is not a valid dev settings file: \(error.localizedDescription)")
        }
    }

    package func save(_ settings: DevSettings) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try encoder.encode(settings).write(to: URL(fileURLWithPath: settingsFile), options: .atomic)
        // A secure stack's URL holds the superuser's password.
        chmod(settingsFile, 0o600)
    }
}

package struct DevStackError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Connection settings for subcommands: explicit options win, then environment variables, then the dev stack.
package struct ConnectionSettings: Sendable {
    package var postgresURL: String
    package var kafkaBootstrap: String

    package static func resolve(postgresURL: String?, kafkaBootstrap: String?, home: String? = nil) throws
        -> ConnectionSettings
    {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        let devHome = DevHome.resolve(home)
        let dev = try devHome.loadSettings()
        guard
            let url = postgresURL ?? environment["EMPMON_POSTGRES_URL"] ?? dev?.postgresURL,
            let bootstrap = kafkaBootstrap ?? environment["EMPMON_KAFKA_BOOTSTRAP"] ?? dev?.kafkaBootstrap
        else {
            throw DevStackError(
                "no connection settings: pass --postgres-url and --kafka, set EMPMON_POSTGRES_URL and "
                    + "EMPMON_KAFKA_BOOTSTRAP, or start the dev stack with `empmon dev up` (looked for \(devHome.settingsFile))"
            )
        }
        return ConnectionSettings(postgresURL: url, kafkaBootstrap: bootstrap)
    }
}
