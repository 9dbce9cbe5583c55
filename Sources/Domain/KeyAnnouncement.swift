import Crypto

/// An agent telling the city its new public key. Sent at enrolment, proved by the one-time enrolment code the
/// operator gave with the agent's enrolment file (the city keeps only the code's SHA-256), and at rotation,
/// signed by the key it replaces (or, for an agent moving off HMAC, by its secret).
package struct KeyAnnouncement: Sendable, Equatable {
    package enum Proof: Sendable, Equatable {
        case enrolmentCode(String)
        case previousKey(keyID: String, signature: [UInt8])
        case hmac(signature: [UInt8])
    }

    package var recordID: RecordID
    package var agentID: String
    package var publicKey: AgentPublicKey
    package var announcedAtMilliseconds: Int64
    package var proof: Proof

    package init(
        recordID: RecordID, agentID: String, publicKey: AgentPublicKey, announcedAtMilliseconds: Int64, proof: Proof
    ) {
        self.recordID = recordID
        self.agentID = agentID
        self.publicKey = publicKey
        self.announcedAtMilliseconds = announcedAtMilliseconds
        self.proof = proof
    }

    /// An announcement of `next`, signed by `current`.
    package static func rotation(
        to next: AgentSigningKey, from current: AgentSigningKey, agentID: String, at milliseconds: Int64
    ) -> KeyAnnouncement {
        var announcement = KeyAnnouncement(
            recordID: .random(), agentID: agentID, publicKey: next.publicKey, announcedAtMilliseconds: milliseconds,
            proof: .previousKey(keyID: current.keyID, signature: []))
        announcement.proof = .previousKey(
            keyID: current.keyID, signature: current.signature(for: CanonicalBytes.of(announcement)))
        return announcement
    }

    /// An agent on HMAC moving to `next`, signed with its secret.
    package static func leavingHMAC(
        to next: AgentSigningKey, signer: RecordSigner, agentID: String, at milliseconds: Int64
    ) -> KeyAnnouncement {
        var announcement = KeyAnnouncement(
            recordID: .random(), agentID: agentID, publicKey: next.publicKey, announcedAtMilliseconds: milliseconds,
            proof: .hmac(signature: []))
        announcement.proof = .hmac(signature: signer.code(for: announcement))
        return announcement
    }
}

/// The one-time code an operator hands an agent with its enrolment file. The city keeps only its SHA-256.
package enum EnrolmentCode {
    /// 20 characters a clerk can read aloud and type (no 0/O or 1/I/L), in groups of five: 98 bits.
    package static func make() -> String {
        let alphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
        var generator = SystemRandomNumberGenerator()
        let characters = (0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return stride(from: 0, to: 20, by: 5).map { String(characters[$0..<$0 + 5]) }.joined(separator: "-")
    }

    /// SHA-256 of the code as typed, upper-cased and without spaces or hyphens.
    package static func digest(_ code: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(code.uppercased().filter { $0 != "-" && $0 != " " }.utf8)))
    }
}
