import Crypto
import Foundation
import SwiftASN1
import X509

/// A self-signed server certificate and its key, for a first set-up without a CA. Clients trust it by
/// its fingerprint (`articlesync --pin`), or by using the certificate itself as `--ca-file`.
struct SelfSignedCertificate {
    var certificatePEM: String
    var privateKeyPEM: String
    /// SHA-256 of the certificate's DER bytes, as the client writes it: `SHA256:ab:cd:…`.
    var fingerprint: String
    var notValidAfter: Date

    struct InvalidHost: Error, CustomStringConvertible {
        var host: String
        var description: String { "\"\(host)\" is neither a host name nor an IP address" }
    }

    /// A P-256 key and a certificate for `hosts` (DNS names or IP addresses; the first is also the
    /// common name), valid from an hour ago (clocks differ) for `days` days.
    static func make(hosts: [String], days: Int, now: Date = Date()) throws -> SelfSignedCertificate {
        let key = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            CommonName(hosts.first ?? "articlesyncd")
            OrganizationName("articlesyncd self-signed")
        }
        let alternativeNames = try hosts.map { host throws -> GeneralName in
            if let address = ipAddressBytes(host) {
                return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address)))
            }
            guard isHostName(host) else { throw InvalidHost(host: host) }
            return .dnsName(host)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            // No KeyUsage: one without keyCertSign would stop the certificate from being its own
            // trust anchor, which `articlesync --ca-file server.crt` relies on.
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(alternativeNames)
        }
        let notValidAfter = now.addingTimeInterval(Double(days) * 86_400)
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: certificateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: notValidAfter,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: certificateKey
        )
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return SelfSignedCertificate(
            certificatePEM: try certificate.serializeAsPEM().pemString + "\n",
            privateKeyPEM: key.pemRepresentation + "\n",
            fingerprint: fingerprintText(SHA256.hash(data: serializer.serializedBytes)),
            notValidAfter: notValidAfter
        )
    }

    private static func fingerprintText(_ digest: SHA256.Digest) -> String {
        "SHA256:" + digest.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    private static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    private static func isHostName(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.utf8.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "*")
                }
        }
    }
}
