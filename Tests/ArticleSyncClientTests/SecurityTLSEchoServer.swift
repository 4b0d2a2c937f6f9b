import ArticleSyncClient
import ArticleSyncServer
import NIOCore
import NIOPosix
import NIOSSL

/// A loopback server with the real transport sniffer in front of an echo handler: enough to prove
/// handshakes (and refusals) with real sockets, without a store.
final class SecurityTLSEchoServer {
    let channel: any Channel
    let address: ServerAddress

    init(tlsContext: NIOSSLContext?) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        TransportSniffingHandler(tlsContext: tlsContext),
                        Echo(),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        address = ServerAddress(host: "127.0.0.1", port: channel.localAddress!.port!)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// Connects through a TLS attempt, sends "ping" and returns what came back.
func securityExchange(_ attempt: TLSAttempt, address: ServerAddress) async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: address.host, port: address.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try attempt.installHandlers(on: channel)
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: "ping"))
        for try await var reply in inbound {
            return reply.readString(length: reply.readableBytes) ?? ""
        }
        return ""
    }
}
