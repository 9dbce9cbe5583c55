/// An error from the PostgreSQL layer.
///
/// `description` names the kind, the SQLSTATE and the server's primary message only, so that it can go
/// into logs and HTTP responses; the detail, hint and statement are in `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The connection URL or options could not be understood.
        public static let invalidURL = Kind("invalid connection URL")
        /// No connection could be made, or it was lost.
        public static let connection = Kind("connection")
        /// The server rejected a statement.
        public static let server = Kind("server")
        /// A value could not be decoded into the requested Swift type.
        public static let decoding = Kind("decoding")
        /// The API was used in a way that cannot work (e.g. a COPY statement passed to `query`).
        public static let usage = Kind("usage")
        /// A migration's recorded checksum no longer matches its text.
        public static let migration = Kind("migration")
    }

    public let kind: Kind
    /// Five-character SQLSTATE, e.g. `23505` for a unique violation, when the server sent one.
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    /// The statement that failed, kept for debugging only.
    public let statement: String?

    public init(
        _ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
        statement: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.statement = statement
    }

    public var description: String {
        "PostgreSQL \(kind) error" + (sqlState.map { " \($0)" } ?? "") + ": \(message)"
    }

    public var debugDescription: String {
        var text = description
        if let detail { text += "\n  detail: \(detail)" }
        if let hint { text += "\n  hint: \(hint)" }
        if let statement { text += "\n  statement: \(statement)" }
        return text
    }

    /// Errors after which the connection cannot be trusted and must be replaced.
    public var isConnectionLost: Bool {
        kind == .connection || sqlState.map { $0.hasPrefix("08") || $0 == "57P01" } == true
    }

    /// Errors that the same statement will meet again however often it is retried, until somebody changes
    /// the grants, the schema or the configuration: SQLSTATE classes 28 (authorization), 3D and 3F (no such
    /// database or schema), and no privilege, no such table, column, function or object. (Not the rest of
    /// class 42: a table that already exists, say, can be a race that a retry does mend.)
    public var needsOperator: Bool {
        guard let sqlState, !isConnectionLost else { return false }
        return ["28", "3D", "3F"].contains(String(sqlState.prefix(2)))
            || ["42501", "42P01", "42703", "42883", "42704"].contains(sqlState)
    }

    /// Failures that a retry can mend, and the only ones a long-running worker should retry: the connection lost
    /// (class 08, or the server shutting down or restarting: 57P01–57P03), a serialization failure or deadlock
    /// (40001, 40P01), a lack of resources (class 53, such as too many connections), a lock not available (55P03),
    /// a statement cancelled by its `statement_timeout` (57014: the server or the network stalled),
    /// and a table created meanwhile by a racing member (42P07). Anything else (a constraint violated, a stored row
    /// that cannot be decoded, a missing grant) will happen again on every retry.
    public var isTransient: Bool {
        if isConnectionLost { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("53")
            || ["40001", "40P01", "57P02", "57P03", "55P03", "42P07", "57014"].contains(sqlState)
    }

    public static let uniqueViolation = "23505"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"
}
