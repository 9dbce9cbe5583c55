import CLibPQ
import Dispatch
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One connection to PostgreSQL over libpq.
///
/// Every call runs on the connection's own serial queue, so libpq's blocking calls never occupy Swift's
/// cooperative threads, and calls from several tasks are serialized rather than interleaved. Values are
/// only ever sent as parameters (`$1`, `$2`, …), never spliced into SQL text.
public final class PostgresConnection: @unchecked Sendable {
    // `@unchecked Sendable`: `connection` is touched only on `queue` (and in deinit, when no call can be running).
    private let connection: OpaquePointer
    private let queue: DispatchQueue
    private let logger: Logger
    private let noticeSink: NoticeSink
    /// The URL with its password masked, for messages.
    public let redactedURL: String

    /// How every connection notices a network that went silent, unless its URL says otherwise. Without these a
    /// blackholed server leaves a statement waiting for hours (the kernel's retransmission timeout): with them a
    /// connection is declared lost after ~25 s without an answer to keepalives while idle, 20 s with data unacknowledged,
    /// or 10 s without completing a connect; the caller's retry then reconnects.
    public static let networkDefaults: KeyValuePairs<String, String> = [
        "keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3",
        "tcp_user_timeout": "20000", "connect_timeout": "10",
    ]

    /// Connects to the server named by a `postgresql://user:password@host:port/database?…` URL (or a
    /// libpq `key=value` string). `networkDefaults` apply where the URL sets nothing else.
    public static func connect(url: String, logger: Logger = Logger(label: "empmon.postgres")) async throws
        -> PostgresConnection
    {
        let redacted = try PostgresURL.redact(url)
        let queue = DispatchQueue(label: "empmon.postgres.connection")
        let connection: OpaquePointer = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                // The defaults come before `dbname`, which libpq expands from the URL: what the URL sets overrides them.
                // Both lists end with a null, as libpq expects.
                let keywords: [String?] = networkDefaults.map(\.key) + ["dbname", nil]
                let values: [String?] = networkDefaults.map(\.value) + [url, nil]
                let opened = withCStrings(keywords) { keys in
                    withCStrings(values) { values in
                        PQconnectdbParams(keys.baseAddress, values.baseAddress, 1)
                    }
                }
                guard let connection = opened else {
                    continuation.resume(throwing: PostgresError(.connection, "libpq could not allocate a connection"))
                    return
                }
                if PQstatus(connection) != CONNECTION_OK {
                    let reason = libpqMessage(connection)
                    PQfinish(connection)
                    continuation.resume(
                        throwing: PostgresError(
                            .connection, "cannot connect to \(redacted): \(reason)\(tlsHint(for: reason))"))
                    return
                }
                continuation.resume(returning: UnsafeSendable(connection).value)
            }
        }
        return PostgresConnection(connection: connection, queue: queue, logger: logger, redactedURL: redacted)
    }

    /// libpq says only "certificate verify failed", whatever OpenSSL found; say what an operator can check.
    private static func tlsHint(for reason: String) -> String {
        guard reason.contains("certificate verify failed") else { return "" }
        return " (the server's certificate does not chain to the CA in sslrootcert, or a certificate in the chain "
            + "has expired or is not yet valid: compare them with `openssl verify -CAfile <sslrootcert> <server.crt>`)"
    }

    private init(connection: OpaquePointer, queue: DispatchQueue, logger: Logger, redactedURL: String) {
        self.connection = connection
        self.queue = queue
        self.logger = logger
        self.redactedURL = redactedURL
        // Server notices (e.g. "relation already exists, skipping") go to the log at debug, not to stderr. The sink
        // lives as long as the connection, which libpq calls it from.
        noticeSink = NoticeSink(logger: logger)
        PQsetNoticeProcessor(
            connection,
            { sink, message in
                guard let sink, let message else { return }
                let notice = String(cString: message).split(separator: "\n").joined(separator: " ")
                Unmanaged<NoticeSink>.fromOpaque(sink).takeUnretainedValue().logger.debug(
                    "server notice", metadata: ["db.notice": "\(notice)"])
            }, Unmanaged.passUnretained(noticeSink).toOpaque())
    }

    deinit {
        PQfinish(connection)
    }

    /// False once the server has gone away or the connection broke.
    public var isHealthy: Bool {
        get async { await run { PQstatus($0) == CONNECTION_OK } }
    }

    /// Runs a statement with parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        let texts = parameters.map(\.postgresText)
        return try await runThrowing { connection in
            let result = withCStrings(texts) { pointers in
                PQexecParams(connection, sql, Int32(pointers.count), nil, pointers.baseAddress, nil, nil, 0)
            }
            return try collect(result, connection: connection, statement: sql)
        }
    }

    /// Runs one or more statements separated by semicolons, without parameters (for migrations and DDL).
    public func execute(script sql: String) async throws {
        try await runThrowing { connection in
            var result = PQexec(connection, sql)
            // A multi-statement string yields one result per statement; the last one tells the outcome.
            while let current = result {
                _ = try collect(current, connection: connection, statement: sql)
                result = PQgetResult(connection)
            }
        }
    }

    /// Streams the rows of a query one at a time (libpq single-row mode), so memory does not grow with
    /// the result. `body` runs on the connection's queue.
    public func forEachRow(
        _ sql: String, _ parameters: [any PostgresEncodable] = [],
        _ body: @escaping @Sendable (PostgresRow) throws -> Void
    ) async throws {
        let texts = parameters.map(\.postgresText)
        try await runThrowing { connection in
            let sent = withCStrings(texts) { pointers in
                PQsendQueryParams(connection, sql, Int32(pointers.count), nil, pointers.baseAddress, nil, nil, 0)
            }
            guard sent == 1 else { throw PostgresError(.connection, libpqMessage(connection), statement: sql) }
            PQsetSingleRowMode(connection)
            var failure: (any Error)?
            while let result = PQgetResult(connection) {
                defer { PQclear(result) }
                // After a failure keep draining, so the connection is ready for the next statement.
                guard failure == nil else { continue }
                switch PQresultStatus(result) {
                case PGRES_SINGLE_TUPLE:
                    do { try body(PostgresRow(columns: columnNames(result), values: rowValues(result, row: 0))) } catch
                    {
                        failure = error
                        PQrequestCancel(connection)
                    }
                case PGRES_TUPLES_OK, PGRES_COMMAND_OK: break
                default: failure = serverError(result, connection: connection, statement: sql)
                }
            }
            if let failure { throw failure }
        }
    }

    /// Bulk-loads rows with `COPY … FROM STDIN` in text format. `fill` appends the rows to the writer and
    /// runs on the connection's queue; if it throws, the COPY is aborted and nothing is loaded.
    /// Returns the number of rows loaded.
    @discardableResult
    public func copyIn(_ copyStatement: String, _ fill: @escaping @Sendable (inout PostgresCopyWriter) throws -> Void)
        async throws -> Int
    {
        try await runThrowing { connection in
            try Self.startCopy(copyStatement, binary: false, on: connection)
            var writer = PostgresCopyWriter(send: Self.sender(copyStatement, on: connection))
            let fillError = Self.capture {
                try fill(&writer)
                try writer.flush()
            }
            return try Self.endCopy(copyStatement, failure: fillError, rows: writer.rowCount, on: connection)
        }
    }

    /// Bulk-loads rows with `COPY … FROM STDIN (FORMAT binary)`: as `copyIn`, each field written in the
    /// column type's binary form, which the server stores without parsing text.
    @discardableResult
    public func copyInBinary(
        _ copyStatement: String, _ fill: @escaping @Sendable (inout PostgresBinaryCopyWriter) throws -> Void
    ) async throws -> Int {
        try await runThrowing { connection in
            try Self.startCopy(copyStatement, binary: true, on: connection)
            var writer = PostgresBinaryCopyWriter(send: Self.sender(copyStatement, on: connection))
            let fillError = Self.capture {
                try fill(&writer)
                try writer.finish()
            }
            return try Self.endCopy(copyStatement, failure: fillError, rows: writer.rowCount, on: connection)
        }
    }

    private static func startCopy(_ copyStatement: String, binary: Bool, on connection: OpaquePointer) throws {
        guard let start = PQexec(connection, copyStatement) else {
            throw PostgresError(.connection, libpqMessage(connection), statement: copyStatement)
        }
        defer { PQclear(start) }
        let status = PQresultStatus(start)
        if status == PGRES_FATAL_ERROR { throw serverError(start, connection: connection, statement: copyStatement) }
        guard status == PGRES_COPY_IN else {
            throw PostgresError(.usage, "copyIn needs a COPY … FROM STDIN statement", statement: copyStatement)
        }
        if (PQbinaryTuples(start) == 1) != binary {
            // The server now waits for data in a format the writer does not produce: end the COPY first.
            PQputCopyEnd(connection, "the client's format does not match the statement's")
            while let result = PQgetResult(connection) { PQclear(result) }
            throw PostgresError(
                .usage,
                binary
                    ? "copyInBinary needs COPY … FROM STDIN (FORMAT binary)"
                    : "copyIn writes the text format; use copyInBinary for FORMAT binary",
                statement: copyStatement)
        }
    }

    private static func sender(_ copyStatement: String, on connection: OpaquePointer) -> ([UInt8]) throws -> Void {
        { chunk in
            let sent = chunk.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    PQputCopyData(connection, $0.baseAddress, Int32($0.count))
                }
            }
            if sent != 1 { throw PostgresError(.connection, libpqMessage(connection), statement: copyStatement) }
        }
    }

    private static func capture(_ body: () throws -> Void) -> (any Error)? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    private static func endCopy(_ copyStatement: String, failure: (any Error)?, rows: Int, on connection: OpaquePointer)
        throws -> Int
    {
        PQputCopyEnd(connection, failure == nil ? nil : "aborted by the client")
        var serverFailure: PostgresError?
        var affected = 0
        while let result = PQgetResult(connection) {
            defer { PQclear(result) }
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                affected = Int(String(cString: PQcmdTuples(result))) ?? rows
            } else if serverFailure == nil {
                serverFailure = serverError(result, connection: connection, statement: copyStatement)
            }
        }
        if let failure { throw failure }
        if let serverFailure { throw serverFailure }
        return affected
    }

    /// Runs `body` inside a transaction: committed when it returns, rolled back when it throws.
    public func withTransaction<T: Sendable>(
        isolation: TransactionIsolation = .readCommitted, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await query("BEGIN ISOLATION LEVEL \(isolation.sql)")
        let value: T
        do {
            value = try await body(self)
        } catch {
            do { try await query("ROLLBACK") } catch let rollbackError {
                logger.warning("rollback failed", metadata: ["db.error": "\(rollbackError)"])
            }
            throw error
        }
        try await query("COMMIT")
        return value
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body(self.connection)) }
        }
    }

    private func runThrowing<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self.connection) }) }
        }
    }
}

