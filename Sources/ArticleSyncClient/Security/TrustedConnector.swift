/// Runs a connection over TLS with the trust the user chose, and turns a refused certificate into
/// a sentence that says what to do. Without `--pin` or `--ca-file`, a server already in the
/// known-servers file is held to its pin; any other server must have a certificate from a CA in the
/// system trust store, or else the user is asked, once, to trust it (trust on first use).
///
/// The order: `--pin`, then `--ca-file`, then the known-servers pin, then the system CAs with the
/// first-use prompt.
public enum TrustedConnector {
    /// Calls `body` with a TLS attempt to install on the connection's channel; retries once after the
    /// user accepted a certificate at the prompt.
    public static func run<Result>(
        _ options: ClientTLSOptions,
        address: ServerAddress,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (TLSAttempt) async throws -> sending Result
    ) async throws -> sending Result {
        var known = try options.knownServersPath.map { path throws(ClientError) in try KnownServers(path: path) }
        let trust: ServerTrust
        if let pin = options.pin {
            if let entry = known?.entry(for: address), entry.fingerprint != pin, !options.replacesRememberedPin {
                throw rememberedPinDiffers(pin, entry: entry, path: known?.path ?? "known_servers", address: address)
            }
            trust = .pinned(pin, source: .commandLine)
        } else if let caFile = options.caFile {
            trust = .certificateAuthorities(caFile: caFile)
        } else if let entry = known?.entry(for: address), let path = options.knownServersPath {
            trust = .pinned(entry.fingerprint, source: .knownServers(path: path, line: entry.line))
        } else {
            trust = .certificateAuthorities(caFile: nil)
        }

        let attempt = try ClientTLS(trust: trust, address: address).makeAttempt()
        do {
            let result = try await body(attempt)
            if case .pinned(let pin, .commandLine) = trust, known?.entry(for: address)?.fingerprint != pin {
                // An explicit pin that worked is remembered (replacing another only with
                // --replace-pin, checked above), so the next run needs no flag. Best effort: the
                // work is done, and an unwritable folder only costs the flag next time.
                try? known?.remember(pin, for: address)
            }
            return result
        } catch {
            guard let failure = attempt.failure else { throw error }
            let presented = try await probeIfUseful(failure, address: address)
            if case .untrusted = failure, trust == .certificateAuthorities(caFile: nil), let presented,
                presented.isValid(at: Int(secondsSince1970())),
                options.prompt.shouldTrust(presented, server: address) == true
            {
                // Best effort, as above: without it the user is asked again next time.
                try? known?.remember(presented.fingerprint, for: address)
                let retry = try ClientTLS(trust: .pinned(presented.fingerprint, source: .firstUse), address: address).makeAttempt()
                do {
                    return try await body(retry)
                } catch {
                    guard let failure = retry.failure else { throw error }
                    throw describe(failure, trust: retry.tls.trust, address: address, presented: presented)
                }
            }
            throw describe(failure, trust: trust, address: address, presented: presented)
        }
    }

    /// An explicit `--pin` that is not the remembered certificate: replacing one is its own act.
    static func rememberedPinDiffers(
        _ pin: CertificateFingerprint, entry: KnownServers.Entry, path: String, address: ServerAddress
    ) -> ClientError {
        ClientError(
            .permissionDenied,
            """
            --pin does not match the certificate remembered for \(address) (\(path) line \(entry.line)). NOT CONNECTING.
              remembered: \(entry.fingerprint)
              --pin:      \(pin)
            A remembered certificate is replaced only on purpose. If the server's certificate was replaced, check the new fingerprint on the server itself (`articlesyncd cert generate` printed it), then add --replace-pin to the same command to trust it from now on.
            """
        )
    }

    private static func probeIfUseful(_ failure: TLSFailure, address: ServerAddress) async throws -> CertificateProbe.Presented? {
        switch failure {
        case .untrusted, .hostnameMismatch:
            return try? await CertificateProbe.fetch(address)
        case .pinMismatch, .expired, .notYetValid, .handshake, .refusedInPlain:
            return nil
        }
    }

