import Authority
import CoreMetrics
import DNSMessage
import Forwarding
import NIOCore
import ServiceModel

#if canImport(Glibc)
import Glibc
#endif

/// Who may use forwarding, and through what.
public struct ForwardingPolicy: Sendable {
    public let forwarder: Forwarder
    /// `--allow-recursion`: clients outside these get REFUSED for names outside svcdns's zones.
    public let allowRecursion: [IPNetwork]
    /// Refuses forwarding once a probe shows the upstreams send svcdns's questions back to it.
    public let loopGuard: ForwardingLoopGuard
    /// `--filter-aaaa`: AAAA questions that would be forwarded get NODATA here, unasked.
    public let filtersAAAA: Bool

    public init(forwarder: Forwarder, allowRecursion: [IPNetwork] = IPNetwork.privateNetworks, filtersAAAA: Bool = false) {
        self.forwarder = forwarder
        self.allowRecursion = allowRecursion
        self.loopGuard = ForwardingLoopGuard(forwarder: forwarder)
        self.filtersAAAA = filtersAAAA
    }

    /// True when `name` may go upstream: an upstream would be asked, and no loop was found (a probe name that
    /// arrives here is the loop, found now).
    func forwards(_ name: DomainName) -> Bool {
        !loopGuard.isRefusing && !loopGuard.catches(name) && forwarder.forwards(name)
    }

    func allows(_ client: IPAddress?) -> Bool {
        guard let client else { return false }
        return allowRecursion.contains { $0.contains(client) }
    }

    /// The client's address read from its socket address, with no text round trip.
    static func address(_ socketAddress: SocketAddress) -> IPAddress? {
        switch socketAddress {
        case .v4(let v4):
            return .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { address(ipv6: $0) }
        default:
            return nil
        }
    }

    /// The client's address read from a `sockaddr_in`/`sockaddr_in6` as the kernel wrote it (this runs per
    /// UDP query: no NIO `SocketAddress` is built for it).
    static func address(of sockaddr: UnsafeRawPointer) -> IPAddress? {
        switch Int32(sockaddr.load(as: sa_family_t.self)) {
        case AF_INET:
            let address = sockaddr.load(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!, as: UInt32.self)
            return .v4(UInt32(bigEndian: address))
        case AF_INET6:
            let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
            return address(ipv6: UnsafeRawBufferPointer(start: sockaddr + offset, count: 16))
        default:
            return nil
        }
    }

    private static func address(ipv6 raw: UnsafeRawBufferPointer) -> IPAddress {
        let high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        // An IPv4 client of a dual-stack ([::]) listener arrives as ::ffff:a.b.c.d; judge it as IPv4.
        if high == 0 && low >> 32 == 0xFFFF {
            return .v4(UInt32(truncatingIfNeeded: low))
        }
        return .v6(high, low)
    }
}

/// Decides the response to one decoded query: the stage between decoding and encoding.
///
/// In a zone svcdns serves, the answer comes from the current snapshot (one atomic load, no lock).
/// Outside, the query is refused, or, with forwarding on and a client allowed to recurse, answered from
/// the cache or handed back to be forwarded.
public struct QueryResolver: Sendable {
    public let snapshots: SnapshotStore
    public let forwarding: ForwardingPolicy?
    /// `--autopath`: clients whose search list svcdns walks for them (see `SearchPath`).
    public let autopathClients: [IPNetwork]
    /// `--client-zone`: the zone each client is in, for Services that follow zones.
    public let clientZones: ClientZones
    /// `--transfer-to`: who may transfer zones; nil when nobody may.
    public let transfers: TransferPolicy?

    public init(
        snapshots: SnapshotStore, forwarding: ForwardingPolicy? = nil, autopathClients: [IPNetwork] = [],
        clientZones: ClientZones = ClientZones(), transfers: TransferPolicy? = nil
    ) {
        self.snapshots = snapshots
        self.forwarding = forwarding
        self.autopathClients = autopathClients
        self.clientZones = clientZones
        self.transfers = transfers
    }

