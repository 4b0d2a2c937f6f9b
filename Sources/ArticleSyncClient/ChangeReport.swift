/// What a change does to an article, as `-v/--itemize` marks it (after `rsync -i`).
public enum ChangeKind: String, Sendable, Hashable, Codable {
    case added
    case changed
    case deleted

    /// `+` added, `~` changed, `-` deleted.
    public var marker: Character {
        switch self {
        case .added: "+"
        case .changed: "~"
        case .deleted: "-"
        }
    }
}

/// One article a pull, an import, a file tree or an export changed (or, in a dry run, would).
public struct ChangeItem: Sendable, Hashable {
    public var kind: ChangeKind
    public var id: String
    /// Shown for additions and changes; a deletion has only its id.
    public var title: String?

    public init(_ kind: ChangeKind, id: String, title: String? = nil) {
        self.kind = kind
        self.id = id
        self.title = title
    }

    /// The itemized line every command prints the same way: `+ id title`, `~ id title`, `- id`.
    /// Ids and titles may come from a server: control characters are escaped so that they cannot
    /// drive the terminal or fake a line of ours.
    public var line: String {
        let id = TerminalText.escaped(self.id, keepingLineBreaks: false)
        guard kind != .deleted, let title, !title.isEmpty else { return "\(kind.marker) \(id)" }
        return "\(kind.marker) \(id) \(TerminalText.escaped(title, keepingLineBreaks: false))"
    }
}

/// The changes of one run, counted, and kept one by one when they are to be itemized.
public struct ChangeReport: Sendable, Hashable {
    public private(set) var added = 0
    public private(set) var changed = 0
    public private(set) var deleted = 0
    /// Every change in the order recorded, when `itemized` (else empty: a full pull of 100,000
    /// articles need not keep a line for each).
    public private(set) var items: [ChangeItem] = []
    public let itemized: Bool

    public init(itemized: Bool) {
        self.itemized = itemized
    }

    /// Counts alone, of changes counted elsewhere (a dry run's table of them).
    public init(added: Int, changed: Int, deleted: Int) {
        self.added = added
        self.changed = changed
        self.deleted = deleted
        itemized = false
    }

    public var total: Int { added + changed + deleted }
    public var isEmpty: Bool { total == 0 }

    public mutating func record(_ item: ChangeItem) {
        switch item.kind {
        case .added: added += 1
        case .changed: changed += 1
        case .deleted: deleted += 1
        }
        if itemized { items.append(item) }
    }

    public mutating func record(_ kind: ChangeKind, id: String, title: String? = nil) {
        record(ChangeItem(kind, id: id, title: title))
    }

    /// "3 added, 1 changed, 2 deleted", or in a dry run "would add 3, change 1, delete 2";
    /// "no changes" / "nothing would change" when there are none.
    public func summary(dryRun: Bool) -> String {
        if isEmpty { return dryRun ? "nothing would change" : "no changes" }
        if dryRun { return "would add \(added), change \(changed), delete \(deleted)" }
        return "\(added) added, \(changed) changed, \(deleted) deleted"
    }

    /// The counts for `--json`: `{"added":3,"changed":1,"deleted":2}`.
    public var counts: ChangeCounts { ChangeCounts(added: added, changed: changed, deleted: deleted) }
}

public struct ChangeCounts: Sendable, Hashable, Codable {
    public var added: Int
    public var changed: Int
    public var deleted: Int
}
