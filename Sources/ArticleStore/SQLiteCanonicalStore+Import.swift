import Foundation

extension SQLiteCanonicalStore {
    /// Imports seed files and directories (recursively) into this canonical store.
    public func importFiles(
        _ paths: [String], options: ImportOptions = ImportOptions(), progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) async throws -> ImportReport {
        try await Importer(store: self, options: options).run(paths: paths, progress: progress)
    }
}