    /// Transfers refused because `--max-transfers` were already under way.
    static let transfersRefusedBusy = Counter(label: "svcdns_transfers_refused_busy_total")

    /// Answers found by walking a client's search list (`--autopath`), as CoreDNS counts them.
    static let autopathSuccesses = Counter(label: "svcdns_autopath_success_total")

    /// What to do with a request.
    public enum Resolution {
        case answer(Response)
        /// Ask the upstreams (the cache had nothing), and answer with `ForwardRequest.response(to:)`.
        case forward(ForwardRequest)
        /// A request with no question to answer: only its header goes back, with this rcode.
        case reject(ResponseCode, QueryHeader, EDNS?)
        /// Nothing goes back.
        case drop
        /// A zone transfer over TCP: these records, in as many messages as they take, within the slot.
        case transfer(TransferRecords, TransferSlot)
    }

    /// A question for the upstreams, and the authoritative start of the answer when it is the target of a
    /// CNAME svcdns gave (an ExternalName Service): the client gets the alias and what it leads to, as from
    /// any recursive resolver (stub resolvers such as glibc's do not chase CNAMEs themselves).
    public struct ForwardRequest: Sendable {
        public var name: DomainName
        public var type: RecordType
        public var dnssecOK: Bool
        public var aliasChain: Response?
        /// Who asks, for the forwarder's share of in-flight questions per client.
        public var client: IPAddress? = nil
        /// The last step of an autopath walk: the answer to give when the bare name does not exist either (or
        /// no upstream answers), the asked name's own NXDOMAIN, so the client walks on as it would have.
        var autopathFallback: Response? = nil

        package init(name: DomainName, type: RecordType, dnssecOK: Bool, aliasChain: Response?, client: IPAddress? = nil) {
            self.name = name
            self.type = type
            self.dnssecOK = dnssecOK
            self.aliasChain = aliasChain
            self.client = client
        }

        /// The answer to the client: the alias chain, then the upstream's records and rcode, with RA set and AA
        /// only for what svcdns itself holds (the alias); SERVFAIL when no upstream answered.
        public func response(to outcome: ForwardOutcome) -> Response {
            let upstream: UpstreamAnswer
            switch outcome {
            case .answered(let answer): upstream = answer
            case .failed: upstream = UpstreamAnswer(rcode: .serverFailure)
            }
            if let autopathFallback {
                // Only records end the walk; anything else (no such name, no data, a failure) is the asked name's
                // NXDOMAIN, and the client walks on itself.
                guard upstream.rcode == .noError && !upstream.answer.isEmpty else { return autopathFallback }
                QueryResolver.autopathSuccesses.increment()
            }
            var response = aliasChain ?? Response(authoritative: false)
            response.answer += upstream.answer
            response.authority = upstream.authority
            response.additional = upstream.additional
            response.rcode = upstream.rcode
            response.recursionAvailable = true
            return response
        }
    }

    /// `client` is the sender's address, read only for the `--allow-recursion` check.
    public func resolve(_ query: Query, client: IPAddress?) -> Resolution {
        resolve(query, client: client, from: snapshots.load())
    }

    /// What a request that did not decode gets: nothing for what is not a query at all (shorter than a header,
    /// or a response), FORMERR for a malformed query and NOTIMP for an opcode svcdns does not serve, with the
    /// request's EDNS when it could be read.
    public func resolve(undecodable error: DecodeError, request: UnsafeRawBufferPointer) -> Resolution {
        switch error {
        case .shortHeader, .notAQuery:
            return .drop
        case .malformed(let header, _):
            return .reject(.formatError, header, MessageDecoder.ednsOfRejected(request))
        case .notImplemented(let header):
            return .reject(.notImplemented, header, MessageDecoder.ednsOfRejected(request))
        }
    }

