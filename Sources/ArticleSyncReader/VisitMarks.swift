/// "Neu" marks: what arrived since the reader's last visit, kept in two cookies, so the reader
/// keeps no state of its own and several replicas or ports do not get in each other's way.
///
/// - `as_seen` (a year): the highest revision the reader has been shown.
/// - `as_since` (half an hour, renewed by every page): the mark threshold of this visit. While it
///   lives, reloads keep the same marks; once it has expired, a visit starts anew from `as_seen`.
///
/// A first visit marks nothing: everything would be new.
struct VisitMarks: Sendable, Hashable {
    /// Articles with a revision above this are new in this visit.
    var threshold: UInt64
    var headers: [ReaderResponse.Header]

    static let visitSeconds = 30 * 60

    init(request: ReaderRequest, latestRevision: UInt64) {
        let seen = request.cookie("as_seen").flatMap(UInt64.init)
        let since = request.cookie("as_since").flatMap(UInt64.init)
        threshold = since ?? seen ?? latestRevision
        headers = [
            ReaderResponse.Header(
                name: "Set-Cookie", value: "as_seen=\(max(latestRevision, seen ?? 0)); Max-Age=31536000; Path=/; SameSite=Strict; HttpOnly"),
            ReaderResponse.Header(
                name: "Set-Cookie", value: "as_since=\(threshold); Max-Age=\(Self.visitSeconds); Path=/; SameSite=Strict; HttpOnly"),
        ]
    }

    func isNew(_ revision: UInt64) -> Bool { revision > threshold }
}
