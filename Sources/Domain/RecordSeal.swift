import Crypto
import Foundation

/// How a record is signed. Agents enrolled before keys pairs sign with HMAC under a secret the city also holds;
/// the city accepts that only until an operator ends the transition (`empmon agent end-hmac`).
package enum SignatureScheme: String, Sendable, CaseIterable {
    /// HMAC-SHA256 of the canonical bytes under the agent's secret (`signature`).
    case hmacSHA256 = "hmac-sha256"
    /// An Ed25519 signature over the root of a Merkle tree of the submission's records (`seal`).
    case ed25519Merkle = "ed25519-merkle"
}

/// An agent's Ed25519 key pair. The private half never leaves the agent's computer; the city holds the public
/// half and its id.
package struct AgentSigningKey: Sendable, Equatable {
    package let privateKey: [UInt8]
    package let publicKey: AgentPublicKey

    package init() {
        let key = Curve25519.Signing.PrivateKey()
        privateKey = Array(key.rawRepresentation)
        publicKey = AgentPublicKey(Array(key.publicKey.rawRepresentation))
    }

    package init(privateKey: [UInt8]) throws {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey)
        self.privateKey = privateKey
        publicKey = AgentPublicKey(Array(key.publicKey.rawRepresentation))
    }

    package var keyID: String { publicKey.keyID }

    /// Ed25519 is deterministic; signing fails only for a damaged key, which `init(privateKey:)` refuses.
    package func signature(for bytes: [UInt8]) -> [UInt8] {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: privateKey),
            let signature = try? key.signature(for: bytes)
        else { return [] }
        return Array(signature)
    }
}

/// The public half of an agent's key, and its id: the first 8 bytes of its SHA-256, as 16 hex digits.
package struct AgentPublicKey: Sendable, Hashable {
    package let bytes: [UInt8]
    package let keyID: String

    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
        keyID = SHA256.hash(data: bytes).prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    package func isValidSignature(_ signature: [UInt8], for bytes: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: self.bytes) else { return false }
        return key.isValidSignature(signature, for: bytes)
    }
}

