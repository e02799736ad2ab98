import CoreMetrics
import DNSMessage
import Forwarding
import Locking
import Logging
import NIOCore
import NIOPosix

/// Tells secondaries that a zone changed (RFC 1996, `--notify`): a NOTIFY to each target, sent again while it
/// goes unanswered (after 1, 2, 4 and 8 seconds: five tries in all, as RFC 1996 §3.6 leaves to the primary),
/// until the target answers or a newer NOTIFY of the zone takes its place.
public final class NotifySender: Sendable {
    public let targets: [Upstream]
    private let logger: Logger
    /// The latest NOTIFY per target and zone: an older one's retries stop when a newer one starts.
    private let latest = Locked([String: UInt64]())
    private let sequence = Locked(UInt64(0))
    private let sent = Counter(label: "svcdns_notify_sent_total")
    private let answered = Counter(label: "svcdns_notify_answered_total")
    static let attempts = 5
    static let firstTimeout = TimeAmount.seconds(1)

    public init(targets: [Upstream], logger: Logger) {
        self.targets = targets
        self.logger = logger
    }

    /// Sends the NOTIFY of the zone at `apex`, whose SOA is now `soa`, to every target; returns at once.
    public func notify(apex: DomainName, soa: RRSet) {
        for target in targets {
            let key = "\(target)|\(apex.lookupKey)"
            let number = sequence.withLock { value -> UInt64 in
                value += 1
                return value
            }
            latest.withLock { $0[key] = number }
            Task {
                await self.deliver(apex: apex, soa: soa, to: target, key: key, number: number)
            }
        }
    }

    private func deliver(apex: DomainName, soa: RRSet, to target: Upstream, key: String, number: UInt64) async {
        var timeout = Self.firstTimeout
        for attempt in 1...Self.attempts {
            guard latest.withLock({ $0[key] == number }) else { return }
            sent.increment()
            let result = try? await exchange(apex: apex, soa: soa, with: target, timeout: timeout).get()
            if let result {
                answered.increment()
                if result.rcode != .noError {
                    logger.info(
                        "a secondary refused a NOTIFY",
                        metadata: ["zone": "\(apex)", "notify.target": "\(target)", "rcode": "\(result.rcode)"])
                }
                return
            }
            if attempt == Self.attempts {
                logger.warning(
                    "a secondary did not answer NOTIFY", metadata: ["zone": "\(apex)", "notify.target": "\(target)"])
            }
            timeout = timeout * 2
        }
    }

    /// One NOTIFY on a socket of its own, and the answer with its ID, opcode and zone (anything else is ignored).
    private func exchange(apex: DomainName, soa: RRSet, with target: Upstream, timeout: TimeAmount) -> EventLoopFuture<Message> {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let id = UInt16.random(in: .min ... .max)
        var request: [UInt8] = []
        ResponseEncoder.encodeNotify(id: id, zone: apex, soa: soa, into: &request)
        let promise = eventLoop.makePromise(of: Message.self)
        let address = target.address
        let bound = DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NotifyAnswerHandler(target: address, id: id, apex: apex, promise: promise))
                }
            }
            .bind(host: address.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
        bound.whenSuccess { channel in
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: channel.allocator.buffer(bytes: request)))
                .whenFailure { promise.fail($0) }
            let timer = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(NotifyTimeout()) }
            promise.futureResult.whenComplete { _ in
                timer.cancel()
                channel.close(promise: nil)
            }
        }
        bound.whenFailure { promise.fail($0) }
        return promise.futureResult
    }
}

private struct NotifyTimeout: Error {}

private final class NotifyAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let target: SocketAddress
    private let id: UInt16
    private let apex: DomainName
    private let promise: EventLoopPromise<Message>

    init(target: SocketAddress, id: UInt16, apex: DomainName, promise: EventLoopPromise<Message>) {
        self.target = target
        self.id = id
        self.apex = apex
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == target else { return }
        let message = envelope.data.withUnsafeReadableBytes { try? MessageDecoder.decodeMessage($0) }
        guard let message, message.header.isResponse, message.header.id == id, message.header.opcode == Opcode.notify,
            message.questions.first?.name == apex
        else { return }
        promise.succeed(message)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable: nobody listens there (yet); the next try may find it.
        promise.fail(error)
    }
}
