import CoreMetrics
import DNSMessage
import NIOCore

/// One DNS-over-TCP connection: frames the bytes read into queries and answers each, in order
/// (RFC 7766 §6.2.1: several queries may arrive before the first answer; answering synchronously keeps
/// them in order), with backpressure (RFC 7766 §6.2.3, rules in `TCPConnectionStateMachine`): while the
/// client does not read its answers, no more queries are taken and no more bytes are read. Closes a
/// connection idle in both directions, one unwritable for the idle timeout, and one whose client has
/// finished sending, once its answers are written.
package final class TCPQueryHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private let pipeline: QueryPipeline
    private var output: [UInt8] = []
    private let metrics: DNSMetrics
    private let queryLog: QueryLog?
    private let server: String
    private var state: TCPConnectionStateMachine
    private let idleTimeout: TimeAmount
    /// When this connection last moved, for the connection cap to find the quietest; nil outside a server.
    private let activity: TCPConnectionActivity?
    /// Bytes read and not yet taken as queries: at most one read cycle's worth, since nothing more is
    /// read while a whole query waits here.
    private var input = ByteBuffer()
    private var unwritableTimer: Scheduled<Void>?
    /// Set while `answerWaitingQueries` runs: a write that completes inside its flush does not recurse.
    private var answering = false
    /// A pass is queued on the event loop, behind the other channels' work.
    private var passScheduled = false
    /// The zone transfer being written, a message at a time (each written when the one before has gone, so a
    /// transfer holds one message whatever the zone's size). No other query is taken until it ends.
    private var transfer: ZoneTransferStream?
    /// Queries answered in one go before the event loop is given back to the other channels.
    static let queriesPerPass = 32
    static let passDelay = TimeAmount.microseconds(50)

    package init(
        pipeline: QueryPipeline, server: String, idleTimeout: TimeAmount = .seconds(10),
        limits: TCPConnectionLimits = .init(), activity: TCPConnectionActivity? = nil, queryLog: QueryLog? = nil
    ) {
        self.queryLog = queryLog
        self.activity = activity
        self.pipeline = pipeline
        self.metrics = DNSMetrics(server: server, proto: "tcp")
        self.server = server
        self.idleTimeout = idleTimeout
        self.state = TCPConnectionStateMachine(limits: limits)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        activity?.touch()
        if input.readableBytes == 0 {
            input = bytes
        } else {
            input.writeBuffer(&bytes)
        }
        answerWaitingQueries(context: context)
    }

    /// Takes and answers buffered queries while the connection may, at most `queriesPerPass` at a time,
    /// then passes on a held read or closes a finished connection.
    private func answerWaitingQueries(context: ChannelHandlerContext) {
        // A write completing inside the flush below, or a forwarded answer ready at once, calls back in
        // here: the pass under way looks at the state again after its flush.
        guard !answering else { return }
        answering = true
        var budget = Self.queriesPerPass
        var wrote = false
        while budget > 0, transfer == nil, state.mayTakeQuery, context.channel.isActive,
            let frame = TCPFrameDecoder.nextFrame(in: &input)
        {
            budget -= 1
            state.queryTaken()
            wrote = answer(frame, context: context) || wrote
        }
        if wrote { context.flush() }
        answering = false
        // Consumed bytes are given back once they are the larger part of the buffer: one copy of what
        // is left (less than a read cycle) instead of keeping every byte a long connection ever sent.
        if input.readerIndex > 16 * 1024 && input.readerIndex > input.readableBytes {
            input.discardReadBytes()
        }
        let waiting = TCPFrameDecoder.hasFrame(in: input)
        if transfer != nil {
            // The transfer's own writes call back in here when it ends.
            return
        } else if waiting && state.mayTakeQuery && context.channel.isActive {
            // More to do, but later: one client's queries must not hold the event loop its neighbours share
            // (a loopback peer's kernel buffers take megabytes of answers before the channel turns unwritable).
            schedulePass(context: context)
        } else if state.isFinished(queryWaiting: waiting) {
            state.closed()
            context.close(promise: nil)
        } else if state.releaseHeldRead(queryWaiting: waiting) {
            context.read()
        }
    }

    /// Queues the next pass a moment from now. NIO runs every task that is due before it polls for I/O
    /// again, so a pass queued for now would run the whole buffer through before any other channel of the
    /// loop is read; one queued for later lets their reads in first.
    private func schedulePass(context: ChannelHandlerContext) {
        guard !passScheduled else { return }
        passScheduled = true
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.passDelay) {
            self.passScheduled = false
            self.answerWaitingQueries(context: context)
        }
    }

    /// Answers one query; true when an answer was written now (to be flushed).
    private func answer(_ request: ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let started = NIODeadline.now()
        let client = context.channel.remoteAddress
        let isIPv6 = client?.protocol == .inet6
        let outcome = request.withUnsafeReadableBytes { bytes in
            pipeline.respond(
                to: bytes, overTCP: true, client: client.flatMap(ForwardingPolicy.address), into: &output
            )
        }
        switch outcome {
        case .answered(let type):
            let wrote = send(context: context)
            metrics.record(type: type, isIPv6: isIPv6, response: output, started: started)
            log(client: client, started: started)
            return wrote
        case .dropped:
            state.queryDropped()
            return false
        case .transfer(let stream):
            transfer = stream
            let wrote = sendTransferMessage(context: context)
            metrics.record(type: stream.type, isIPv6: isIPv6, response: output, started: started)
            log(client: client, started: started)
            return wrote
        case .forward(let query, let request):
            // RFC 7766 §6.2.1.1: answers may go out of order; the client matches them by ID, so later
            // queries on this connection are not held up behind this one.
            pipeline.forward(request, overTCP: true, on: context.eventLoop).assumeIsolated().whenComplete { result in
                switch result {
                case .success(let response):
                    self.pipeline.encode(response, to: query, overTCP: true, into: &self.output)
                    if self.send(context: context) { context.flush() }
                    self.metrics.record(type: query.type, isIPv6: isIPv6, response: self.output, started: started)
                    self.log(client: client, started: started)
                case .failure:
                    self.state.queryDropped()
                }
                self.answerWaitingQueries(context: context)
            }
            return false
        }
    }

    /// Hands the answer in `output` to the query log, when there is one.
    private func log(client: SocketAddress?, started: NIODeadline) {
        guard let queryLog else { return }
        output.withUnsafeBytes { queryLog.record($0, peer: client, overTCP: true, started: started) }
    }

    /// Writes `output` framed, within the bound on queued answers; true when written.
    private func send(context: ChannelHandlerContext) -> Bool {
        let size = output.count + 2
        switch state.answerReady(bytes: size) {
        case .write:
            writeFramed(context: context) { self.answerWaitingQueries(context: context) }
            return true
        case .close:
            close(context: context, reason: "queue")
            return false
        case .discard:
            return false
        }
    }

    /// Writes `output` with its two-byte length (RFC 1035 §4.2.2), the state machine having let it through; once
    /// the write completes (or fails), its bytes leave the queued count and `then` runs.
    private func writeFramed(context: ChannelHandlerContext, then: @escaping () -> Void) {
        let size = output.count + 2
        var buffer = context.channel.allocator.buffer(capacity: size)
        buffer.writeInteger(UInt16(output.count))
        buffer.writeBytes(output)
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.activity?.touch()
            self.state.answerWritten(bytes: size)
            then()
        }
        context.write(wrapOutboundOut(buffer), promise: written)
    }

    /// Writes the transfer's next message; true when one was written (to be flushed). When none is left, or one
    /// cannot be made, the transfer ends (closing the connection in the second case) and queries are taken again.
    private func sendTransferMessage(context: ChannelHandlerContext) -> Bool {
        guard var stream = transfer, context.channel.isActive else { return endTransfer(context: context) }
        let more = stream.nextMessage(into: &output)
        transfer = stream
        guard more else {
            if stream.failed { close(context: context, reason: "transfer") }
            return endTransfer(context: context)
        }
        switch state.partOfAnswerReady(bytes: output.count + 2) {
        case .write:
            writeFramed(context: context) {
                // The next message is made a moment later, as a pass of queries is: a zone of a million names
                // must not hold the event loop it shares with other connections until the socket fills.
                context.eventLoop.assumeIsolated().scheduleTask(in: Self.passDelay) {
                    if self.sendTransferMessage(context: context) { context.flush() }
                }
            }
            return true
        case .close:
            close(context: context, reason: "queue")
            return endTransfer(context: context)
        case .discard:
            return endTransfer(context: context)
        }
    }

    private func endTransfer(context: ChannelHandlerContext) -> Bool {
        guard transfer != nil else { return false }
        transfer = nil
        state.answerEnded()
        context.eventLoop.assumeIsolated().execute { self.answerWaitingQueries(context: context) }
        return false
    }

    // RFC 7766 §6.2.3: the read the channel asks for after each read cycle goes on only while queries
    // may be taken; held, it is what stops the socket being read.
    package func read(context: ChannelHandlerContext) {
        switch state.readRequested(queryWaiting: TCPFrameDecoder.hasFrame(in: input)) {
        case .read:
            context.read()
        case .hold:
            break
        }
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        switch state.writabilityChanged(isWritable: context.channel.isWritable) {
        case .startUnwritableTimer:
            if unwritableTimer == nil {
                unwritableTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) {
                    self.unwritableTimer = nil
                    if self.state.unwritableTimeoutFired() { self.close(context: context, reason: "unwritable") }
                }
            }
        case .cancelUnwritableTimerAndResume:
            unwritableTimer?.cancel()
            unwritableTimer = nil
            answerWaitingQueries(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let idle as IdleStateHandler.IdleStateEvent where idle == .all:
            // RFC 7766 §6.2.3: the server may close an idle connection; idle means nothing moved either way.
            if state.idleTimeoutFired() { close(context: context, reason: "idle") }
        case let channelEvent as ChannelEvent where channelEvent == .inputClosed:
            state.inputEnded()
            answerWaitingQueries(context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Closes the connection for one of the bounds of RFC 7766 §6.2.3, counted by `reason` (rare: the
    /// counter is looked up only then).
    private func close(context: ChannelHandlerContext, reason: String) {
        Counter(label: DNSServer.closedConnectionsLabel, dimensions: [("server", server), ("reason", reason)]).increment()
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        state.closed()
        unwritableTimer?.cancel()
        unwritableTimer = nil
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.closed()
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TCPQueryHandler: Sendable {}
