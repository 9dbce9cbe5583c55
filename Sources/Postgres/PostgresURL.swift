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
        PQconninfoFree(options)
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            return url.replacing(/password\s*=\s*('[^']*'|\S+)/, with: "password=***")
        }
        return url.replacing(/:\/\/([^:@\/]*):[^@\/]*@/) { match in "://\(match.output.1):***@" }
    }
}
