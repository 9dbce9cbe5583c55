import Foundation

/// How a client protects its connection to the brokers and proves who it is: librdkafka's `security.protocol`,
/// `sasl.*` and `ssl.*` settings as typed options. Plaintext unless the deployment says otherwise.
public struct KafkaSecurity: Sendable, Hashable {
    public enum SecurityProtocol: String, Sendable, CaseIterable {
        case plaintext = "PLAINTEXT"
        case ssl = "SSL"
        case saslPlaintext = "SASL_PLAINTEXT"
        case saslSSL = "SASL_SSL"
    }

    public enum SASLMechanism: String, Sendable, CaseIterable {
        case plain = "PLAIN"
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
    }

    public var securityProtocol: SecurityProtocol = .plaintext
    public var saslMechanism: SASLMechanism?
    public var saslUsername: String?
    public var saslPassword: String?
    /// The CA bundle that signed the brokers' certificates.
    public var caLocation: String?
    /// The client's own certificate and key, for mutual TLS.
    public var certificateLocation: String?
    public var keyLocation: String?
    public var keyPassword: String?
    /// Whether the broker's certificate must name the host connected to (`ssl.endpoint.identification.algorithm`).
    public var verifiesHostname = true

    public static let plaintext = KafkaSecurity()

    public init() {}

    /// Reads a librdkafka properties file (`Deploy/kafka/librdkafka-client.properties`): `key=value` lines, `#`
    /// comments, `${NAME}` replaced from `environment`, so that passwords stay out of the file. Every key must be one
    /// of the security settings above; anything else, a missing `=`, an unknown value or an unset variable is an
    /// error naming the line.
    public init(properties text: String, environment: [String: String], source: String) throws(KafkaSecurityError) {
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let location = "\(source):\(index + 1)"
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw KafkaSecurityError("\(location): expected key=value, found '\(trimmed)'")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            while let start = value.range(of: "${") {
                guard let end = value[start.upperBound...].firstIndex(of: "}") else {
                    throw KafkaSecurityError("\(location): '${' without '}'")
                }
                let name = String(value[start.upperBound..<end])
                guard let replacement = environment[name] else {
                    throw KafkaSecurityError("\(location): \(key) names ${\(name)}, which is not set")
                }
                value.replaceSubrange(start.lowerBound...end, with: replacement)
            }
            switch key {
            case "security.protocol":
                guard let parsed = SecurityProtocol(rawValue: value.uppercased()) else {
                    throw KafkaSecurityError(
                        "\(location): security.protocol '\(value)' is not one of \(SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                securityProtocol = parsed
            case "sasl.mechanism", "sasl.mechanisms":
                guard let parsed = SASLMechanism(rawValue: value.uppercased()) else {
                    throw KafkaSecurityError(
                        "\(location): \(key) '\(value)' is not one of \(SASLMechanism.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                saslMechanism = parsed
            case "sasl.username": saslUsername = value
            case "sasl.password": saslPassword = value
            case "ssl.ca.location": caLocation = value
            case "ssl.certificate.location": certificateLocation = value
            case "ssl.key.location": keyLocation = value
            case "ssl.key.password": keyPassword = value
            case "ssl.endpoint.identification.algorithm":
                guard ["https", "none"].contains(value.lowercased()) else {
                    throw KafkaSecurityError("\(location): \(key) is https or none, not '\(value)'")
                }
                verifiesHostname = value.lowercased() == "https"
            default:
                throw KafkaSecurityError(
                    "\(location): '\(key)' is not a security setting this file may hold (security.protocol, sasl.*, ssl.*)"
                )
            }
        }
    }

    /// The librdkafka properties these options stand for.
    var properties: [String: String] {
        var properties = ["security.protocol": securityProtocol.rawValue]
        properties["sasl.mechanisms"] = saslMechanism?.rawValue
        properties["sasl.username"] = saslUsername
        properties["sasl.password"] = saslPassword
        properties["ssl.ca.location"] = caLocation
        properties["ssl.certificate.location"] = certificateLocation
        properties["ssl.key.location"] = keyLocation
        properties["ssl.key.password"] = keyPassword
        if securityProtocol == .ssl || securityProtocol == .saslSSL {
            properties["ssl.endpoint.identification.algorithm"] = verifiesHostname ? "https" : "none"
        }
        return properties
    }
}

/// A security properties file that cannot be used, and where.
public struct KafkaSecurityError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where the brokers are and how to reach them safely: what every library that makes a Kafka client is handed.
public struct KafkaEndpoint: Sendable, Hashable {
    /// `host:port` pairs, comma separated.
    public var bootstrapServers: String
    public var security: KafkaSecurity

    public init(bootstrapServers: String, security: KafkaSecurity) {
        self.bootstrapServers = bootstrapServers
        self.security = security
    }
}
