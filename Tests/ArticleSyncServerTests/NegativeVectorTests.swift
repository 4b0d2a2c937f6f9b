import ArticleSyncProtocol
@testable import ArticleSyncServer
import Foundation
import NIOCore
import Testing

/// Protocol/vectors' negative vectors (written by scripts/gen-vectors.py from PROTOCOL.md alone):
/// each holds bytes a client sends that the server refuses, with the ERROR code and whether it is
/// fatal. They run through the server's own decoding path: the frame rules of the state, the
/// state machine, inflation and the message layouts, as `Connection` applies them.
@Suite struct NegativeVectorTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    struct Vector: Sendable, CustomTestStringConvertible {
        var file: String
        var state: String
        var code: UInt16
        var fatal: Bool
        var testDescription: String { file }
    }

    static let vectors: [Vector] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = manifest["negative"] as? [[String: Any]]
        else { return [] }
        return entries.compactMap { entry in
            guard let file = entry["file"] as? String, let state = entry["state"] as? String,
                let code = entry["code"] as? Int, let fatal = entry["fatal"] as? Bool
            else { return nil }
            return Vector(file: file, state: state, code: UInt16(code), fatal: fatal)
        }
    }()

    /// A conversation fed with bytes; the requests it starts are never finished, as if the server
    /// were still answering when the next bytes arrive.
    struct Conversation {
        var machine = ConnectionStateMachine(configuration: .init(isTLS: false, isLoopback: true))
        var reader = FrameReader()

        init(state: String) throws {
            guard state != "awaiting-hello" else { return }
            let role: Role = state == "ready-read" ? .read : .write
            var hello = ByteBuffer()
            ClientMessage.hello(Hello(features: .all, agent: "test")).encode(into: &hello)
            let asked = feed(hello)
            guard case .authenticate = asked else { throw TestFailure("no authentication: \(String(describing: asked))") }
            guard case .sendWelcome = machine.authenticated(.granted(role, tokenName: nil)) else { throw TestFailure("no WELCOME") }
            #expect(machine.requestFinished(error: nil) == .read)
        }

        /// Feeds bytes as the server's handler does: frame by frame through a `FrameReader`, each
        /// judged from its header first; returns the first action that is not a plain read or decode.
        mutating func feed(_ bytes: ByteBuffer) -> ConnectionStateMachine.Action? {
            reader.append(bytes)
            while true {
                let action: ConnectionStateMachine.Action
                do {
                    switch try reader.next(rules: machine.frameRules) {
                    case .needMoreBytes: return nil
                    case .announced(let type):
                        guard let refused = machine.frameAnnounced(type) else { continue }
                        return refused
                    case .frame(let frame):
                        action = decoded(machine.frameArrived(frame))
                    }
                } catch {
                    return machine.frameRejected(error)
                }
                switch action {
                case .read, .decode: continue
                case .perform: continue
                default: return action
                }
            }
        }

        private mutating func decoded(_ action: ConnectionStateMachine.Action) -> ConnectionStateMachine.Action {
            guard case .decode(let frame, let limit) = action else { return action }
            do {
                return machine.messageDecoded(try ClientMessage(frame: try frame.inflated(maxInflatedLength: limit)))
            } catch {
                return machine.decodingFailed(error)
            }
        }
    }

    struct TestFailure: Error { var description: String; init(_ d: String) { description = d } }

    @Test func theManifestListsNegativeVectors() {
        #expect(Self.vectors.count >= 20)
    }

    @Test(arguments: vectors)
    func theServerAnswersANegativeVectorWithItsCodeAndFatality(_ vector: Vector) throws {
        let bytes = try Data(contentsOf: Self.directory.appendingPathComponent(vector.file))
        var conversation = try Conversation(state: vector.state)
        let fed = conversation.feed(ByteBuffer(bytes: bytes))
        let action = try #require(fed, "\(vector.file): nothing refused")
        switch action {
        case .closeWithError(let error):
            #expect(error.rawCode == vector.code, "\(vector.file): \(error.message)")
            #expect(vector.fatal, "\(vector.file): closed, but the vector says non-fatal")
        case .respond(.error(let error)):
            #expect(error.rawCode == vector.code, "\(vector.file): \(error.message)")
            #expect(!vector.fatal, "\(vector.file): answered non-fatally, but the vector says fatal")
            #expect(!conversation.machine.isClosed)
        default:
            Issue.record("\(vector.file): expected an ERROR, got \(action)")
        }
    }
}
