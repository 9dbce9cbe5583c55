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
    /// TLS and a SCRAM password, when the stack was set up with `dev up --secure`.
    let security: Security?

    /// What a secure instance needs: the superuser's password and the CA that signed the server's certificate.
    struct Security {
        let password: String
        let caFile: String
        /// The server's certificate, issued when the data folder is made; copied into it for the server's user.
        let serverCertificate: () throws -> ServerCertificate
    }

    static let database = "empmon"
    static let user = "empmon"

    var url: String { url(database: Self.database) }

    /// Over TLS with the host's name checked against the certificate (`verify-full`) when secure.
    func url(database: String) -> String {
        guard let security else { return "postgresql://\(Self.user)@127.0.0.1:\(port)/\(database)" }
        return "postgresql://\(Self.user):\(security.password)@127.0.0.1:\(port)/\(database)"
            + "?sslmode=verify-full&sslrootcert=\(Self.queryValue(security.caFile))"
    }

    /// A path as a URI query value: a home folder with a space, `&` or `#` in its name must not end the value
    /// (libpq percent-decodes it).
    static func queryValue(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: unreserved) ?? path
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-._~")

    /// Whether the data folder was made secure: its certificate is there.
    static func isSecure(dataDirectory: String) -> Bool {
        FileManager.default.fileExists(atPath: dataDirectory + "/server.crt")
    }

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
        var arguments = ["-D", dataDirectory, "-U", Self.user, "-E", "UTF8", "--locale=C.UTF-8"]
        let passwordFile = (dataDirectory as NSString).deletingLastPathComponent + "/initdb.password"
        if let security {
            try ServerCertificate.writePrivate(security.password + "\n", to: passwordFile)
            try chownToServerUser(passwordFile)
            arguments += ["--auth=scram-sha-256", "--pwfile=\(passwordFile)"]
        } else {
            arguments += ["--auth=trust"]
        }
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        try Subprocess.run(binDirectory + "/initdb", arguments, asUser: runAsUser)
        if let security { try installTLS(security) }
    }

    /// The server's certificate and key in the data folder, and a pg_hba.conf that lets nobody in without TLS
    /// and a SCRAM password.
    private func installTLS(_ security: Security) throws {
        try security.serverCertificate().write(to: dataDirectory, name: "server")
        let rules = """
            # Written by empmon dev up --secure: TLS and a SCRAM password, or nothing.
            hostssl all all 127.0.0.1/32 scram-sha-256
            hostnossl all all 127.0.0.1/32 reject

            """
        try Data(rules.utf8).write(to: URL(fileURLWithPath: dataDirectory + "/pg_hba.conf"))
        for file in ["server.crt", "server.key", "pg_hba.conf"] { try chownToServerUser(dataDirectory + "/" + file) }
    }

    func start() throws {
        let settings: [String] =
            [
                "-c listen_addresses=127.0.0.1",
                "-p \(port)",
                "-c unix_socket_directories=''",
                "-c max_connections=200",
                "-c shared_buffers=256MB",
            ] + (security == nil ? [] : ["-c ssl=on", "-c ssl_cert_file=server.crt", "-c ssl_key_file=server.key"])
        let options = settings.joined(separator: " ")
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
        let admin = try await PostgresConnection.connect(url: url(database: "postgres"))
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
