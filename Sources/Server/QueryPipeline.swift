import Authority
import DNSMessage
import Forwarding
import NIOCore
import ServiceModel

/// The query path, transport aside: bytes in, bytes out, through named stages
/// (decode → resolve → encode), with NSD's ladder of early exits for what is not a usable query.
public struct QueryPipeline: Sendable {
    public let resolver: QueryResolver

    public init(resolver: QueryResolver) {
        self.resolver = resolver
    }

    /// What became of one request.
    public enum Outcome {
        /// The response is in `output`; the type asked, when the question could be read.
        case answered(RecordType?)
        /// Nothing is sent (shorter than a header, or a response rather than a query).
        case dropped
        /// The answer comes from upstream: call `forward` and `encode` its response.
        case forward(Query, QueryResolver.ForwardRequest)
        /// A zone transfer (TCP only): write the stream's messages one after another.
        case transfer(ZoneTransferStream)
    }

    /// Decodes and resolves `request`; an answer known now is encoded into `output` at once. `client` is
    /// the sender's address, read only to decide whether it may use forwarding.
    public func respond(
        to request: UnsafeRawBufferPointer, overTCP: Bool, client: IPAddress?, into output: inout [UInt8]
    ) -> Outcome {
        var decision = ResponseRateLimiter.Decision.send
        switch reply(to: request, overTCP: overTCP, client: client, snapshot: resolver.snapshots.load(), decision: &decision) {
        case .send(let message, let limit, let type):
            ResponseEncoder.encode(message, limit: limit, into: &output)
            return .answered(type)
        case .other(let outcome):
            return outcome
        }
    }

    /// As `respond(to:overTCP:client:into:)` for a UDP query, answering from `snapshot` (loaded once per
    /// batch by the worker) and writing an answer known now straight into `datagram` (at least 1232 bytes:
    /// what leaves is never larger); `size` is the answer's length. With `limiter`, an answer known now
    /// passes response rate limiting at `now`: `rateLimit` says whether it was sent as it is, slipped (an
    /// empty TC answer is in `datagram`) or dropped (the outcome is `.dropped`).
    package func respond(
        toDatagram request: UnsafeRawBufferPointer, client: IPAddress?, snapshot: Snapshot,
        limiter: ResponseRateLimiter?, now: NIODeadline, into datagram: UnsafeMutableRawBufferPointer
    ) -> (outcome: Outcome, size: Int, rateLimit: ResponseRateLimiter.Decision) {
        var decision = ResponseRateLimiter.Decision.send
        switch reply(
            to: request, overTCP: false, client: client, snapshot: snapshot, limiter: limiter, now: now,
            decision: &decision
        ) {
        case .send(let message, let limit, let type):
            let size = ResponseEncoder.encode(message, limit: limit, into: datagram)
            return (.answered(type), size, decision)
        case .other(let outcome):
            return (outcome, 0, decision)
        }
    }

    /// What `reply` decided: a message to encode now (within `limit`), or an outcome with nothing to send yet.
    private enum Reply {
        case send(OutgoingMessage, limit: Int, type: RecordType?)
        case other(Outcome)
    }

    /// Decode → resolve → rate limit; the caller encodes what comes out, into its own memory.
    private func reply(
        to request: UnsafeRawBufferPointer, overTCP: Bool, client: IPAddress?, snapshot: Snapshot,
        limiter: ResponseRateLimiter? = nil, now: NIODeadline = .uptimeNanoseconds(0),
        decision: inout ResponseRateLimiter.Decision
    ) -> Reply {
        let query: Query?
        let resolution: QueryResolver.Resolution
        do {
            let decoded = try MessageDecoder.decodeQuery(request)
            query = decoded
            resolution = resolver.resolve(decoded, client: client, from: snapshot, overTCP: overTCP)
        } catch {
            query = nil
            resolution = resolver.resolve(undecodable: error, request: request)
        }
        switch resolution {
        case .answer(var response):
            // Only a decoded query is answered with records.
            guard let query else { return .other(.dropped) }
            if let limiter {
                decision = limiter.decide(response, to: query, client: client, now: now)
                switch decision {
                case .send: break
                case .drop: return .other(.dropped)
                case .slip: response = response.slipped
                }
            }
            let limit = ResponseEncoder.sizeLimit(for: query, overTCP: overTCP)
            return .send(.response(response, to: query), limit: limit, type: query.type)
        case .reject(let rcode, let header, let edns):
            // A rejection has no question to empty: a slipped one goes out as it is (it is as small as a slip).
            if let limiter {
                decision = limiter.decideError(client: client, now: now)
                if decision == .drop { return .other(.dropped) }
            }
            let limit = overTCP ? ResponseEncoder.tcpLimit : ResponseEncoder.classicUDPLimit
            return .send(.error(rcode, header: header, edns: edns), limit: limit, type: query?.type)
        case .forward(let request):
            guard let query else { return .other(.dropped) }
            return .other(.forward(query, request))
        case .drop:
            return .other(.dropped)
        case .transfer(let records, let slot):
            guard let query else { return .other(.dropped) }
            return .other(.transfer(ZoneTransferStream(query: query, records: records, slot: slot)))
        }
    }

    /// Asks the upstreams; the future completes on `eventLoop`.
    public func forward(
        _ request: QueryResolver.ForwardRequest, overTCP: Bool, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Response> {
        resolver.forward(request, overTCP: overTCP, on: eventLoop)
    }

    /// The last stage for a forwarded answer: the response on the wire, within what the transport and the
    /// client allow.
    public func encode(_ response: Response, to query: Query, overTCP: Bool, into output: inout [UInt8]) {
        ResponseEncoder.encode(
            .response(response, to: query), limit: ResponseEncoder.sizeLimit(for: query, overTCP: overTCP), into: &output)
    }
}

extension Response {
    /// What a rate-limited answer slips out as: its rcode and flags, no records, TC set, so a real client
    /// asks again over TCP (NSD and Knot slip the same way).
    package var slipped: Response {
        Response(
            rcode: rcode, authoritative: authoritative, recursionAvailable: recursionAvailable, truncated: true)
    }
}
