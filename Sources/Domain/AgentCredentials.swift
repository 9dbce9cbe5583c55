import Foundation

/// What an enrolled agent needs to work: written by `empmon agent enroll`, read by `empmon agent init`.
public struct AgentCredentials: Codable, Sendable, Equatable {
    public init(agentID: String, unit: DivisionCode, name: String, secret: String, cityKey: String, kafkaBootstrap: String) {
        self.agentID = agentID
        self.unit = unit
        self.name = name
        self.secret = secret
        self.cityKey = cityKey
        self.kafkaBootstrap = kafkaBootstrap
    }

    public var agentID: String
    public var unit: DivisionCode
    public var name: String
    /// The agent's signing secret, base64.
    public var secret: String
    /// The city's pseudonymization key, base64: the same for every agent, so one person has one key.
    public var cityKey: String
    public var kafkaBootstrap: String

    public var secretBytes: [UInt8] { Array(Data(base64Encoded: secret) ?? Data()) }
    public var cityKeyBytes: [UInt8] { Array(Data(base64Encoded: cityKey) ?? Data()) }
}

