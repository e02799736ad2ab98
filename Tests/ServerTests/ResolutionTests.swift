import Authority
import DNSMessage
import Forwarding
import Testing

@testable import Server

/// The resolver decides every response, including those the transports used to: what an undecodable request
/// gets, and what the client is told of an upstream's answer or of its absence.
@Suite struct ResolutionTests {
    static let resolver = QueryResolver(snapshots: SnapshotStore())
    static let header = QueryHeader(id: 0x1234, flags: 0x0100)
    static let name = DomainName("www.example.org.")!
    static let upstreamRecord = RRSet(owner: name, type: .a, ttl: 30, rdata: [.a(IPv4Bytes(192, 0, 2, 7))])
    static let soa = RRSet(
        owner: DomainName("example.org.")!, type: .soa, ttl: 60,
        rdata: [
            .soa(SOAData(mname: DomainName("ns.example.org.")!, rname: DomainName("h.example.org.")!, serial: 1,
                         refresh: 1, retry: 1, expire: 1, minimum: 30))
        ]
    )

    enum Expected: Equatable {
        case drop
        case reject(ResponseCode)
    }

    @Test(arguments: [
        (DecodeError.shortHeader, Expected.drop), (.notAQuery, .drop),
        (.malformed(header, .truncated), .reject(.formatError)), (.notImplemented(header), .reject(.notImplemented)),
    ])
    func anUndecodableRequestIsDroppedOrRejected(_ error: DecodeError, _ expected: Expected) {
        let request: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let resolution = request.withUnsafeBytes { Self.resolver.resolve(undecodable: error, request: $0) }
        switch (resolution, expected) {
        case (.drop, .drop):
            break
        case (.reject(let rcode, let header, let edns), .reject(let expectedRcode)):
            #expect(rcode == expectedRcode)
            #expect(header == Self.header, "the request's ID and flags go back")
            #expect(edns == nil)
        default:
            Issue.record("\(error) resolved to \(resolution), not \(expected)")
        }
    }

    @Test func anUpstreamAnswerGoesToTheClientWithRecursionAvailableAndNotAuthoritative() {
        let request = QueryResolver.ForwardRequest(name: Self.name, type: .a, dnssecOK: false, aliasChain: nil)
        let response = request.response(to: .answered(UpstreamAnswer(rcode: .noError, answer: [Self.upstreamRecord])))
        #expect(response == Response(rcode: .noError, authoritative: false, recursionAvailable: true, answer: [Self.upstreamRecord]))
        let negative = request.response(to: .answered(UpstreamAnswer(rcode: .nameError, authority: [Self.soa])))
        #expect(negative == Response(rcode: .nameError, recursionAvailable: true, authority: [Self.soa]))
    }

    @Test(arguments: [ForwardFailure.clientBusy, .busy, .noAnswer])
    func noUpstreamAnswerIsServfail(_ failure: ForwardFailure) {
        let request = QueryResolver.ForwardRequest(name: Self.name, type: .a, dnssecOK: false, aliasChain: nil)
        #expect(request.response(to: .failed(failure)) == Response(rcode: .serverFailure, recursionAvailable: true))
    }

    /// An ExternalName's alias is svcdns's own (authoritative); what the upstream says of the target follows it.
    @Test func anAliasChainComesFirstAndKeepsItsAuthority() {
        let alias = RRSet(
            owner: DomainName("db.prod.svc.cluster.local.")!, type: .cname, ttl: 5, rdata: [.cname(Self.name)])
        let chain = Response(authoritative: true, answer: [alias])
        let request = QueryResolver.ForwardRequest(name: Self.name, type: .a, dnssecOK: false, aliasChain: chain)
        #expect(
            request.response(to: .answered(UpstreamAnswer(rcode: .noError, answer: [Self.upstreamRecord])))
                == Response(authoritative: true, recursionAvailable: true, answer: [alias, Self.upstreamRecord]))
        #expect(
            request.response(to: .failed(.noAnswer))
                == Response(rcode: .serverFailure, authoritative: true, recursionAvailable: true, answer: [alias]))
    }
}
