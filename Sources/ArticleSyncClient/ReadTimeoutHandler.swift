import NIOCore

/// Turns `IdleStateHandler`'s read-idle event into an error on the connection, so a server that stops
/// answering mid-response fails the request instead of hanging the client forever.
final class ReadTimeoutHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    struct Timeout: Error, CustomStringConvertible {
        var description: String { "the server stopped answering" }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.fireErrorCaught(Timeout())
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
