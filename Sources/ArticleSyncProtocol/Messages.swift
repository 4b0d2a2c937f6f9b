import ArticleModel
import NIOCore

// The messages of Protocol/PROTOCOL.md §5, as values. Byte layouts are documented beside the code that
// encodes and decodes them (Messages+Encoding.swift / Messages+Decoding.swift).

/// A message type byte (PROTOCOL.md §5).
public enum MessageType: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case pull = 0x02
    case push = 0x03
    case verify = 0x04
    case getDictionary = 0x05
    case ping = 0x10
    case pong = 0x11
    case error = 0x7F
    case welcome = 0x81
    case batch = 0x82
    case caughtUp = 0x83
    case snapshotRequired = 0x84
    case pushResult = 0x85
    case verifyResult = 0x86
    case dictionary = 0x87
}

/// Feature bits (PROTOCOL.md §6).
public struct Features: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let dictionary = Features(rawValue: 1 << 0)
    public static let delta = Features(rawValue: 1 << 1)
    /// The server may send an article's path as imported (§5.4, kind ARTICLE_WITH_PATH).
    public static let sourcePath = Features(rawValue: 1 << 2)
    public static let all: Features = [.dictionary, .delta, .sourcePath]
}

public enum Role: UInt8, Sendable, Comparable {
    case read = 1
    case write = 2
    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

public struct Hello: Hashable, Sendable {
    public static let magic: [UInt8] = Array("ASYN".utf8)
    public var minVersion: UInt16
    public var maxVersion: UInt16
    public var features: Features
    public var token: String  // empty = none
    public var agent: String
    public init(minVersion: UInt16 = 1, maxVersion: UInt16 = 1, features: Features, token: String = "", agent: String) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.features = features
        self.token = token
        self.agent = agent
    }
}

public struct Welcome: Hashable, Sendable {
    public var version: UInt16
    public var features: Features
    public var storeID: StoreID
    public var headRevision: UInt64
    public var horizon: UInt64
    public var maxFrameLength: UInt32
    public var role: Role
    public var agent: String
    public init(version: UInt16, features: Features, storeID: StoreID, headRevision: UInt64, horizon: UInt64, maxFrameLength: UInt32, role: Role, agent: String) {
        self.version = version
        self.features = features
        self.storeID = storeID
        self.headRevision = headRevision
        self.horizon = horizon
        self.maxFrameLength = maxFrameLength
        self.role = role
        self.agent = agent
    }
}

public struct Pull: Hashable, Sendable {
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let acceptDeltas = Flags(rawValue: 1 << 0)
    }
    public var storeID: StoreID
    public var sinceRevision: UInt64
    public var budget: UInt32  // 0 = server default
    public var waitMillis: UInt32  // 0 = answer now
    public var flags: Flags
    public init(storeID: StoreID, sinceRevision: UInt64, budget: UInt32 = 0, waitMillis: UInt32 = 0, flags: Flags = []) {
        self.storeID = storeID
        self.sinceRevision = sinceRevision
        self.budget = budget
        self.waitMillis = waitMillis
        self.flags = flags
    }
}

/// How an article's document travels (PROTOCOL.md §7.3, §7.4).
public enum DocumentEncoding: Hashable, Sendable {
    case raw
    case zlib
    case delta(baseHash: SHA256Hash)

    public var byte: UInt8 {
        switch self {
        case .raw: return 0
        case .zlib: return 1
        case .delta: return 2
        }
    }
}

/// One change in a BATCH (PROTOCOL.md §5.4).
public enum Change: Hashable, Sendable {
    case article(ArticleChange)
    case tombstone(revision: UInt64, id: String)

    public var revision: UInt64 {
        switch self {
        case .article(let article): return article.revision
        case .tombstone(let revision, _): return revision
        }
    }

    public var id: String {
        switch self {
        case .article(let article): return article.id
        case .tombstone(_, let id): return id
        }
    }
}

public struct ArticleChange: Hashable, Sendable {
    public var revision: UInt64
    public var id: String
    public var contentHash: SHA256Hash
    public var encoding: DocumentEncoding
    public var documentLength: UInt32
    /// RAW: the document; ZLIB / DELTA: the zlib stream.
    public var data: ByteBuffer
    /// The article's path as imported on the server, relative to the imported folder (SOURCE_PATH
    /// in force and a path recorded); a client checks it before making a file of it.
    public var sourcePath: String?
    public init(
        revision: UInt64, id: String, contentHash: SHA256Hash, encoding: DocumentEncoding, documentLength: UInt32, data: ByteBuffer,
        sourcePath: String? = nil
    ) {
        self.revision = revision
        self.id = id
        self.contentHash = contentHash
        self.encoding = encoding
        self.documentLength = documentLength
        self.data = data
        self.sourcePath = sourcePath
    }
}

public struct Batch: Hashable, Sendable {
    public var fromRevision: UInt64
    public var toRevision: UInt64
    public var changes: [Change]
    public init(fromRevision: UInt64, toRevision: UInt64, changes: [Change]) {
        self.fromRevision = fromRevision
        self.toRevision = toRevision
        self.changes = changes
    }
}

public enum SnapshotReason: UInt8, Hashable, Sendable {
    case belowHorizon = 1
    case storeMismatch = 2
    case aheadOfServer = 3
}

public struct SnapshotRequired: Hashable, Sendable {
    public var reason: SnapshotReason
    public var storeID: StoreID
    public var headRevision: UInt64
    public var horizon: UInt64
    public var message: String
    public init(reason: SnapshotReason, storeID: StoreID, headRevision: UInt64, horizon: UInt64, message: String) {
        self.reason = reason
        self.storeID = storeID
        self.headRevision = headRevision
        self.horizon = horizon
        self.message = message
    }
}

