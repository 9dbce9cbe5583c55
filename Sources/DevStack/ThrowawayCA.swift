import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority made for one dev stack and trusted by nothing else: it signs the certificate the local
/// PostgreSQL presents, so that clients can check it with `sslmode=verify-full` exactly as they would in production.
///
/// Its private key is written next to the certificate so that `dev up` can issue again after a restart; it is a
/// development key on a loopback-only server, worth nothing outside this folder.
package struct ThrowawayCA: Sendable {
    package let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    /// A new CA, valid from a minute ago for ten years.
    package static func make(name: String, now: Date = Date()) throws -> ThrowawayCA {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 60, notValidAfter: now + 10 * 365 * 86_400, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        return ThrowawayCA(certificate: certificate, privateKey: .init(key))
    }

    /// The same CA (name and key) in a certificate valid between other dates: a test's way to present clients an
    /// expired certificate on a chain they otherwise trust.
    package func reissued(notValidBefore: Date, notValidAfter: Date) throws -> ThrowawayCA {
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
            notValidBefore: notValidBefore, notValidAfter: notValidAfter, issuer: self.certificate.subject,
            subject: self.certificate.subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: self.certificate.extensions, issuerPrivateKey: privateKey)
        return ThrowawayCA(certificate: certificate, privateKey: privateKey)
    }

    /// The CA written by `write(to:)`, or an error naming the file that is missing or unreadable.
    package static func load(from folder: String) throws -> ThrowawayCA {
        let certificatePath = folder + "/" + certificateFile
        let keyPath = folder + "/" + keyFile
        do {
            let certificate = try Certificate(pemEncoded: try String(contentsOfFile: certificatePath, encoding: .utf8))
            let key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: keyPath, encoding: .utf8))
            return ThrowawayCA(certificate: certificate, privateKey: key)
        } catch {
            throw DevStackError(
                "the dev stack's CA in \(folder) cannot be read (\(error)); remove the folder to make a new one")
        }
    }

    package static let certificateFile = "ca.crt"
    static let keyFile = "ca.key"

    /// Writes `ca.crt` (what clients trust) and `ca.key` (readable by this user only).
    package func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(try certificate.serializeAsPEM().pemString.utf8).write(
            to: URL(fileURLWithPath: folder + "/" + Self.certificateFile), options: .atomic)
        try ServerCertificate.writePrivate(try privateKey.serializeAsPEM().pemString, to: folder + "/" + Self.keyFile)
    }

    /// A certificate for a server reached at `hosts` (names or IPv4 addresses), valid between the two dates.
    /// Tests issue one whose validity ended yesterday to see how clients report an expired certificate.
    package func issueServerCertificate(
        hosts: [String], notValidBefore: Date = Date() - 60, notValidAfter: Date = Date() + 825 * 86_400
    ) throws -> ServerCertificate {
        let key = P256.Signing.PrivateKey()
        let names = hosts.map { host -> GeneralName in
            let octets = host.split(separator: ".").compactMap { UInt8($0) }
            return octets.count == 4 && !host.contains(where: \.isLetter)
                ? .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))) : .dnsName(host)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notValidBefore, notValidAfter: notValidAfter, issuer: self.certificate.subject,
            subject: try DistinguishedName { CommonName(hosts.first ?? "localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: privateKey)
        return ServerCertificate(
            certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }
}

/// A server's certificate and private key, as PEM text.
package struct ServerCertificate: Sendable {
    package let certificatePEM: String
    package let privateKeyPEM: String

    /// Writes `<name>.crt` and `<name>.key` into `folder`; the key readable by its owner only, as servers demand.
    package func write(to folder: String, name: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: "\(folder)/\(name).crt"), options: .atomic)
        try Self.writePrivate(privateKeyPEM, to: "\(folder)/\(name).key")
    }

    static func writePrivate(_ text: String, to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw DevStackError("cannot write \(path)") }
    }
}
