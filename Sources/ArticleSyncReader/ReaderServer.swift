import ArticleStore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The reader's HTTP server: NIOHTTP1 on 127.0.0.1 only, one task per connection, each request
/// answered by `ReaderApp`.
///
/// Plain NIOHTTP1 rather than Hummingbird: swift-nio is already built for the sync protocol, so
/// this adds no package and no build time, while Hummingbird would add several packages and minutes
/// to every clean build on two cores (and in CI) for what is here a handful of GET routes with no
/// middleware, bodies or sessions.
public final class ReaderServer: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The TCP port on 127.0.0.1; 0 lets the system choose a free one. Default 0.
        public var port: Int
        /// Connections served at once (one reader's browser opens about six). Default 32.
        public var maximumConnections: Int

        public init(port: Int = 0, maximumConnections: Int = 32) {
            precondition((0...65_535).contains(port), "a TCP port is 0...65535")
            precondition(maximumConnections > 0, "maximumConnections must be positive")
            self.port = port
            self.maximumConnections = maximumConnections
        }
    }

    /// Loopback only: the archive is for the reader on this machine, never the network.
    public static let host = "127.0.0.1"

    let app: ReaderApp
    let configuration: Configuration
    let logger: Logger

    public init(store: ReplicaStore, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "articlesync.reader")) {
        app = ReaderApp(store: store)
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds, calls `onListening` with the bound port, then serves until the task is cancelled.
    public func run(onListening: @Sendable (Int) -> Void) async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await bind()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ReaderError("port \(configuration.port) on \(Self.host) is in use: pick another --port, or 0 for any free one")
        } catch {
            throw ReaderError("cannot listen on \(Self.host):\(configuration.port): \(error)")
        }
        guard let port = server.channel.localAddress?.port else {
            throw ReaderError("the reader's socket has no port")
        }
        let hostCheck = HostCheck(port: port)
        onListening(port)
        let limit = configuration.maximumConnections
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.app.warmUp() }
            try await server.executeThenClose { connections in
                var open = 0
                let finished = AsyncStream<Void>.makeStream()
                var finishedIterator = finished.stream.makeAsyncIterator()
                for try await connection in connections {
                    // Past the limit, wait for a connection to end rather than queue without bound.
                    while open >= limit, await finishedIterator.next() != nil { open -= 1 }
                    open += 1
                    group.addTask {
                        await self.serve(connection, hostCheck: hostCheck)
                        finished.continuation.yield()
                    }
                }
            }
        }
    }

    private func bind() async throws -> NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: Self.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Answers one connection's requests in order until the browser or an error closes it.
    func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, hostCheck: HostCheck) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                    case .body:
                        // GET and HEAD carry no body worth reading; anything else is refused.
                        continue
                    case .end:
                        guard let requestHead = head else { continue }
                        head = nil
                        let request = ReaderRequest(
                            method: requestHead.method.rawValue, target: requestHead.uri,
                            hosts: requestHead.headers["Host"], cookies: requestHead.headers["Cookie"])
                        let response = await app.respond(to: request, hostCheck: hostCheck)
                        let keepAlive = requestHead.isKeepAlive && response.status < 400
                        try await write(response, for: requestHead, keepAlive: keepAlive, to: outbound)
                        if !keepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("reader connection ended: \(error)")
        }
    }

    private func write(
        _ response: ReaderResponse, for request: HTTPRequestHead, keepAlive: Bool, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(
            version: request.version, status: HTTPResponseStatus(statusCode: response.status, reasonPhrase: response.reason), headers: headers)
        try await outbound.write(.head(head))
        if request.method != .HEAD && !response.body.isEmpty {
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        }
        try await outbound.write(.end(nil))
    }
}

/// A failure of the reader itself (not of a request).
public struct ReaderError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
