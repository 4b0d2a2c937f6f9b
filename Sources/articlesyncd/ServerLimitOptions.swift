import ArgumentParser
import ArticleSyncProtocol
import ArticleSyncServer

/// The server's limits as flags; every default is `ServerConfiguration`'s.
struct ServerLimitOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Largest frame a WRITE connection may send, in bytes (65536 to 16777216; READ connections: 65536).", valueName: "bytes"))
    var maxFrameLength: UInt32 = ServerConfiguration().maxFrameLength

    @Option(name: .long, parsing: .unconditional, help: "Connections served at once; more are refused with TOO_MANY_CONNECTIONS. The server raises its open-file limit to the hard limit at start and serves fewer when descriptors run out first.")
    var maxConnections: Int = ServerConfiguration().maxConnections

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds a new connection has to send its HELLO.", valueName: "seconds"))
    var handshakeTimeout: Double = 10

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds an idle connection may wait before its next request.", valueName: "seconds"))
    var idleTimeout: Double = 120

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds a peer may go without reading any of a response before it is closed.", valueName: "seconds"))
    var stallTimeout: Double = 120

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Batch size for pulls that ask for the server's default, in bytes.", valueName: "bytes"))
    var batchBudget: UInt32 = ServerConfiguration().defaultBatchBudget

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Largest batch size a pull may ask for, in bytes (4096 to 8388608).", valueName: "bytes"))
    var maxBatchBudget: UInt32 = ServerConfiguration().maxBatchBudget

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Longest long poll honoured, in seconds (at most 300).", valueName: "seconds"))
    var maxLongPoll: Double = 300

    @Option(name: .long, parsing: .unconditional, help: "Most entries accepted in one push.")
    var maxPushEntries: Int = ServerConfiguration().maxPushEntries

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds running responses get to finish on SIGTERM or SIGINT.", valueName: "seconds"))
    var shutdownGrace: Double = 10

    func validate() throws {
        // Below a HELLO's limit, READ connections could not send their requests (§4.1).
        guard (ProtocolLimits.maxHelloFrameLength...ProtocolLimits.maxFrameLength).contains(maxFrameLength) else {
            throw ValidationError("--max-frame-length must be between \(ProtocolLimits.maxHelloFrameLength) and \(ProtocolLimits.maxFrameLength)")
        }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        for (name, value) in [("--handshake-timeout", handshakeTimeout), ("--idle-timeout", idleTimeout), ("--stall-timeout", stallTimeout), ("--max-long-poll", maxLongPoll)] {
            guard value > 0, value <= 86_400 else { throw ValidationError("\(name) must be a number of seconds above 0 and at most 86400") }
        }
        guard shutdownGrace >= 0, shutdownGrace <= 3_600 else { throw ValidationError("--shutdown-grace must be between 0 and 3600 seconds") }
        guard (ProtocolLimits.minBudget...ProtocolLimits.maxBudget).contains(maxBatchBudget) else {
            throw ValidationError("--max-batch-budget must be between \(ProtocolLimits.minBudget) and \(ProtocolLimits.maxBudget)")
        }
        guard (ProtocolLimits.minBudget...ProtocolLimits.maxBudget).contains(batchBudget) else {
            throw ValidationError("--batch-budget must be between \(ProtocolLimits.minBudget) and \(ProtocolLimits.maxBudget)")
        }
        guard (1...Int(ProtocolLimits.maxPushEntries)).contains(maxPushEntries) else {
            throw ValidationError("--max-push-entries must be between 1 and \(ProtocolLimits.maxPushEntries)")
        }
    }

    func apply(to configuration: inout ServerConfiguration) {
        configuration.maxFrameLength = maxFrameLength
        configuration.maxConnections = maxConnections
        configuration.handshakeTimeout = .seconds(handshakeTimeout)
        configuration.idleTimeout = .seconds(idleTimeout)
        configuration.stallTimeout = .seconds(stallTimeout)
        configuration.defaultBatchBudget = batchBudget
        configuration.maxBatchBudget = maxBatchBudget
        configuration.maxLongPoll = .seconds(min(maxLongPoll, 300))
        configuration.maxPushEntries = maxPushEntries
        configuration.shutdownGracePeriod = .seconds(shutdownGrace)
    }
}
