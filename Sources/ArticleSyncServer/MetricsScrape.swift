import NIOCore
import NIOHTTP1
import NIOPosix

/// One sample of a Prometheus text exposition: `name{label="value",…} value`.
public struct MetricSample: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
}

public enum MetricsScrapeError: Error, CustomStringConvertible {
    case badStatus(UInt, String)
    case malformedLine(Int, String)

    public var description: String {
        switch self {
        case .badStatus(let code, let address): return "the metrics endpoint \(address) answered HTTP \(code); is it an articlesyncd --metrics-address?"
        case .malformedLine(let number, let line): return "line \(number) of the metrics is not in the Prometheus text format: \(line)"
        }
    }
}

/// Reads a metrics endpoint (`articlesyncd status`, tests).
public enum MetricsScrape {
    /// `GET /metrics` (or `path`) over plain HTTP/1.1; the body as text.
    public static func fetch(
        host: String, port: Int, path: String = "/metrics", group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> String {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(eventLoop: channel.eventLoop))
                }
            }
            .connect(host: host, port: port)
            .get()
        defer { channel.close(promise: nil) }
        let collector = try await channel.pipeline.handler(type: ResponseCollector.self).get()
        let response = collector.response
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) {
            response.fail(ChannelError.connectTimeout(.seconds(10)))
        }
        defer { timeout.cancel() }
        let (status, body) = try await response.futureResult.get()
        guard status == 200 else { throw MetricsScrapeError.badStatus(status, "\(host):\(port)") }
        return body
    }

    /// The samples of a text exposition, comments left out.
    public static func parse(_ text: String) throws -> [MetricSample] {
        var samples: [MetricSample] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let sample = sample(line) else { throw MetricsScrapeError.malformedLine(index + 1, String(line)) }
            samples.append(sample)
        }
        return samples
    }

    private static func sample(_ line: Substring) -> MetricSample? {
        var labels: [String: String] = [:]
        let name: Substring
        let rest: Substring
        if let open = line.firstIndex(of: "{") {
            name = line[..<open]
            var index = line.index(after: open)
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "="), line.index(after: equals) < line.endIndex,
                      line[line.index(after: equals)] == "\"" else { return nil }
                let key = String(line[index..<equals])
                var value = ""
                var cursor = line.index(equals, offsetBy: 2)
                while cursor < line.endIndex, line[cursor] != "\"" {
                    if line[cursor] == "\\", line.index(after: cursor) < line.endIndex {
                        cursor = line.index(after: cursor)
                        value.append(line[cursor] == "n" ? "\n" : line[cursor])
                    } else {
                        value.append(line[cursor])
                    }
                    cursor = line.index(after: cursor)
                }
                guard cursor < line.endIndex else { return nil }
                labels[key] = value
                index = line.index(after: cursor)
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { return nil }
            rest = line[line.index(after: index)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        let fields = rest.split(separator: " ")
        guard !name.isEmpty, let first = fields.first else { return nil }
        let value: Double?
        switch first {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default: value = Double(first)
        }
        guard let value else { return nil }
        return MetricSample(name: String(name), labels: labels, value: value)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return result
    }
}

/// Gathers one HTTP response: its status and its body as text.
private final class ResponseCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart

    let response: EventLoopPromise<(UInt, String)>
    private let state: NIOLoopBoundBox<(status: UInt, body: [UInt8])>

    init(eventLoop: any EventLoop) {
        response = eventLoop.makePromise()
        state = NIOLoopBoundBox((0, []), eventLoop: eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): state.value.status = head.status.code
        case .body(let buffer): state.value.body += buffer.readableBytesView
        case .end: response.succeed((state.value.status, String(decoding: state.value.body, as: UTF8.self)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        response.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        response.fail(error)
        context.close(promise: nil)
    }

    /// A connection that never came up (refused) is torn down without becoming inactive: the
    /// promise must still be completed.
    func handlerRemoved(context: ChannelHandlerContext) {
        response.fail(ChannelError.ioOnClosedChannel)
    }
}
