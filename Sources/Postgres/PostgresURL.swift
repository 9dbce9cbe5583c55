import CLibPQ

/// Checks connection strings before libpq uses them, and masks their passwords for messages.
public enum PostgresURL {
    /// Returns the connection string with any password replaced by `***`, or throws if libpq cannot parse it.
    public static func redact(_ url: String) throws -> String {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0).trimmingTrailingNewlines() } ?? "cannot be parsed"
            if let errorMessage { PQfreemem(errorMessage) }
            // The reason from libpq never repeats the password; the URL itself is not echoed for that reason.
            throw PostgresError(.invalidURL, reason)
        }
        defer { PQconninfoFree(options) }
        // libpq parses any port text and only complains when connecting; say so before trying.
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "port", let value = option.pointee.val {
                let port = String(cString: value)
                let valid = port.split(separator: ",").allSatisfy { UInt16($0) != nil && $0 != "0" }
                if !valid { throw PostgresError(.invalidURL, "port '\(port)' is not a number from 1 to 65535") }
            }
            option += 1
        }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            return url.replacing(/password\s*=\s*('[^']*'|\S+)/, with: "password=***")
        }
        return url.replacing(/:\/\/([^:@\/]*):[^@\/]*@/) { match in "://\(match.output.1):***@" }
    }
}

extension PostgresURL {
    /// The same server, user and options, another database; nil when the URL has no database path.
    public static func replacingDatabase(of url: String, with database: String) -> String? {
        let query = url.firstIndex(of: "?")
        let beforeQuery = url[..<(query ?? url.endIndex)]
        let parts = beforeQuery.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        // scheme:, "", authority, database: the slash before the database ends the authority.
        guard parts.count == 4, parts[0].hasSuffix(":"), parts[1].isEmpty else { return nil }
        let slash = beforeQuery.index(parts[3].startIndex, offsetBy: -1)
        return String(url[...slash]) + database + (query.map { String(url[$0...]) } ?? "")
    }
}
