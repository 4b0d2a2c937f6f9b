import ArticleSyncClient
import Foundation
import Testing

/// `pull --files DIR --layout source` against a real server: the tree reproduces the folders the
/// server imported, through a bootstrap and through a later (staged) pull, and a dry-run export
/// changes nothing.
@Suite("plain-file tree end to end", .serialized)
struct FileTreeEndToEndTests {
    static func files(_ root: String) -> [String: Data] {
        var found: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [:] }
        while let path = walker.nextObject() as? String {
            if path.hasPrefix(".articlesync-tree") { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory) else { continue }
            if !isDirectory.boolValue { found[path] = FileManager.default.contents(atPath: root + "/" + path) }
        }
        return found
    }

    @Test func aSourceLayoutTreeReproducesTheImportedFoldersAcrossPulls() async throws {
        let placed = ["ab/\(Corpus.id(1)).txt", "ab/cd/\(Corpus.id(2)).txt", "\(Corpus.id(3)).txt", "zz/\(Corpus.id(4)).txt"]
        try await Sandbox.run(prepare: { sandbox in
            for (index, path) in placed.enumerated() {
                _ = try sandbox.write(Array(Corpus.article(index + 1).utf8), to: "corpus/" + path)
            }
        }) { sandbox in
            let tree = sandbox.root + "/tree"
            let first = try await sandbox.client(["pull", "--files", tree, "--layout", "source"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(Self.files(tree) == Self.files(sandbox.corpus))
            #expect(!first.stderr.contains("written flat"), "\(first.stderr)")

            // A new article in a new folder, an edit and a deletion (a quarter of the store, above
            // both deletion guards' default), imported while the server runs: the next pull (staged,
            // since the replica holds articles) brings their paths too.
            _ = try sandbox.write(Array(Corpus.article(5).utf8), to: "corpus/new/deep/\(Corpus.id(5)).txt")
            _ = try sandbox.write(Array(Corpus.article(2, edit: 1).utf8), to: "corpus/ab/cd/\(Corpus.id(2)).txt")
            try FileManager.default.removeItem(atPath: sandbox.corpus + "/zz/\(Corpus.id(4)).txt")
            let importer = try ChildProcess(Binaries.server, ["import", "--store", sandbox.root + "/server.sqlite", "--delete-missing", "--force", sandbox.corpus])
            #expect(try await importer.wait() == 0, "\(importer.stderr)")

            let dry = try await sandbox.client(["export", tree, "--dry-run", "--replica", sandbox.replica], server: false)
            #expect(dry.stdout.contains("nothing would change"), "\(dry.stdout)")
            let second = try await sandbox.client(["pull", "--files", tree, "-v", "--max-delete-percent", "50"])
            #expect(second.status == 0, "\(second.stderr)")
            #expect(Self.files(tree) == Self.files(sandbox.corpus))
            #expect(!FileManager.default.fileExists(atPath: tree + "/zz"), "the emptied folder went with the deleted article")
            #expect(second.stdout.contains("+ \(Corpus.id(5))") && second.stdout.contains("~ \(Corpus.id(2))") && second.stdout.contains("- \(Corpus.id(4))"), "\(second.stdout)")
        }
    }
}
