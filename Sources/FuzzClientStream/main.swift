import ArticleSyncProtocol
import FuzzSupport

/// libFuzzer target: arbitrary bytes as a client's stream, decoded the way the server decodes it
/// (frame header, limits, inflation, every client message layout). A crash or trap is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzClientStream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    WireFuzzing.decodeClientStream(bytes)
    return 0
}

FuzzMain.run(fuzzClientStream)
