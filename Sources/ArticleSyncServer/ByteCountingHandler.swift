import NIOCore

/// First handler of a connection (nearest the socket): counts the bytes on the wire, TLS included.
final class ByteCountingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let counters: ConnectionCounters

    init(counters: ConnectionCounters) {
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        counters.addBytesIn(unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        counters.addBytesOut(unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}