public enum TransactionIsolation: Sendable {
    case readCommitted, repeatableRead, serializable

    var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

/// Carries a C pointer across a continuation; safe because the value is handed over, never shared.
private struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

func libpqMessage(_ connection: OpaquePointer) -> String {
    guard let message = PQerrorMessage(connection) else { return "unknown libpq error" }
    return String(cString: message).trimmingTrailingNewlines()
}

private func withCStrings<R>(_ texts: [String?], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) throws -> R)
    rethrows
    -> R
{
    let copies: [UnsafeMutablePointer<CChar>?] = texts.map { $0.flatMap { strdup($0) } }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { $0.map { UnsafePointer($0) } }
    return try pointers.withUnsafeBufferPointer(body)
}

private func columnNames(_ result: OpaquePointer) -> [String] {
    (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
}

private func rowValues(_ result: OpaquePointer, row: Int32) -> [String?] {
    (0..<PQnfields(result)).map { column in
        PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
    }
}

/// Turns a result into rows or an error, and frees it.
private func collect(_ result: OpaquePointer?, connection: OpaquePointer, statement: String) throws -> PostgresRows {
    guard let result else { throw PostgresError(.connection, libpqMessage(connection), statement: statement) }
    defer { PQclear(result) }
    switch PQresultStatus(result) {
    case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
        return PostgresRows(columns: [], values: [], affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
    case PGRES_TUPLES_OK:
        let values = (0..<PQntuples(result)).map { rowValues(result, row: $0) }
        return PostgresRows(columns: columnNames(result), values: values, affectedRows: values.count)
    case PGRES_COPY_IN, PGRES_COPY_OUT:
        throw PostgresError(.usage, "COPY statements go through copyIn", statement: statement)
    default:
        throw serverError(result, connection: connection, statement: statement)
    }
}

private func serverError(_ result: OpaquePointer, connection: OpaquePointer, statement: String) -> PostgresError {
    func field(_ code: Character) -> String? {
        PQresultErrorField(result, Int32(code.asciiValue ?? 0)).map { String(cString: $0) }
    }
    let sqlState = field("C")
    let message = field("M") ?? libpqMessage(connection)
    let lost = PQstatus(connection) != CONNECTION_OK
    return PostgresError(
        lost && sqlState == nil ? .connection : .server, message, sqlState: sqlState, detail: field("D"),
        hint: field("H"), statement: statement)
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}

/// Where libpq's notice processor finds the connection's logger.
private final class NoticeSink: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}
