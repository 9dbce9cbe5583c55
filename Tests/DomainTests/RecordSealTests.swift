import Domain
import Foundation
import TestSupport
import Testing
import Wire

@Suite("Record seals: one Ed25519 signature over a Merkle tree of a submission's records")
struct RecordSealTests {
    let key = (try? AgentSigningKey(privateKey: Array(repeating: 9, count: 32))) ?? AgentSigningKey()

    func records(_ count: Int) -> [PersonStatusRecord] {
        (0..<count).map { index in
            var record = Fixtures.person()
            record.recordID = RecordID.random()
            record.personKey = String(format: "%064x", index)
            return record
        }
    }

    @Test(
        "Every record of submissions of 1 to 40 records verifies, after a protobuf round trip, and each path is as long as the tree is deep"
    )
    func everyLeafVerifies() throws {
        for count in 1...40 {
            var batch = records(count)
            AgentSigner.ed25519(key, agentID: "agent-x").sign(&batch)
            let roots = Set(batch.compactMap { $0.seal?.root })
            #expect(roots.count == 1)
            for record in batch {
                let decoded = try Wire.decodePersonStatus(try Wire.encode(record))
                let seal = try #require(decoded.seal)
                #expect(decoded.signature.isEmpty && decoded.signatureScheme == .ed25519Merkle)
                #expect(seal.verifies(CanonicalBytes.of(decoded), agentID: "agent-x", key: key.publicKey))
                // A tree of n leaves is ceil(log2 n) deep; the first leaf always has a partner on every level.
                let depth = count == 1 ? 0 : Int(log2(Double(count - 1))) + 1
                #expect(seal.path.count <= depth)
                if seal.leafIndex == 0 { #expect(seal.path.count == depth) }
            }
        }
    }

    @Test("A changed record, another record's path or index, a moved seal, another agent or another key: none verifies")
    func tamperingFails() throws {
        var batch = records(7)
        AgentSigner.ed25519(key, agentID: "agent-x").sign(&batch)
        let record = batch[3]
        let seal = try #require(record.seal)
        #expect(seal.verifies(CanonicalBytes.of(record), agentID: "agent-x", key: key.publicKey))

        var changed = record
        changed.status = .unemployed
        #expect(!seal.verifies(CanonicalBytes.of(changed), agentID: "agent-x", key: key.publicKey))
        var otherPath = seal
        otherPath.path = try #require(batch[4].seal).path
        #expect(!otherPath.verifies(CanonicalBytes.of(record), agentID: "agent-x", key: key.publicKey))
        var otherIndex = seal
        otherIndex.leafIndex = 2
        #expect(!otherIndex.verifies(CanonicalBytes.of(record), agentID: "agent-x", key: key.publicKey))
        var shorter = seal
        shorter.leafCount = 4
        #expect(!shorter.verifies(CanonicalBytes.of(record), agentID: "agent-x", key: key.publicKey))
        // A seal from one submission on a record of another.
        var elsewhere = records(7)
        AgentSigner.ed25519(key, agentID: "agent-x").sign(&elsewhere)
        #expect(
            !(try #require(elsewhere[3].seal)).verifies(
                CanonicalBytes.of(record), agentID: "agent-x", key: key.publicKey))
        #expect(!seal.verifies(CanonicalBytes.of(record), agentID: "agent-y", key: key.publicKey))
        #expect(!seal.verifies(CanonicalBytes.of(record), agentID: "agent-x", key: AgentSigningKey().publicKey))
        // A key id that is not 16 hex digits (what a receipt would quote back) does not decode.
        var badKeyID = record
        badKeyID.seal?.keyID = "\u{0}" + String(seal.keyID.dropFirst())
        #expect(throws: ValidationReason.self) { try Wire.decodePersonStatus(try Wire.encode(badKeyID)) }
    }

    @Test("A key announcement round-trips with each kind of proof, and a rotation is signed by the key it replaces")
    func announcements() throws {
        let next = AgentSigningKey()
        let rotation = KeyAnnouncement.rotation(to: next, from: key, agentID: "agent-x", at: 1_700_000_000_000)
        #expect(try Wire.decodeKeyAnnouncement(try Wire.encode(rotation)) == rotation)
        guard case .previousKey(let keyID, let signature) = rotation.proof else {
            Issue.record("a rotation is proved by the previous key")
            return
        }
        #expect(keyID == key.keyID)
        #expect(key.publicKey.isValidSignature(signature, for: CanonicalBytes.of(rotation)))
        #expect(!next.publicKey.isValidSignature(signature, for: CanonicalBytes.of(rotation)))
        let hmac = KeyAnnouncement.leavingHMAC(
            to: next, signer: RecordSigner(secret: Array(repeating: 1, count: 32)), agentID: "agent-x", at: 1)
        #expect(try Wire.decodeKeyAnnouncement(try Wire.encode(hmac)) == hmac)
        #expect(RecordSigner(secret: Array(repeating: 1, count: 32)).isValid(hmac))
        #expect(!RecordSigner(secret: Array(repeating: 2, count: 32)).isValid(hmac))
        let code = EnrolmentCode.make()
        #expect(
            code.count == 23
                && EnrolmentCode.digest(code)
                    == EnrolmentCode.digest(code.lowercased().replacingOccurrences(of: "-", with: ""))
        )
        #expect(throws: ValidationReason.self) { try Wire.decodeKeyAnnouncement([0x1a, 0x03, 1, 2, 3]) }
    }
}