    /// The user-facing sentence for a refused certificate.
    public static func describe(
        _ failure: TLSFailure,
        trust: ServerTrust,
        address: ServerAddress,
        presented: CertificateProbe.Presented?
    ) -> ClientError {
        switch failure {
        case .pinMismatch(let actual):
            guard case .pinned(let pin, let source) = trust else { break }
            // The presented fingerprint is shown only to compare with the server's own, never as a
            // flag to copy: after a real attack that would pin the attacker for good.
            let origin: String
            let remedy: String
            switch source {
            case .commandLine:
                origin = "--pin"
                remedy = "Check the fingerprint on the server itself (`articlesyncd cert generate` printed it) before pinning anything."
            case .knownServers(let path, let line):
                origin = "\(path) line \(line)"
                remedy = "If the server's certificate was replaced on purpose, read its new fingerprint on the server itself (`articlesyncd cert generate` printed it), never from this message, and pass that with --pin and --replace-pin."
            case .firstUse:
                origin = "the certificate you just accepted"
                remedy = "Connect again and review the certificate."
            }
            return ClientError(
                .permissionDenied,
                """
                WARNING: THE CERTIFICATE OF \(address) HAS CHANGED. NOT CONNECTING.
                  expected (\(origin)): \(pin)
                  presented by the server (unverified, to compare only): \(actual)
                Someone may be intercepting this connection (a man-in-the-middle attack), or the server's certificate was replaced.
                \(remedy)
                """
            )
        case .expired(let notValidAfter):
            return ClientError(
                .permissionDenied,
                "the certificate of \(address) expired on \(utcDateText(notValidAfter)); make a new one on the server (articlesyncd cert generate) and pin it again"
            )
        case .notYetValid(let notValidBefore):
            return ClientError(
                .permissionDenied,
                "the certificate of \(address) is valid only from \(utcDateText(notValidBefore)); check the clocks of both machines"
            )
        case .hostnameMismatch:
            let hint = presented.map { " To trust this certificate anyway, pass --pin \($0.fingerprint)." } ?? ""
            return ClientError(
                .permissionDenied,
                "the certificate of \(address) is not issued for \(address.host); connect by the name it names.\(hint)"
            )
        case .untrusted(let detail):
            if let presented, !presented.isValid(at: Int(secondsSince1970())) {
                return ClientError(
                    .permissionDenied,
                    "the certificate of \(address) is outside its validity dates (\(utcDateText(presented.notValidBefore)) to \(utcDateText(presented.notValidAfter))); the server needs a new certificate"
                )
            }
            let authority: String
            if case .certificateAuthorities(let caFile?) = trust {
                authority = "a CA in \(caFile)"
            } else {
                authority = "a CA in the system trust store"
            }
            guard let presented else {
                return ClientError(.permissionDenied, "the certificate of \(address) is not signed by \(authority) (\(detail))")
            }
            return ClientError(
                .permissionDenied,
                """
                the certificate of \(address) is not signed by \(authority).
                It presents \(presented.fingerprint)
                If this is your server's certificate (`articlesyncd cert generate` printed its fingerprint), trust it with:
                  --pin \(presented.fingerprint)
                """
            )
        case .refusedInPlain(let error) where error.code == .malformedFrame:
            // A plain server's answer to the TLS handshake record (§10).
            let said = TerminalText.escaped(error.message, keepingLineBreaks: false)
            return ClientError(
                .unavailable,
                "the TLS handshake with \(address) failed: the server answered in plain text (\(said)); does the server speak TLS? (it does only when started with --tls-cert and --tls-key)"
            )
        case .refusedInPlain(let error):
            var refusal = ClientError.refused(error)
            // Sent before TLS: anyone on the way could have written it, so it is shown, never acted on.
            refusal.message += " (in plain text, before TLS)"
            return refusal
        case .handshake(let detail):
            return ClientError(
                .unavailable,
                "the TLS handshake with \(address) failed (\(detail)); does the server speak TLS? (it does only when started with --tls-cert and --tls-key)"
            )
        }
        return ClientError(.permissionDenied, "the certificate of \(address) was refused")
    }
}
