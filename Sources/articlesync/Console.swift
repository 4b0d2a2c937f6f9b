import ArgumentParser
import ArticleStore
import ArticleSyncClient
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where output goes: people get sentences on stdout (errors on stderr), `--json` gets JSON on
/// stdout. Writes go straight to the file descriptor so a pipe sees each line when it happens.
///
/// Everything for people passes `TerminalText.escaped` here, once: titles, ids and messages come
/// from a server and must not reach a terminal (or a log someone views in one) as control
/// sequences. JSON output keeps JSON's own escaping.
struct Console: Sendable {
    var json: Bool
    var quiet: Bool

    /// A line for people (suppressed by --json and --quiet).
    func say(_ text: String) {
        guard !json && !quiet else { return }
        Self.write(TerminalText.escaped(text) + "\n", to: STDOUT_FILENO)
    }

    /// A line for people in bold on a terminal (the only escape sequence we send ourselves).
    func say(bold text: String) {
        guard !json && !quiet else { return }
        let (on, off) = Self.stdoutIsTerminal ? ("\u{1B}[1m", "\u{1B}[0m") : ("", "")
        Self.write(on + TerminalText.escaped(text) + off + "\n", to: STDOUT_FILENO)
    }

    /// A note on stderr (suppressed by --quiet).
    func note(_ text: String) {
        guard !quiet else { return }
        Self.write(TerminalText.escaped(text) + "\n", to: STDERR_FILENO)
    }

    /// One JSON value on its own line (only with --json).
    func emit<Value: Encodable>(_ value: Value) {
        guard json else { return }
        Self.write(Self.encode(value) + "\n", to: STDOUT_FILENO)
    }

    func error(_ message: String, status: ExitStatus) {
        Self.write("articlesync: \(TerminalText.escaped(message))\n", to: STDERR_FILENO)
        if json { Self.write(Self.encode(ErrorJSON(error: message, exitCode: status.rawValue)) + "\n", to: STDOUT_FILENO) }
    }

    static func encode<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                #if canImport(Darwin)
                Darwin.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// Columns of the terminal on stdout (or $COLUMNS), 80 when unknown.
    static var width: Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }

    /// Runs a command body and turns failures into a message and the documented exit code;
    /// `generalFailure` stands for 1 where a command gives 1 a meaning of its own (`diff`).
    func run(generalFailure: ExitStatus = .failure, _ body: () async throws -> ExitStatus) async throws {
        let status: ExitStatus
        do {
            status = try await body()
        } catch let error as ClientError {
            let code = error.status == .failure ? generalFailure : error.status
            self.error(error.message, status: code)
            throw ExitCode(code.rawValue)
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch is CancellationError {
            throw ExitCode(generalFailure.rawValue)
        } catch {
            if let damage = StorageFailure.damage(in: error) {
                self.error(
                    "the replica is damaged (\(damage)): `articlesync verify --deep` says what is wrong; a pull into a new --replica FILE copies the archive again",
                    status: .ioError)
                throw ExitCode(ExitStatus.ioError.rawValue)
            }
            self.error("\(error)", status: generalFailure)
            throw ExitCode(generalFailure.rawValue)
        }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}

struct ErrorJSON: Encodable {
    var error: String
    var exitCode: Int32
}