    /// As `resolve(_:client:)`, from a snapshot the caller loaded: a UDP worker loads one per batch of
    /// queries it read together, rather than one per query (an atomic load of a strong reference, and
    /// its retain and release).
    func resolve(_ query: Query, client: IPAddress?, from snapshot: Snapshot, overTCP: Bool = false) -> Resolution {
        // RFC 6891 §6.1.3: an EDNS version we do not implement gets BADVERS and nothing else.
        if let edns = query.edns, edns.version > 0 {
            return .answer(Response(rcode: .badVersion))
        }
        guard query.recordClass == RecordClass.internet else {
            return .answer(Response(rcode: .refused))
        }
        if query.type == .axfr || query.type == .ixfr {
            return transfer(query, client: client, overTCP: overTCP)
        }
        // OPT and TSIG records belong in a message's additional section only (RFC 6891 §6.1.1, RFC 8945 §5.1):
        // asked for as a question, the query is malformed, as BIND answers it.
        if query.type == .opt || query.type == .tsig {
            return .answer(Response(rcode: .formatError))
        }
        let dnssecOK = query.edns?.dnssecOK ?? false
        var request: ForwardRequest
        let location = clientZones.isEmpty ? nil : clientZones.locate(client: client, subnet: query.edns?.clientSubnet)
        if var answer = snapshot.answer(name: query.name, type: query.type, clientZone: location?.zone) {
            if let subnet = location?.subnet {
                // RFC 7871 §7.2.1: an answer that depends on the zone is good for the subnet as given, any other
                // for every client (scope 0), so a resolver caches it once.
                answer.response.clientSubnetScope = answer.variesByClientZone ? subnet.sourcePrefixLength : 0
            }
            if answer.response.rcode == .nameError, !autopathClients.isEmpty, let client,
                autopathClients.contains(where: { $0.contains(client) }), let path = snapshot.searchPath(after: query.name),
                let step = autopath(query, along: path, instead: answer.response, client: client, from: snapshot)
            {
                switch step {
                case .found(let response): return .answer(response)
                case .ask(let bare): request = bare
                }
            } else {
                // The common case ends here: svcdns's own answer, with no forwarding state touched.
                guard let target = answer.targetOutsideZones, let forwarding, forwarding.allows(client),
                    forwarding.forwards(target)
                else {
                    return .answer(answer.response)
                }
                request = ForwardRequest(name: target, type: query.type, dnssecOK: dnssecOK, aliasChain: answer.response)
            }
        } else if let local = Self.localhost(query) {
            return .answer(local)
        } else {
            // Never an open resolver: only allowed clients reach the cache and the upstreams.
            guard let forwarding, forwarding.allows(client), forwarding.forwards(query.name) else {
                return .answer(Response(rcode: .refused))
            }
            request = ForwardRequest(name: query.name, type: query.type, dnssecOK: dnssecOK, aliasChain: nil)
        }
        guard let forwarding else { return .answer(Response(rcode: .refused)) }
        // An IPv4-only host asks AAAA of every name alongside A, and can use none of the answers: NODATA (after
        // any alias svcdns holds) saves the upstream half its questions.
        if forwarding.filtersAAAA && request.type == .aaaa {
            return .answer(request.response(to: .answered(UpstreamAnswer(rcode: .noError))))
        }
        request.client = client
        if let cached = forwarding.forwarder.cached(name: request.name, type: request.type, dnssecOK: dnssecOK) {
            return .answer(request.response(to: .answered(cached)))
        }
        return .forward(request)
    }