/// One record's share of its submission's signature: the submission's records are the leaves of a Merkle tree
/// (RFC 6962's hashing: a leaf is SHA-256 of 0x00 and its canonical bytes, a node of 0x01 and its two children; a
/// last node without a partner moves up unchanged), the agent signs the root once with Ed25519, and each record
/// carries the root, the signature and the path from its leaf. The city verifies one Ed25519 signature per
/// submission and a few hashes per record: one signature per record would cost ~60 µs of the city's CPU each,
/// more than all its other work on a record together.
package struct RecordSeal: Sendable, Hashable {
    private struct Fields: Hashable {
        var keyID: String
        var root: [UInt8]
        var rootSignature: [UInt8]
        var leafCount: Int
        var leafIndex: Int
        var path: [[UInt8]]
    }

    /// The seal's parts in one shared box, never changed once made: a record is copied several times on its way
    /// through a batch, and as four separately counted references (key id, root, signature, path) the seal was
    /// most of that copy's cost.
    private final class Parts: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var parts: Parts

    package var keyID: String {
        get { parts.fields.keyID }
        set { change { $0.keyID = newValue } }
    }
    package var root: [UInt8] {
        get { parts.fields.root }
        set { change { $0.root = newValue } }
    }
    package var rootSignature: [UInt8] {
        get { parts.fields.rootSignature }
        set { change { $0.rootSignature = newValue } }
    }
    package var leafCount: Int {
        get { parts.fields.leafCount }
        set { change { $0.leafCount = newValue } }
    }
    package var leafIndex: Int {
        get { parts.fields.leafIndex }
        set { change { $0.leafIndex = newValue } }
    }
    package var path: [[UInt8]] {
        get { parts.fields.path }
        set { change { $0.path = newValue } }
    }

    package init(
        keyID: String, root: [UInt8], rootSignature: [UInt8], leafCount: Int, leafIndex: Int, path: [[UInt8]]
    ) {
        parts = Parts(
            Fields(
                keyID: keyID, root: root, rootSignature: rootSignature, leafCount: leafCount, leafIndex: leafIndex,
                path: path))
    }

    /// A new box for a changed seal: a box other copies share stays as it is.
    private mutating func change(_ body: (inout Fields) -> Void) {
        var fields = parts.fields
        body(&fields)
        parts = Parts(fields)
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.parts === rhs.parts || lhs.parts.fields == rhs.parts.fields
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(parts.fields) }

    /// What the root's signature covers: the agent and key with it, so that no seal can be moved to another.
    package static func signedBytes(agentID: String, keyID: String, root: [UInt8], leafCount: Int) -> [UInt8] {
        CanonicalBytes.ofSeal(agentID: agentID, keyID: keyID, rootHex: hex(root), leafCount: leafCount)
    }

    package static func leafHash(_ canonicalBytes: [UInt8]) -> [UInt8] {
        var hash = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hash.update(bufferPointer: $0) }
        canonicalBytes.withUnsafeBytes { hash.update(bufferPointer: $0) }
        return digestBytes(hash)
    }

    static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hash = SHA256()
        withUnsafeBytes(of: UInt8(1)) { hash.update(bufferPointer: $0) }
        left.withUnsafeBytes { hash.update(bufferPointer: $0) }
        right.withUnsafeBytes { hash.update(bufferPointer: $0) }
        return digestBytes(hash)
    }

    /// The digest as bytes in one copy (through `Array(digest)`, a byte at a time, it cost as much as the hash).
    private static func digestBytes(_ hash: SHA256) -> [UInt8] {
        hash.finalize().withUnsafeBytes { Array($0) }
    }

    /// The root this record's path leads to from `leaf`, or nil when the path does not fit its index and count.
    package func root(fromLeaf leaf: [UInt8]) -> [UInt8]? {
        guard leafCount >= 1, leafIndex >= 0, leafIndex < leafCount else { return nil }
        var hash = leaf
        var index = leafIndex
        var width = leafCount
        var step = 0
        while width > 1 {
            if index % 2 == 1 || index + 1 < width {
                guard step < path.count, path[step].count == 32 else { return nil }
                hash = index % 2 == 1 ? Self.nodeHash(path[step], hash) : Self.nodeHash(hash, path[step])
                step += 1
            }
            index /= 2
            width = (width + 1) / 2
        }
        return step == path.count ? hash : nil
    }

    /// Seals for the records whose canonical bytes are `leaves`, in their order, under one signature by `key`.
    package static func seals(for leaves: [[UInt8]], agentID: String, key: AgentSigningKey) -> [RecordSeal] {
        guard !leaves.isEmpty else { return [] }
        var levels: [[[UInt8]]] = [leaves.map(leafHash)]
        while let level = levels.last, level.count > 1 {
            levels.append(
                stride(from: 0, to: level.count, by: 2).map { start in
                    start + 1 < level.count ? nodeHash(level[start], level[start + 1]) : level[start]
                })
        }
        let root = levels[levels.count - 1][0]
        let signature = key.signature(
            for: signedBytes(agentID: agentID, keyID: key.keyID, root: root, leafCount: leaves.count))
        return leaves.indices.map { leaf in
            var path: [[UInt8]] = []
            var index = leaf
            for level in levels.dropLast() {
                let sibling = index ^ 1
                if sibling < level.count { path.append(level[sibling]) }
                index /= 2
            }
            return RecordSeal(
                keyID: key.keyID, root: root, rootSignature: signature, leafCount: leaves.count, leafIndex: leaf,
                path: path)
        }
    }

    /// Whether this seal covers the record whose canonical bytes are `canonicalBytes`, signed by `key`.
    package func verifies(_ canonicalBytes: [UInt8], agentID: String, key: AgentPublicKey) -> Bool {
        leadsToRoot(canonicalBytes) && rootSignatureIsValid(agentID: agentID, key: key)
    }

    /// The record's leaf, hashed up its path, gives the signed root.
    package func leadsToRoot(_ canonicalBytes: [UInt8]) -> Bool {
        root(fromLeaf: Self.leafHash(canonicalBytes)) == root
    }

    /// The agent signed this root, for this many leaves, with `key`: the one Ed25519 check, shared by a
    /// submission's records.
    package func rootSignatureIsValid(agentID: String, key: AgentPublicKey) -> Bool {
        key.isValidSignature(
            rootSignature, for: Self.signedBytes(agentID: agentID, keyID: keyID, root: root, leafCount: leafCount))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

/// How an agent signs what it sends: with its Ed25519 key, one seal per submission, or, until it moves to a key
/// pair, with the HMAC secret it was enrolled with.
package enum AgentSigner: Sendable {
    case ed25519(AgentSigningKey, agentID: String)
    case hmac(RecordSigner)

    /// Signs a submission's records together (one Ed25519 signature for all of them).
    package func sign(_ records: inout [PersonStatusRecord]) {
        switch self {
        case .hmac(let signer):
            for index in records.indices { signer.sign(&records[index]) }
        case .ed25519(let key, let agentID):
            let seals = RecordSeal.seals(for: records.map(CanonicalBytes.of), agentID: agentID, key: key)
            for (index, seal) in zip(records.indices, seals) { records[index].seal(with: seal) }
        }
    }

    /// Whether `record` carries this signer's signature.
    package func isValid(_ record: PersonStatusRecord) -> Bool {
        switch self {
        case .hmac(let signer): signer.isValid(record)
        case .ed25519(let key, let agentID):
            record.seal?.verifies(CanonicalBytes.of(record), agentID: agentID, key: key.publicKey) ?? false
        }
    }

    /// Signs one record on its own (a submission of one).
    package func sign(_ record: inout PersonStatusRecord) {
        var records = [record]
        sign(&records)
        record = records[0]
    }

    package func sign(_ report: inout UnitActivityReport) {
        switch self {
        case .hmac(let signer): signer.sign(&report)
        case .ed25519(let key, let agentID):
            report.signature = []
            report.seal = RecordSeal.seals(for: [CanonicalBytes.of(report)], agentID: agentID, key: key).first
        }
    }

    package func sign(_ manifest: inout SubmissionManifest) {
        switch self {
        case .hmac(let signer): signer.sign(&manifest)
        case .ed25519(let key, let agentID):
            manifest.signature = []
            manifest.seal = RecordSeal.seals(for: [CanonicalBytes.of(manifest)], agentID: agentID, key: key).first
        }
    }
}
