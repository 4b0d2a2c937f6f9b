import ArticleStore
import Foundation
import XCTest

/// Protocol/vectors/26-verify-result-digest.bin carries the §7.6 digest of the live articles its
/// manifest entry lists: the store's digest of those entries must be the same 32 bytes.
final class DigestVectorTests: XCTestCase {
    func testTheStoreDigestOfTheListedEntriesIsTheVectorsDigest() throws {
        let vectors = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol/vectors")
        let manifest = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: vectors.appendingPathComponent("manifest.json"))) as? [String: Any])
        let entry = try XCTUnwrap((manifest["vectors"] as? [[String: Any]])?.first { $0["file"] as? String == "26-verify-result-digest.bin" })
        let fields = try XCTUnwrap(entry["fields"] as? [String: Any])
        let listed = try XCTUnwrap(fields["digestEntries"] as? [[String: String]])
        let articles = try listed.map { item -> (id: String, contentHash: [UInt8]) in
            (try XCTUnwrap(item["id"]), Self.bytes(hex: try XCTUnwrap(item["contentHash"])))
        }
        XCTAssertEqual(articles.count, fields["articleCount"] as? Int)
        let digest = StoreDigest.of(articles)
        XCTAssertEqual(digest.bytes, Self.bytes(hex: try XCTUnwrap(fields["digest"] as? String)))

        // The frame carries the same digest in its last 32 bytes.
        let frame = try [UInt8](Data(contentsOf: vectors.appendingPathComponent("26-verify-result-digest.bin")))
        XCTAssertEqual(Array(frame.suffix(32)), digest.bytes)
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }
}
