import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The server did not report a bound port in time.
package struct LoopbackServerDidNotStart: Error, CustomStringConvertible {
    package var description: String { "the HTTP server did not start listening on 127.0.0.1 within 10 s" }
}

/// Serves `router` on a free port of 127.0.0.1 while `body` runs with that port, then stops the server: what the
/// benches and the tests need, where a fixed port could be taken.
package func withLoopbackServer<T: Sendable, Context: RequestContext>(
    _ router: Router<Context>, logger: Logger, _ body: (Int) async throws -> T
) async throws -> T where Context.Source == ApplicationRequestContextSource {
    let port = Mutex<Int?>(nil)
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService() }
        defer { group.cancelAll() }
        var waited = 0
        while port.withLock({ $0 }) == nil, waited < 400 {
            try await Task.sleep(for: .milliseconds(25))
            waited += 1
        }
        guard let bound = port.withLock({ $0 }) else { throw LoopbackServerDidNotStart() }
        return try await body(bound)
    }
}
