import DNSMessage

/// An upstream's answer as the forwarder passes it on: the upstream's rcode and its records grouped into RRsets,
/// TTLs capped (and, from the cache, counted down). What the client's response says about it (flags, an alias
/// chain before it) is the resolver's to decide, not the forwarder's.
public struct UpstreamAnswer: Hashable, Sendable {
    public var rcode: ResponseCode
    public var answer: [RRSet]
    public var authority: [RRSet]
    public var additional: [RRSet]

    public init(rcode: ResponseCode, answer: [RRSet] = [], authority: [RRSet] = [], additional: [RRSet] = []) {
        self.rcode = rcode
        self.answer = answer
        self.authority = authority
        self.additional = additional
    }

    /// An upstream's message, its records grouped into RRsets and no TTL above `maxTTL`.
    package init(from message: Message, maxTTL: UInt32) {
        func capped(_ records: [ResourceRecord]) -> [RRSet] {
            RRSet.grouping(records).map { set in
                var set = set
                set.ttl = min(set.ttl, maxTTL)
                return set
            }
        }
        self.init(
            rcode: message.rcode, answer: capped(message.answer), authority: capped(message.authority),
            additional: capped(message.additional)
        )
    }
}

/// What asking the upstreams came to.
public enum ForwardOutcome: Hashable, Sendable {
    case answered(UpstreamAnswer)
    case failed(ForwardFailure)
}

/// Why a question got no upstream answer.
public enum ForwardFailure: Hashable, Sendable {
    /// The client already waits on its share of the questions in flight.
    case clientBusy
    /// As many questions as the forwarder takes are in flight.
    case busy
    /// Every upstream failed or was silent until the deadline.
    case noAnswer
}
