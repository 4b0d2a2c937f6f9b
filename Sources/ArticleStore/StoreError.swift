/// A store operation that failed, said for people (the store's callers log or print it).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
