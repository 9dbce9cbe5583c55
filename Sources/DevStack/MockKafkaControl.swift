import Foundation
import Kafka

#if canImport(Glibc)
    import Glibc
#endif

/// A line protocol on a Unix socket through which other processes steer the dev stack's mock Kafka
/// cluster: create topics (the mock does not answer CreateTopics), take brokers down and up.
///
/// Requests: `ping`, `create-topic NAME PARTITIONS [REPLICATION]`, `broker-down ID`, `broker-up ID`.
/// Each answer is one line starting with `ok` or `error`.
package enum MockKafkaControl {
    /// Sends one request to the control socket and returns the answer, throwing on `error`.
    @discardableResult
    package static func send(_ request: String, socketPath: String) throws -> String {
        let fd = try connectUnixSocket(socketPath)
        defer { close(fd) }
        let line = Array((request + "\n").utf8)
        guard write(fd, line, line.count) == line.count else {
            throw DevStackError("cannot write to the mock Kafka control socket \(socketPath)")
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
            if answer.last == UInt8(ascii: "\n") { break }
        }
        let text = String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("ok") else {
            throw DevStackError("mock Kafka refused `\(request)`: \(text.isEmpty ? "no answer" : text)")
        }
        return text
    }

    /// Answers one request against the cluster.
    static func handle(_ request: String, cluster: MockKafkaCluster) -> String {
        let words = request.split(separator: " ").map(String.init)
        do {
            switch (words.first, words.count) {
            case ("ping", _):
                return "ok \(cluster.bootstrapServers)"
            case ("create-topic", 3...4):
                guard let partitions = Int32(words[2]), partitions > 0 else {
                    return "error partitions must be a positive number"
                }
                let replication = words.count == 4 ? Int32(words[3]) ?? 1 : 1
                try cluster.createTopic(words[1], partitions: partitions, replicationFactor: replication)
                return "ok created \(words[1]) with \(partitions) partitions"
            case ("broker-down", 2), ("broker-up", 2):
                guard let id = Int32(words[1]) else { return "error broker id must be a number" }
                if words[0] == "broker-down" { try cluster.setBrokerDown(id) } else { try cluster.setBrokerUp(id) }
                return "ok \(words[0]) \(id)"
            default:
                return
                    "error unknown request; use ping, create-topic NAME PARTITIONS [REPLICATION], broker-down ID, broker-up ID"
            }
        } catch {
            return "error \(error)"
        }
    }

    /// Serves the control socket on a dedicated thread until the process ends.
    static func serve(cluster: MockKafkaCluster, socketPath: String) throws {
        unlink(socketPath)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DevStackError("cannot create the control socket") }
        var address = try unixAddress(socketPath)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw DevStackError("cannot listen on \(socketPath): \(String(cString: strerror(errno)))")
        }
        let listener = fd
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { continue }
                var request: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 512)
                while request.count < 4096 {
                    let count = read(client, &buffer, buffer.count)
                    if count <= 0 { break }
                    request += buffer[0..<count]
                    if request.contains(UInt8(ascii: "\n")) { break }
                }
                let line = String(decoding: request, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let answer = Array((handle(line, cluster: cluster) + "\n").utf8)
                _ = write(client, answer, answer.count)
                close(client)
            }
        }
    }

    private static func connectUnixSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DevStackError("cannot create a socket") }
        var address = try unixAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw DevStackError("the mock Kafka cluster is not answering on \(path); is `empmon dev up` running?")
        }
        return fd
    }

    private static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw DevStackError("socket path \(path) is longer than the \(capacity - 1) bytes a Unix socket allows")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }
}
