import Foundation
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL instance from the installed server binaries, on 127.0.0.1 only.
///
/// As root, `initdb` and `pg_ctl` refuse to run, so they run as the `postgres` system user on a data
/// folder it owns.
struct LocalPostgres {
    let dataDirectory: String
    let logFile: String
    let binDirectory: String
    let port: Int
    let runAsUser: String?

    static let database = "empmon"
    static let user = "empmon"

    var url: String { "postgresql://\(Self.user)@127.0.0.1:\(port)/\(Self.database)" }

    /// The newest installed server's `bin` folder, e.g. `/usr/lib/postgresql/15/bin`.
    static func findBinDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted()
        for version in versions.reversed()
        where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw DevStackError("no PostgreSQL server found under \(root); install it with `apt-get install postgresql`")
    }

    /// Where the data folder goes: inside the project, unless the `postgres` user cannot reach it there
    /// (a project under `/root`, say), in which case a folder under /var/tmp named after the project.
    static func dataDirectory(home: DevHome, runAsUser: String?) -> String {
        let preferred = home.path + "/postgres"
        guard let runAsUser else { return preferred }
        if (try? Subprocess.run("/usr/bin/test", ["-x", home.path], asUser: runAsUser)) != nil { return preferred }
        return "/var/tmp/empmon-\(home.pathHash)/postgres"
    }

    var pid: Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first, let pid = Int32(first), Subprocess.isAlive(pid)
        else { return nil }
        return pid
    }

    /// The port a running server listens on, from its pid file (line 4), so a restart of `up` finds it.
    static func runningPort(dataDirectory: String) -> Int? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else {
            return nil
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3, let pid = Int32(lines[0]), Subprocess.isAlive(pid) else { return nil }
        return Int(lines[3])
    }

    var isInitialized: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") }

    func initialize() throws {
        try makeOwnedDirectory(dataDirectory, mode: 0o700)
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        }
        try chownToServerUser(logFile)
        try Subprocess.run(
            binDirectory + "/initdb",
            ["-D", dataDirectory, "-U", Self.user, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
            asUser: runAsUser)
    }

    func start() throws {
        let options = [
            "-c listen_addresses=127.0.0.1",
            "-p \(port)",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
        ].joined(separator: " ")
        try Subprocess.run(
            binDirectory + "/pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"],
            asUser: runAsUser)
    }

    func stop() throws {
        try Subprocess.run(
            binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"], asUser: runAsUser)
    }

    /// Creates the project database once the server accepts connections.
    func createDatabase() async throws {
        let admin = try await PostgresConnection.connect(url: "postgresql://\(Self.user)@127.0.0.1:\(port)/postgres")
        let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [Self.database])
        if exists.isEmpty {
            // Identifiers cannot be parameters; this one is a constant of ours, not input.
            try await admin.query("CREATE DATABASE \(Self.database)")
        }
    }

    private func makeOwnedDirectory(_ path: String, mode: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, mode_t(mode))
        try chownToServerUser(path)
        // The server user must be able to reach the folder through its parents.
        var parent = (path as NSString).deletingLastPathComponent
        while runAsUser != nil, parent.hasPrefix("/var/tmp/empmon-") {
            try chownToServerUser(parent)
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    private func chownToServerUser(_ path: String) throws {
        guard let runAsUser else { return }
        guard let account = getpwnam(runAsUser) else {
            throw DevStackError("no system user '\(runAsUser)'; install the postgresql package, which creates it")
        }
        guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
            throw DevStackError("cannot give \(path) to user \(runAsUser): \(String(cString: strerror(errno)))")
        }
    }
}
