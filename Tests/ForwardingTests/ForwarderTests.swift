import DNSMessage
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Forwarding

/// A scripted upstream on loopback: answers every query with one A record after `delay`, counting queries.
final class SlowUpstream: Sendable {
    let channel: any Channel
    private let queries = NIOLockedValueBox(0)

    init(delay: TimeAmount) async throws {
        let counter = queries
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder(delay: delay, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var queryCount: Int { queries.withLockedValue { $0 } }
    var upstream: Upstream { Upstream(address: channel.localAddress!) }

    func close() async { try? await channel.close() }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let delay: TimeAmount
        let counter: NIOLockedValueBox<Int>

        init(delay: TimeAmount, counter: NIOLockedValueBox<Int>) {
            self.delay = delay
            self.counter = counter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            counter.withLockedValue { $0 += 1 }
            guard let query = envelope.data.withUnsafeReadableBytes({ try? MessageDecoder.decodeQuery($0) }) else { return }
            var bytes: [UInt8] = []
            let answer = RRSet(owner: query.name, type: .a, ttl: 60, rdata: [.a(IPv4Bytes(127, 0, 14, 1))])
            ResponseEncoder.encode(.response(Response(recursionAvailable: true, answer: [answer]), to: query), limit: 1232, into: &bytes)
            let reply = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: bytes))
            let channel = context.channel
            context.eventLoop.scheduleTask(in: delay) { channel.writeAndFlush(reply, promise: nil) }
        }
    }
}

/// The forwarder's sharing and bounds, against a scripted upstream.
@Suite struct ForwarderTests {
    static func query(_ name: String) throws -> Query {
        var bytes: [UInt8] = []
        ResponseEncoder.encodeQuery(id: 7, name: DomainName(name)!, type: .a, dnssecOK: false, into: &bytes)
        return try MessageDecoder.decodeQuery(bytes)
    }

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func clientsAskingTheSameQuestionShareOneUpstreamExchange() async throws {
        let upstream = try await SlowUpstream(delay: .milliseconds(200))
        let forwarder = Forwarder(upstreams: [upstream.upstream], cache: ResponseCache(capacity: 100, maxTTL: 3600), logger: Self.logger)
        let query = try Self.query("shared.upstream.test.")
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let futures = (0..<20).map { _ in forwarder.forward(query, overTCP: false, on: loop) }
        var answers: [UpstreamAnswer] = []
        for future in futures {
            guard case .answered(let answer) = try await future.get() else { continue }
            answers.append(answer)
        }
        #expect(upstream.queryCount == 1)
        #expect(answers.count == 20)
        #expect(answers.allSatisfy { $0.rcode == .noError && $0.answer.first?.rdata.count == 1 })
        #expect(forwarder.cached(query) != nil, "and the answer is cached")
        await upstream.close()
    }

    @Test func pastTheInFlightBoundTheQuestionFailsAtOnce() async throws {
        let upstream = try await SlowUpstream(delay: .milliseconds(300))
        let forwarder = Forwarder(
            upstreams: [upstream.upstream], cache: ResponseCache(capacity: 100, maxTTL: 3600), maxInFlight: 1, logger: Self.logger
        )
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let first = forwarder.forward(try Self.query("one.upstream.test."), overTCP: false, on: loop)
        let second = try await forwarder.forward(try Self.query("two.upstream.test."), overTCP: false, on: loop).get()
        #expect(second == .failed(.busy))
        guard case .answered(let answer) = try await first.get() else {
            Issue.record("the question in flight was not answered")
            return
        }
        #expect(answer.rcode == .noError)
        await upstream.close()
    }

    @Test func everyUpstreamSilentFailsWithinTheDeadline() async throws {
        let upstream = try await SlowUpstream(delay: .seconds(30))
        let forwarder = Forwarder(
            upstreams: [upstream.upstream, upstream.upstream], cache: ResponseCache(capacity: 100, maxTTL: 3600),
            timeout: .milliseconds(300), deadline: .milliseconds(500), logger: Self.logger
        )
        let clock = ContinuousClock()
        let started = clock.now
        let answer = try await forwarder.forward(try Self.query("late.upstream.test."), overTCP: false, on: MultiThreadedEventLoopGroup.singleton.next()).get()
        #expect(answer == .failed(.noAnswer))
        #expect(clock.now - started < .seconds(1), "bounded by the deadline, not 2 × the timeout plus slack")
        await upstream.close()
    }
}
