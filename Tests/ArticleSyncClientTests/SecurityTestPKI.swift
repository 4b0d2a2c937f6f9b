import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates made in-test: a CA, leaves it signs (valid, expired, for another name), self-signed
/// leaves. Written as PEM files into a temporary folder for the code under test to load.
struct SecurityTestPKI {
    struct Identity {
        var certificate: Certificate
        var key: P256.Signing.PrivateKey
        var certificatePath: String
        var keyPath: String

        var der: [UInt8] {
            var serializer = DER.Serializer()
            try! serializer.serialize(certificate)
            return serializer.serializedBytes
        }
    }

    let directory: String
    private var counter = 0

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/articlesync-pki.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        directory = String(cString: made)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    mutating func makeCA(_ name: String) throws -> Identity {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-86_400),
            notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key)
        )
        return try write(certificate, key)
    }

    /// A server certificate for 127.0.0.1 and `names`, signed by `issuer` (self-signed when nil),
    /// valid from `validFrom` to `validUntil` relative to now.
    mutating func makeLeaf(
        names: [String] = ["localhost"],
        ipAddresses: [[UInt8]] = [[127, 0, 0, 1]],
        issuer: Identity?,
        validFrom: TimeInterval = -3_600,
        validUntil: TimeInterval = 30 * 86_400
    ) throws -> Identity {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(names.first ?? "server") }
        let now = Date()
        let alternativeNames = names.map { GeneralName.dnsName($0) }
            + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(validFrom),
            notValidAfter: now.addingTimeInterval(validUntil),
            issuer: issuer?.certificate.subject ?? subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                // A self-signed certificate is its own issuer; a KeyUsage without keyCertSign would
                // stop it from serving as its own trust anchor (`--ca-file`), as in `cert generate`.
                if issuer != nil {
                    Critical(KeyUsage(digitalSignature: true))
                }
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: .init(issuer?.key ?? key)
        )
        return try write(certificate, key)
    }

    private mutating func write(_ certificate: Certificate, _ key: P256.Signing.PrivateKey) throws -> Identity {
        counter += 1
        let certificatePath = "\(directory)/cert\(counter).pem"
        let keyPath = "\(directory)/key\(counter).pem"
        try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
        return Identity(certificate: certificate, key: key, certificatePath: certificatePath, keyPath: keyPath)
    }
}
