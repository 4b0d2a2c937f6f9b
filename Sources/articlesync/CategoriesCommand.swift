import ArgumentParser
import ArticleStore
import ArticleSyncClient

struct CategoriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "categories",
        abstract: "List the replica's categories with their article counts, largest first (offline).",
        discussion: "A category is matched without regard to case by `list --category` and `search --category`."
    )

    @OptionGroup var options: ReplicaOptions

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            let categories = try await store.categories()
            if console.json {
                console.emit(categories.map { CategoryJSON(name: $0.name, count: $0.count) })
                return .ok
            }
            let width = String(categories.first?.count ?? 0).count
            for category in categories {
                console.say(String(repeating: " ", count: width - String(category.count).count) + "\(category.count)  \(category.name)")
            }
            if categories.isEmpty { console.note("the replica holds no articles") }
            return .ok
        }
    }
}

private struct CategoryJSON: Encodable {
    var name: String
    var count: Int
}

/// The exact name of the category a reader typed (case does not matter), or an error that names
/// the close ones and the command that lists them all.
func resolveCategory(_ text: String, in store: ReplicaStore) async throws -> String {
    switch try await store.resolveCategory(text) {
    case .exact(let name):
        return name
    case .unknown(let suggestions):
        let hint = suggestions.isEmpty
            ? "`articlesync categories` lists them"
            : "did you mean " + suggestions.prefix(5).map { "\"\($0)\"" }.joined(separator: " or ") + "?"
        throw ClientError(.usage, "no category \"\(text)\" in the replica: \(hint)")
    }
}

/// The live article an id or a unique prefix of one names; several matches are listed.
func resolveArticleID(_ text: String, in store: ReplicaStore, replicaPath: String) async throws -> String {
    switch try await store.resolveID(text) {
    case .unique(let id):
        return id
    case .ambiguous(let ids, let more):
        throw ClientError(
            .usage, "the id prefix \"\(text)\" is ambiguous; did you mean one of these? " + ids.joined(separator: ", ") + (more ? ", …" : ""))
    case .none:
        throw ClientError(.failure, "no article \"\(text)\" in the replica \(replicaPath) (see `list` or `search`)")
    }
}
