import ArticleModel
import FuzzSupport

/// libFuzzer target: arbitrary bytes as a seed-format source and as a §7.2 document. Either a clear
/// error or an article comes out; an article must survive the document round trip unchanged, and
/// its source must parse to the same article again.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSeedFormat(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let article = try? SeedFormat.parse(bytes) {
        precondition(article.source == bytes, "the parsed article does not keep its exact source")
        if ArticleDocument.canEncode(article) {
            let decoded = try? ArticleDocument.decode(ArticleDocument.encode(article))
            precondition(decoded == article, "document round trip changed the article")
        }
    }
    if let article = try? ArticleDocument.decode(bytes) {
        // A decoded document's source must be what an export writes; parsing it must not trap.
        _ = try? SeedFormat.parse(article.source)
    }
    // The article `data` path of a BATCH: zlib with a bounded, exact output size.
    _ = try? ArticleCompression.inflateDocument(bytes, documentLength: min(bytes.count * 8, 1 << 20))
    return 0
}

FuzzMain.run(fuzzSeedFormat)
