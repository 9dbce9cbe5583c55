/// Collects rows for `COPY … FROM STDIN` in PostgreSQL's text format and sends them in large chunks.
public struct PostgresCopyWriter {
    private var buffer: [UInt8] = []
    private let send: ([UInt8]) throws -> Void
    private let chunkSize = 1 << 20
    public private(set) var rowCount = 0

    init(send: @escaping ([UInt8]) throws -> Void) {
        self.send = send
        buffer.reserveCapacity(chunkSize + 4096)
    }

    /// Appends one row; nil values are NULL. The column count must match the COPY statement's.
    public mutating func append(_ values: [(any PostgresEncodable)?]) throws {
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            if let text = value?.postgresText {
                Self.appendEscaped(text, to: &buffer)
            } else {
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "N"))
            }
        }
        buffer.append(UInt8(ascii: "\n"))
        rowCount += 1
        if buffer.count >= chunkSize { try flush() }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try send(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Backslash, tab, newline and carriage return are the characters the text format gives meaning to.
    static func appendEscaped(_ text: String, to buffer: inout [UInt8]) {
        for byte in text.utf8 {
            let escaped: UInt8
            switch byte {
            case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
            default:
                buffer.append(byte)
                continue
            }
            buffer.append(UInt8(ascii: "\\"))
            buffer.append(escaped)
        }
    }
}
