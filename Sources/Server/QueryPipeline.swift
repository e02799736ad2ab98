import DNSMessage

/// The query path, transport aside: bytes in, bytes out, through named stages
/// (decode → resolve → encode), with NSD's ladder of early exits for what is not a usable query.
public struct QueryPipeline: Sendable {
    public let resolver: QueryResolver

    public init(resolver: QueryResolver) {
        self.resolver = resolver
    }

    /// Writes the response to `request` into `output` and returns true, or returns false when the
    /// message is to be dropped (shorter than a header, or a response rather than a query).
    public func respond(
        to request: UnsafeRawBufferPointer, overTCP: Bool, encoder: inout ResponseEncoder, into output: inout [UInt8]
    ) -> Bool {
        let query: Query
        do {
            query = try MessageDecoder.decodeQuery(request)
        } catch {
            switch error {
            case .shortHeader, .notAQuery:
                return false
            case .malformed(let header, _):
                let edns = MessageDecoder.ednsOfRejected(request)
                ResponseEncoder.encodeError(.formatError, header: header, edns: edns, into: &output)
                return true
            case .notImplemented(let header):
                let edns = MessageDecoder.ednsOfRejected(request)
                ResponseEncoder.encodeError(.notImplemented, header: header, edns: edns, into: &output)
                return true
            }
        }
        let response = resolver.resolve(query)
        let limit = ResponseEncoder.sizeLimit(for: query, overTCP: overTCP)
        encoder.encode(response, to: query, limit: limit, into: &output)
        return true
    }
}
