/// Rows of a query result, decoded from text on demand.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: [String]
    let values: [[String?]]
    /// Rows changed by an INSERT, UPDATE, DELETE or COPY, from the command tag.
    public let affectedRows: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { values.count }
    public subscript(position: Int) -> PostgresRow { PostgresRow(columns: columns, values: values[position]) }

    /// Decodes every row into a tuple of the given types, in column order.
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws -> [(repeat each T)] {
        try map { try $0.decode(types) }
    }
}

/// One row of a result.
public struct PostgresRow: Sendable {
    public let columns: [String]
    @usableFromInline let values: [String?]

    /// The raw text of a column, nil for SQL NULL.
    public func text(at index: Int) -> String? { values[index] }

    // Inlinable so that callers decoding many cells get it specialized for their type, not a generic call each.
    @inlinable
    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws -> T {
        guard index < values.count else {
            throw PostgresError(.decoding, "no column \(index); the row has \(values.count)")
        }
        guard let text = values[index] else {
            if let null = (T.self as? any PostgresNullable.Type)?.postgresNull as? T { return null }
            throw PostgresError(.decoding, "column \(columns[index]) is NULL; decode it as an Optional")
        }
        do {
            return try T(postgresText: text)
        } catch let error as PostgresError {
            throw PostgresError(.decoding, "column \(columns[index]): \(error.message)")
        }
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type, column: String) throws -> T {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError(.decoding, "no column named \(column)")
        }
        return try decode(type, at: index)
    }

    /// Decodes the row into a tuple of the given types, in column order.
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws -> (repeat each T) {
        var index = 0
        func next<U: PostgresDecodable>(_ type: U.Type) throws -> U {
            defer { index += 1 }
            return try decode(type, at: index)
        }
        return (repeat try next((each T).self))
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText: String) throws { self = try Wrapped(postgresText: postgresText) }
}

/// Lets decoding return nil for SQL NULL when the requested type is an Optional.
@usableFromInline
protocol PostgresNullable {
    static var postgresNull: Self { get }
}

extension Optional: PostgresNullable {
    @usableFromInline static var postgresNull: Self { nil }
}
