import Foundation

/// What an enrolled agent needs to work: written by `empmon agent enroll`, read by `empmon agent init`. It holds
/// no signing key: the agent makes its own.
package struct AgentCredentials: Codable, Sendable, Equatable {
    package init(
        agentID: String, unit: DivisionCode, name: String, secret: String? = nil, enrolmentCode: String? = nil,
        cityKey: String, kafkaBootstrap: String
    ) {
        self.agentID = agentID
        self.unit = unit
        self.name = name
        self.secret = secret
        self.enrolmentCode = enrolmentCode
        self.cityKey = cityKey
        self.kafkaBootstrap = kafkaBootstrap
    }

    package var agentID: String
    package var unit: DivisionCode
    package var name: String
    /// The HMAC signing secret of an agent enrolled before key pairs, base64; nil for every agent since.
    package var secret: String?
    /// The one-time code with which `agent init` announces the agent's first public key.
    package var enrolmentCode: String?
    /// The city's pseudonymization key, base64: the same for every agent, so one person has one key.
    package var cityKey: String
    package var kafkaBootstrap: String

    package var secretBytes: [UInt8]? { secret.map { Array(Data(base64Encoded: $0) ?? Data()) } }
    package var cityKeyBytes: [UInt8] { Array(Data(base64Encoded: cityKey) ?? Data()) }
}
