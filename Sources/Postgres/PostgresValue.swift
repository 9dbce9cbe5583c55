import Foundation

/// A Swift value that can be sent as a query parameter, in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The value's text form; nil sends SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be read from a result column in PostgreSQL's text format.
public protocol PostgresDecodable {
    init(postgresText: String) throws
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self }
    public init(postgresText: String) { self = postgresText }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText: String) throws { self = try decodeNumber(postgresText, as: Int.self) }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText: String) throws { self = try decodeNumber(postgresText, as: Int64.self) }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText: String) throws { self = try decodeNumber(postgresText, as: Int32.self) }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return String(self)
    }
    public init(postgresText: String) throws {
        switch postgresText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(postgresText) else {
                throw PostgresError(.decoding, "'\(postgresText.prefix(40))' is not a number")
            }
            self = value
        }
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self ? "t" : "f" }
    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresError(.decoding, "'\(postgresText.prefix(40))' is not a boolean")
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { uuidString.lowercased() }
    public init(postgresText: String) throws {
        guard let uuid = UUID(uuidString: postgresText) else {
            throw PostgresError(.decoding, "'\(postgresText.prefix(40))' is not a UUID")
        }
        self = uuid
    }
}

/// `bytea`, sent and read in hex format.
public struct PostgresBytes: PostgresEncodable, PostgresDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var postgresText: String? {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]("\\x".utf8)
        text.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public init(postgresText: String) throws {
        let utf8 = Array(postgresText.utf8)
        guard utf8.count % 2 == 0, utf8.starts(with: Array("\\x".utf8)) else {
            throw PostgresError(.decoding, "bytea value is not in hex format")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw PostgresError(.decoding, "bytea value has a non-hex digit")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2 - 1)
        var index = 2
        while index < utf8.count {
            bytes.append(try nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        self.bytes = bytes
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

private func decodeNumber<T: FixedWidthInteger>(_ text: String, as type: T.Type) throws -> T {
    guard let value = T(text) else { throw PostgresError(.decoding, "'\(text.prefix(40))' is not a \(T.self)") }
    return value
}

/// A one-dimensional array parameter (`$1::text[]`, `$1::date[]`, `$1::bpchar[]`, `$1::int[]` …) in PostgreSQL's
/// array literal form. Every element is double-quoted with its quotes and backslashes escaped, so an element
/// holding a comma, a brace, a quote or the word NULL stays one element with exactly that text.
public struct PostgresArray: PostgresEncodable {
    public let elements: [String]

    public init(_ elements: some Sequence<String>) { self.elements = Array(elements) }

    public init<Element: CustomStringConvertible>(describing elements: some Sequence<Element>) {
        self.elements = elements.map(\.description)
    }

    /// Built from UTF-8 bytes: a batch sends arrays of ~60,000 keys, and appending per Character cost a
    /// quarter of the processor's CPU.
    public var postgresText: String? {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(2 + elements.reduce(0) { $0 + $1.utf8.count + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