    /// AXFR and IXFR (RFC 5936, RFC 1995), for clients in `--transfer-to` only. AXFR needs TCP; an IXFR over UDP
    /// gets the current SOA alone, which tells a secondary that is behind to ask again over TCP (RFC 1995 §2).
    private func transfer(_ query: Query, client: IPAddress?, overTCP: Bool) -> Resolution {
        guard let transfers, transfers.allows(client) else { return .answer(Response(rcode: .refused)) }
        guard overTCP || query.type == .ixfr else { return .answer(Response(rcode: .formatError)) }
        // RFC 1995 §3: an IXFR names the secondary's version with an SOA in its authority section.
        if query.type == .ixfr && query.ixfrSerial == nil { return .answer(Response(rcode: .formatError)) }
        let plan = transfers.journal.plan(apex: query.name, clientSerial: query.ixfrSerial)
        let soaAlone: (RRSet) -> Resolution = { soa in
            var owned = soa
            owned.owner = query.name
            return .answer(Response(authoritative: true, answer: [owned]))
        }
        switch plan {
        case .notAuthoritative:
            return .answer(Response(rcode: .notAuthoritative))
        case .upToDate(let soa):
            return soaAlone(soa)
        case .full(let records), .incremental(let records):
            guard overTCP else { return soaAlone(records.soa) }
            // All `--max-transfers` under way: REFUSED, which a secondary takes as "try again later".
            guard let slot = transfers.slots.take() else {
                Self.transfersRefusedBusy.increment()
                return .answer(Response(rcode: .refused))
            }
            return .transfer(records, slot)
        }
    }

    /// Where an autopath walk ends: an answer from svcdns's zones, or the bare name to ask upstream.
    private enum AutopathStep {
        case found(Response)
        case ask(ForwardRequest)
    }

    /// Walks the rest of `query`'s search list for the client (`--autopath`): the first name of it with records
    /// of the asked type is the answer, as a CNAME from the asked name to it followed by its records. The bare name
    /// is left to the forwarding path (when the client may recurse), which falls back to the asked name's NXDOMAIN
    /// unless the upstreams have records; nil when it cannot go there, so that NXDOMAIN stands.
    private func autopath(
        _ query: Query, along path: SearchPath, instead nameError: Response, client: IPAddress, from snapshot: Snapshot
    ) -> AutopathStep? {
        func alias(to target: DomainName) -> RRSet {
            RRSet(owner: query.name, type: .cname, ttl: path.aliasTTL, rdata: [.cname(target)])
        }
        for candidate in path.local {
            guard let found = snapshot.answer(name: candidate, type: query.type), found.response.rcode == .noError,
                !found.response.answer.isEmpty, found.targetOutsideZones == nil
            else { continue }
            var response = found.response
            response.answer.insert(alias(to: candidate), at: 0)
            Self.autopathSuccesses.increment()
            return .found(response)
        }
        guard let forwarding, forwarding.allows(client), forwarding.forwards(path.bare) else { return nil }
        var request = ForwardRequest(
            name: path.bare, type: query.type, dnssecOK: query.edns?.dnssecOK ?? false,
            aliasChain: Response(authoritative: false, answer: [alias(to: path.bare)])
        )
        request.autopathFallback = nameError
        return .ask(request)
    }

    /// RFC 6761 §6.3: `localhost.` and every name below it are the host itself, answered here and never
    /// forwarded: A 127.0.0.1, AAAA ::1, and no data for any other type.
    static func localhost(_ query: Query) -> Response? {
        // `notlocalhost.` is someone else's.
        guard DomainName.key(query.name.lookupKey, isAtOrBelow: Self.localhostKey) else { return nil }
        var response = Response(authoritative: true)
        switch query.type {
        case .a: response.answer = [RRSet(owner: query.name, type: .a, ttl: localhostTTL, rdata: [.a(IPv4Bytes(127, 0, 0, 1))])]
        case .aaaa: response.answer = [RRSet(owner: query.name, type: .aaaa, ttl: localhostTTL, rdata: [.aaaa(IPv6Bytes(high: 0, low: 1))])]
        default: break
        }
        return response
    }

    private static let localhostKey: [UInt8] = [9] + Array("localhost".utf8) + [0]

    /// The host's own names never change.
    static let localhostTTL: UInt32 = 3600

    /// Asks the upstreams for `request`; the future completes on `eventLoop` with the client's answer.
    public func forward(_ request: ForwardRequest, overTCP: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<Response> {
        let client = request.client.map(ClientKey.init)
        return forwarding!.forwarder.forward(
            name: request.name, type: request.type, dnssecOK: request.dnssecOK, overTCP: overTCP, client: client, on: eventLoop
        ).map { request.response(to: $0) }
    }
}
