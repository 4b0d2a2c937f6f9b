import GRDB

/// A store operation that failed, said for people (the store's callers log or print it).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The file's bytes are wrong (a document that no longer inflates), not the operation.
    public var isDamage = false

    public init(_ description: String, isDamage: Bool = false) {
        self.description = description
        self.isDamage = isDamage
    }
}

/// What a failed read or write of a store's file means for the person who owns it.
public enum StorageFailure {
    /// The file is damaged: SQLite finds it malformed or not a database, or a stored document no
    /// longer inflates. nil for any other error.
    public static func damage(in error: any Error) -> String? {
        if let error = error as? StoreError, error.isDamage { return error.description }
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return error.message ?? "\(error.resultCode)"
        default: return nil
        }
    }
}