public struct PushEntry: Hashable, Sendable {
    /// expectedRevision meaning "no check" (PROTOCOL.md §5.7).
    public static let anyRevision = UInt64.max

    public enum Operation: Hashable, Sendable {
        case put(source: ByteBuffer)
        case delete
    }
    public var id: String
    public var expectedRevision: UInt64
    public var operation: Operation
    public init(id: String, expectedRevision: UInt64, operation: Operation) {
        self.id = id
        self.expectedRevision = expectedRevision
        self.operation = operation
    }
}

public struct Push: Hashable, Sendable {
    public var entries: [PushEntry]
    public init(entries: [PushEntry]) { self.entries = entries }
}

public struct PushResult: Hashable, Sendable {
    public enum Status: UInt8, Hashable, Sendable {
        case applied = 0
        case unchanged = 1
        case conflict = 2
        case invalid = 3
        case notFound = 4
    }
    public struct Entry: Hashable, Sendable {
        public var status: Status
        public var revision: UInt64
        public var message: String
        public init(status: Status, revision: UInt64, message: String = "") {
            self.status = status
            self.revision = revision
            self.message = message
        }
    }
    public var headRevision: UInt64
    public var results: [Entry]
    public init(headRevision: UInt64, results: [Entry]) {
        self.headRevision = headRevision
        self.results = results
    }
}

public struct VerifyResult: Hashable, Sendable {
    public enum Status: UInt8, Hashable, Sendable {
        case ok = 0
        case belowHorizon = 1
        case aheadOfHead = 2
    }
    public static let headRevision = UInt64.max
    public var status: Status
    public var revision: UInt64
    public var articleCount: UInt64
    public var digest: SHA256Hash
    public init(status: Status, revision: UInt64, articleCount: UInt64, digest: SHA256Hash) {
        self.status = status
        self.revision = revision
        self.articleCount = articleCount
        self.digest = digest
    }
}

public struct StoreDictionary: Hashable, Sendable {
    public var id: UInt32  // Adler-32 of bytes
    public var bytes: ByteBuffer
    public init(id: UInt32, bytes: ByteBuffer) {
        self.id = id
        self.bytes = bytes
    }
}

/// Error codes (PROTOCOL.md §8).
public enum ErrorCode: UInt16, Hashable, Sendable, CaseIterable {
    case malformedFrame = 1
    case frameTooLarge = 2
    case inflatedTooLarge = 3
    case badCompression = 4
    case unknownMessageType = 5
    case unexpectedMessage = 6
    case badMagic = 7
    case noCommonVersion = 8
    case authRequired = 9
    case authFailed = 10
    case forbidden = 11
    case handshakeTimeout = 12
    case idleTimeout = 13
    case tooManyConnections = 14
    case shuttingDown = 15
    case unknownDictionary = 16
    case tlsRequired = 17
    case rateLimited = 18
    case requestTooLarge = 19
    case internalError = 20

    /// Fatal codes close the connection after the ERROR frame; unknown codes are fatal too.
    public var isFatal: Bool {
        switch self {
        case .forbidden, .unknownDictionary, .requestTooLarge: return false
        case .malformedFrame, .frameTooLarge, .inflatedTooLarge, .badCompression, .unknownMessageType,
            .unexpectedMessage, .badMagic, .noCommonVersion, .authRequired, .authFailed,
            .handshakeTimeout, .idleTimeout, .tooManyConnections, .shuttingDown, .tlsRequired,
            .rateLimited, .internalError:
            return true
        }
    }
}

public struct ErrorMessage: Hashable, Sendable, Error {
    /// Kept raw so that a code from a later version survives decoding (and is treated as fatal).
    public var rawCode: UInt16
    public var message: String
    public var code: ErrorCode? { ErrorCode(rawValue: rawCode) }
    public var isFatal: Bool { code?.isFatal ?? true }
    public init(code: ErrorCode, message: String) {
        self.rawCode = code.rawValue
        self.message = message
    }
    public init(rawCode: UInt16, message: String) {
        self.rawCode = rawCode
        self.message = message
    }
}

/// Everything a client sends.
public enum ClientMessage: Hashable, Sendable {
    case hello(Hello)
    case pull(Pull)
    case push(Push)
    case verify(atRevision: UInt64)
    case getDictionary(id: UInt32)
    case ping(nonce: UInt64)
    case pong(nonce: UInt64)
    case error(ErrorMessage)
}

/// Everything a server sends.
public enum ServerMessage: Hashable, Sendable {
    case welcome(Welcome)
    case batch(Batch)
    case caughtUp(headRevision: UInt64)
    case snapshotRequired(SnapshotRequired)
    case pushResult(PushResult)
    case verifyResult(VerifyResult)
    case dictionary(StoreDictionary)
    case ping(nonce: UInt64)
    case pong(nonce: UInt64)
    case error(ErrorMessage)
}

/// Limits of PROTOCOL.md §9.
public enum ProtocolLimits {
    public static let maxFrameLength: UInt32 = 16_777_216
    public static let maxHelloFrameLength: UInt32 = 65_536
    public static let maxInflatedLength: UInt32 = 67_108_864
    public static let maxDocumentLength: UInt32 = 16_777_216
    public static let maxSourceLength: UInt32 = 4_194_304
    public static let maxPushEntries: UInt32 = 10_000
    public static let maxTokenLength = 1_024
    public static let maxErrorMessageLength = 1_024
    public static let maxDictionaryLength: UInt32 = 32_768
    public static let minBudget: UInt32 = 4_096
    public static let maxBudget: UInt32 = 8_388_608
    public static let defaultBudget: UInt32 = 1_048_576
    public static let maxWaitMillis: UInt32 = 300_000
    public static let defaultPort = 7420
    public static let version: UInt16 = 1
}
