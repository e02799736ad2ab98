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
    }

    /// Decodes and resolves `request`; an answer known now is encoded into `output` at once. `client` is
    /// the sender's address, read only to decide whether it may use forwarding.
    public func respond(
        to request: UnsafeRawBufferPointer, overTCP: Bool, client: IPAddress?, encoder: inout ResponseEncoder,
        into output: inout [UInt8]
    ) -> Outcome {
        let query: Query
        do {
            query = try MessageDecoder.decodeQuery(request)
        } catch {
            switch error {
            case .shortHeader, .notAQuery:
                return .dropped
            case .malformed(let header, _):
                let edns = MessageDecoder.ednsOfRejected(request)
                ResponseEncoder.encodeError(.formatError, header: header, edns: edns, into: &output)
                return .answered(nil)
            case .notImplemented(let header):
                let edns = MessageDecoder.ednsOfRejected(request)
                ResponseEncoder.encodeError(.notImplemented, header: header, edns: edns, into: &output)
                return .answered(nil)
            }
        }
        switch resolver.resolve(query, client: client) {
        case .answer(let response):
            encode(response, to: query, overTCP: overTCP, encoder: &encoder, into: &output)
            return .answered(query.type)
        case .forward(let request):
            return .forward(query, request)
        }
    }

    /// Asks the upstreams; the future completes on `eventLoop`.
    public func forward(
        _ request: QueryResolver.ForwardRequest, overTCP: Bool, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Response> {
        resolver.forward(request, overTCP: overTCP, on: eventLoop)
    }

    /// The last stage: the response on the wire, within what the transport and the client allow.
    public func encode(
        _ response: Response, to query: Query, overTCP: Bool, encoder: inout ResponseEncoder, into output: inout [UInt8]
    ) {
        encoder.encode(response, to: query, limit: ResponseEncoder.sizeLimit(for: query, overTCP: overTCP), into: &output)
    }
}
