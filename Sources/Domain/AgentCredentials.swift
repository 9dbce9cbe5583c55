import Foundation

/// What an enrolled agent needs to work: written by `empmon agent enroll`, read by `empmon agent init`.
package struct AgentCredentials: Codable, Sendable, Equatable {
    package init(
        agentID: String, unit: DivisionCode, name: String, secret: String, cityKey: String, kafkaBootstrap: String
    ) {
        self.agentID = agentID
        self.unit = unit
        self.name = name
        self.secret = secret
        self.cityKey = cityKey
        self.kafkaBootstrap = kafkaBootstrap
    }

    package var agentID: String
    package var unit: DivisionCode
    package var name: String
    /// The agent's signing secret, base64.
    package var secret: String
    /// The city's pseudonymization key, base64: the same for every agent, so one person has one key.
    package var cityKey: String
    package var kafkaBootstrap: String

    package var secretBytes: [UInt8] { Array(Data(base64Encoded: secret) ?? Data()) }
    package var cityKeyBytes: [UInt8] { Array(Data(base64Encoded: cityKey) ?? Data()) }
}
