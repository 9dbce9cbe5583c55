import Logging
import Synchronization

/// A small pool of connections to one server, for running work concurrently.
///
/// `withConnection` lends a connection for the duration of a closure; at most `maxConnections` exist at
/// once, and further callers wait their turn. A connection that broke is closed instead of returned.
public final class PostgresClient: Sendable {
    public let url: String
    public let maxConnections: Int
    private let logger: Logger
    private let state = Mutex(PoolState())

    private struct PoolState {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public init(url: String, maxConnections: Int = 4, logger: Logger = Logger(label: "empmon.postgres")) throws {
        _ = try PostgresURL.redact(url)
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.logger = logger
    }

    /// Lends a connection to `body` and takes it back afterwards.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let value = try await body(connection)
            await release(connection)
            return value
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on a pooled connection: committed when it returns, rolled back when it throws.
    public func withTransaction<T: Sendable>(
        isolation: TransactionIsolation = .readCommitted, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { try await $0.withTransaction(isolation: isolation, body) }
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            enum Next {
                case use(PostgresConnection)
                case open, wait
            }
            let next: Next = state.withLock { state in
                if let connection = state.idle.popLast() { return .use(connection) }
                if state.open < maxConnections {
                    state.open += 1
                    return .open
                }
                return .wait
            }
            switch next {
            case .use(let connection):
                return connection
            case .open:
                do {
                    return try await PostgresConnection.connect(url: url, logger: logger)
                } catch {
                    wakeOne { $0.open -= 1 }
                    throw error
                }
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state in
                        // Re-check under the lock: a connection may have come back meanwhile.
                        if !state.idle.isEmpty || state.open < maxConnections { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    private func release(_ connection: PostgresConnection) async {
        let healthy = await connection.isHealthy
        wakeOne { state in
            if healthy { state.idle.append(connection) } else { state.open -= 1 }
        }
    }

    private func wakeOne(after change: (inout PoolState) -> Void) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            change(&state)
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
