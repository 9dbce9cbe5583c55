import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Small helpers for the processes the dev stack runs; all on loopback, all by pid.
enum Subprocess {
    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "`\(command)` exited with status \(status): \(output.suffix(2000))" }
    }

    /// Runs a program to completion and returns what it printed (stdout and stderr together).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], asUser user: String? = nil) throws -> String {
        var executable = executable
        var arguments = arguments
        if let user {
            arguments = ["-u", user, "--", executable] + arguments
            executable = "/usr/sbin/runuser"
        }
        let (status, output) = try ChildProcess.run(executable, arguments)
        guard status == 0 else {
            throw Failure(command: ([executable] + arguments).joined(separator: " "), status: status, output: output)
        }
        return output
    }

    /// Starts a program in its own session, detached from this one, with output to `logFile`; returns its pid.
    static func spawnDetached(_ executable: String, _ arguments: [String], logFile: String) throws -> Int32 {
        try spawn(executable, arguments, outputFile: logFile, newSession: true)
    }

    static func spawn(
        _ executable: String, _ arguments: [String], outputFile: String, newSession: Bool,
        environment: [String: String]? = nil
    ) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID: a detached child outlives this command and its terminal.
        if newSession { posix_spawnattr_setflags(&attributes, Int16(0x80)) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map {
            $0.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { for pointer in envp ?? [] { free(pointer) } }
        let status: Int32
        if var envp {
            status = posix_spawn(&pid, executable, &actions, &attributes, argv, &envp)
        } else {
            status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        }
        guard status == 0 else {
            throw DevStackError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return pid
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 { return errno == EPERM }
        // A zombie has exited; it only waits for its parent to reap it.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }

    /// The command line of a running process, to make sure a pid from a file is still the process we started.
    static func commandLine(of pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DevStackError("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw DevStackError("cannot bind a socket on 127.0.0.1 to find a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Path of the running executable.
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Runs a program and waits for it, with posix_spawn and waitpid rather than Foundation's Process, whose
/// exit detection was seen here to miss children that had exited (left defunct, the wait never returning).
package enum ChildProcess {
    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    package static func freeLoopbackPort() throws -> Int { try Subprocess.freeLoopbackPort() }

    /// Path of the running executable, to start another copy of it.
    package static var currentExecutable: String { Subprocess.currentExecutable }

    /// Starts a program in the background with output appended to `logFile`; returns its pid, for the
    /// caller to wait for or kill.
    package static func start(
        _ executable: String, _ arguments: [String], logFile: String, environment: [String: String]? = nil
    )
        throws -> Int32
    {
        try Subprocess.spawn(executable, arguments, outputFile: logFile, newSession: false, environment: environment)
    }

    /// Waits for a child started with `start`; returns its exit status (128 + signal when killed).
    package static func wait(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 { if errno != EINTR { return -1 } }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits at most `timeout` for a child started with `start`; returns its exit status, or nil after killing
    /// it when it was still running then.
    package static func wait(_ pid: Int32, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if result < 0 && errno != EINTR { return -1 }
            try? await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGKILL)
        _ = wait(pid)
        return nil
    }

    /// Waits for a child started with `start`; returns its exit status and its peak resident memory, for
    /// benchmarks that measure each process. The peak is the child's own VmHWM, read every 100 ms while it
    /// runs (wait4's ru_maxrss would not do: across posix_spawn's exec it keeps the parent's peak).
    package static func waitMeasuringMemory(_ pid: Int32) async -> (status: Int32, peakMemoryMiB: Double) {
        var peak = 0.0
        while let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        {
            peak = max(peak, kib / 1024)
            try? await Task.sleep(for: .milliseconds(100))
        }
        return (wait(pid), peak)
    }

    /// Returns the exit status (128 + signal number when killed by a signal) and everything it printed.
    package static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
        -> (status: Int32, output: String)
    {
        var template = Array("/tmp/empmon-run-XXXXXX".utf8CString)
        let outputFD = mkstemp(&template)
        guard outputFD >= 0 else { throw DevStackError("cannot create a temporary file for \(executable)'s output") }
        let outputPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        close(outputFD)
        defer { unlink(outputPath) }
        let pid = try Subprocess.spawn(
            executable, arguments, outputFile: outputPath, newSession: false, environment: environment)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                throw DevStackError("lost track of \(executable): \(String(cString: strerror(errno)))")
            }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, output)
    }
}
