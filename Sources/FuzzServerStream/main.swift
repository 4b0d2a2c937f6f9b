import ArticleSyncProtocol
import FuzzSupport

/// libFuzzer target: arbitrary bytes as a server's stream, decoded the way the client decodes it
/// (frame header, limits, inflation, every server message layout). A crash or trap is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzServerStream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    WireFuzzing.decodeServerStream(bytes)
    return 0
}

FuzzMain.run(fuzzServerStream)
