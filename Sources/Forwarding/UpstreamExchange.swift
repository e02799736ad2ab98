import DNSMessage
import NIOCore
import NIOPosix

/// Why one exchange with one upstream gave no usable answer.
enum UpstreamFailure: Error, CustomStringConvertible {
    case timedOut
    case unreadable

    var description: String {
        switch self {
        case .timedOut: "timed out"
        case .unreadable: "sent an unreadable answer"
        }
    }
}

/// One question to one upstream, over UDP or TCP, and its matching answer.
///
/// Over UDP each exchange has its own socket on a port the kernel picks at random and a random ID
/// (RFC 5452 §9.2), and only a datagram from the upstream's address with the same ID and question is
/// taken: anything else is dropped, which is what makes blind spoofing hard.
struct UpstreamExchange: Sendable {
    let upstream: Upstream
    let name: DomainName
    let type: RecordType
    let dnssecOK: Bool
    let timeout: TimeAmount

    /// A fresh query with a random ID (RFC 5452 §9.2), and what its answer must match.
    private func makeQuery() -> (bytes: [UInt8], matcher: AnswerMatcher) {
        let id = UInt16.random(in: .min ... .max)
        var query: [UInt8] = []
        ResponseEncoder.encodeQuery(id: id, name: name, type: type, dnssecOK: dnssecOK, into: &query)
        return (query, AnswerMatcher(id: id, name: name, type: type))
    }

    /// Sends `message` on `channel`, fails `promise` after the timeout, and closes the channel once it completes.
    private func send<Outbound: Sendable>(
        _ message: Outbound, on channel: any Channel, completing promise: EventLoopPromise<Message>
    ) {
        channel.writeAndFlush(message).whenFailure { promise.fail($0) }
        let timer = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(UpstreamFailure.timedOut) }
        promise.futureResult.whenComplete { _ in
            timer.cancel()
            channel.close(promise: nil)
        }
    }

    func overUDP(on eventLoop: any EventLoop) -> EventLoopFuture<Message> {
        let (query, matcher) = makeQuery()
        let promise = eventLoop.makePromise(of: Message.self)
        let upstream = self.upstream
        let bindHost = upstream.address.protocol == .inet6 ? "::" : "0.0.0.0"
        let bound = DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UpstreamDatagramHandler(upstream: upstream.address, matcher: matcher, promise: promise)
                    )
                }
            }
            .bind(host: bindHost, port: 0)
        bound.whenSuccess { channel in
            let envelope = AddressedEnvelope(remoteAddress: upstream.address, data: channel.allocator.buffer(bytes: query))
            self.send(envelope, on: channel, completing: promise)
        }
        bound.whenFailure { promise.fail($0) }
        return promise.futureResult
    }

    func overTCP(on eventLoop: any EventLoop) -> EventLoopFuture<Message> {
        let (query, matcher) = makeQuery()
        let promise = eventLoop.makePromise(of: Message.self)
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamStreamHandler(matcher: matcher, promise: promise))
                }
            }
            .connect(to: upstream.address)
        connected.whenSuccess { channel in
            var buffer = channel.allocator.buffer(capacity: query.count + 2)
            buffer.writeInteger(UInt16(query.count))
            buffer.writeBytes(query)
            self.send(buffer, on: channel, completing: promise)
        }
        connected.whenFailure { promise.fail($0) }
        return promise.futureResult
    }
}

/// Accepts only the answer to the question asked: a response, with our ID and the same question.
package struct AnswerMatcher: Sendable {
    package let id: UInt16
    package let name: DomainName
    package let type: RecordType

    package init(id: UInt16, name: DomainName, type: RecordType) {
        self.id = id
        self.name = name
        self.type = type
    }

    package func match(_ bytes: ByteBuffer) -> Message? {
        let message = bytes.withUnsafeReadableBytes { raw in try? MessageDecoder.decodeMessage(raw) }
        guard let message, message.header.isResponse, message.header.id == id, message.questions.count == 1,
            message.questions[0].name == name, message.questions[0].type == type,
            message.questions[0].recordClass == RecordClass.internet
        else { return nil }
        return message
    }
}

private final class UpstreamDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let upstream: SocketAddress
    private let matcher: AnswerMatcher
    private let promise: EventLoopPromise<Message>

    init(upstream: SocketAddress, matcher: AnswerMatcher, promise: EventLoopPromise<Message>) {
        self.upstream = upstream
        self.matcher = matcher
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == upstream, let message = matcher.match(envelope.data) else { return }
        promise.succeed(message)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable arrives here as ECONNREFUSED: the upstream is not listening.
        promise.fail(error)
    }
}

@available(*, unavailable)
extension UpstreamDatagramHandler: Sendable {}

/// Reads length-prefixed messages (RFC 1035 §4.2.2) until the matching answer arrives.
private final class UpstreamStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let matcher: AnswerMatcher
    private let promise: EventLoopPromise<Message>
    private var pending = ByteBuffer()

    init(matcher: AnswerMatcher, promise: EventLoopPromise<Message>) {
        self.matcher = matcher
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.writeBuffer(&incoming)
        while let length = pending.getInteger(at: pending.readerIndex, as: UInt16.self),
            pending.readableBytes >= 2 + Int(length)
        {
            pending.moveReaderIndex(forwardBy: 2)
            let frame = pending.readSlice(length: Int(length))!
            if let message = matcher.match(frame) {
                promise.succeed(message)
                return
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(UpstreamFailure.unreadable)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension UpstreamStreamHandler: Sendable {}
