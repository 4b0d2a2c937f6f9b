import ArticleSyncProtocol
import Foundation
import NIOCore
import Testing

/// Protocol/vectors, found from this file's path so the tests run from any working directory.
let vectorsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // ArticleSyncProtocolTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // package root
    .appendingPathComponent("Protocol/vectors")

func vectorBytes(_ file: String) throws -> ByteBuffer {
    ByteBuffer(bytes: try Data(contentsOf: vectorsDirectory.appendingPathComponent(file)))
}

extension Array where Element == UInt8 {
    init(hex: String) {
        let digits = Array(hex.utf8)
        precondition(digits.count % 2 == 0, "hex needs an even number of digits")
        func value(_ digit: UInt8) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: preconditionFailure("not a hex digit: \(digit)")
            }
        }
        self = stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }
}

extension ByteBuffer {
    init(hex: String) { self.init(bytes: [UInt8](hex: hex)) }
}

/// Builds frames by hand (not with the codec under test), for malformed-input tests.
func rawFrame(length: UInt32? = nil, type: UInt8, flags: UInt8 = 0, payload: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(length ?? UInt32(2 + payload.count))
    buffer.writeInteger(type)
    buffer.writeInteger(flags)
    buffer.writeBytes(payload)
    return buffer
}

/// Payload writer for hand-made messages.
struct Bytes {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func raw(_ v: [UInt8]) { bytes += v }
    mutating func str8(_ s: String) { u8(UInt8(s.utf8.count)); bytes += s.utf8 }
    mutating func str16(_ s: String) { u16(UInt16(s.utf8.count)); bytes += s.utf8 }
}

/// Asserts that `body` throws a `ProtocolError` with `code`, and returns it for further checks.
@discardableResult
func expectProtocolError(
    _ code: ErrorCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> ProtocolError? {
    do {
        try body()
        Issue.record("expected \(code.name), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as ProtocolError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code.name), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
