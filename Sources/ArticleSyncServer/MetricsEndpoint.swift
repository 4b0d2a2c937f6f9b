import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `GET /metrics` (Prometheus text exposition, version 0.0.4) on its own address over plain
/// HTTP/1.1: an operator's endpoint, apart from the sync port, bound to loopback unless asked.
/// Anything else is 404; a request body is ignored.
enum MetricsEndpoint {
    typealias Exposition = @Sendable () async -> [UInt8]

    static func bind(host: String, port: Int, group: any EventLoopGroup, exposition: @escaping Exposition) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(exposition: exposition))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let exposition: MetricsEndpoint.Exposition
    private var request: HTTPRequestHead?

    init(exposition: @escaping MetricsEndpoint.Exposition) {
        self.exposition = exposition
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            guard head.method == .GET || head.method == .HEAD, path == "/metrics" else {
                respond(context: context, head: head, status: .notFound, contentType: "text/plain; charset=utf-8",
                        body: Array("not found: the metrics are at /metrics\n".utf8))
                return
            }
            let exposition = self.exposition
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            Task {
                let body = await exposition()
                loop.execute {
                    let (handler, context) = bound.value
                    handler.respond(context: context, head: head, status: .ok,
                                    contentType: "text/plain; version=0.0.4; charset=utf-8", body: head.method == .HEAD ? [] : body)
                }
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
            // With thousands of clients the text is hundreds of kilobytes, built and dropped per scrape.
            MemoryRelease.afterLargeResponse()
        }
    }
}
