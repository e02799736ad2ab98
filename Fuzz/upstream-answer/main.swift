// fuzz-upstream-answer: what the forwarder does with an upstream's response: the check that it answers the
// question asked, RRset grouping and TTL capping, the cache's insert and lookup, the client's response the
// resolver makes of it, and the encoding of that to the client over UDP and TCP. What reaches the client must be read by libldns and fit its limit.
import DNSMessage
import Forwarding
import FuzzSupport
import NIOCore
import Server

private let maxTTL: UInt32 = 300
/// Small, so that eviction by count and by bytes comes up too.
private let cache = ResponseCache(capacity: 8, maxTTL: maxTTL, maxBytes: 16 * 1024)
/// The question asked of the upstream when the input names none this could match.
private let asked = AnswerMatcher(id: 0x4242, name: DomainName("www.example.org.")!, type: .a)
private nonisolated(unsafe) var clock: UInt64 = 1_000_000_000
private nonisolated(unsafe) var output: [UInt8] = []
/// Whether libldns could read the upstream answer each cache entry was last stored from: an entry outlives
/// its input, and is held to that input's standard, not the current one's. Cleared now and then, to stay small.
private nonisolated(unsafe) var storedFromReadable: [CacheKey: Bool] = [:]

/// The client's response to an upstream answer, as the resolver makes it.
private func clientResponse(_ answer: UpstreamAnswer, name: DomainName, type: RecordType) -> Response {
    QueryResolver.ForwardRequest(name: name, type: type, dnssecOK: false, aliasChain: nil).response(to: .answered(answer))
}

private func requireCapped(_ response: Response, _ what: String) {
    for set in response.answer + response.authority + response.additional {
        require(set.ttl <= maxTTL, "\(what): a TTL of \(set.ttl) is over the cap of \(maxTTL)")
    }
}

/// The client's side: the response encoded to its query, over UDP (with and without EDNS) and TCP. Records of
/// types svcdns does not know are passed on as opaque data (RFC 3597), as the upstream sent them. libldns is
/// the judge only of answers without such data: it reads some types it knows more loosely than their length
/// (NSAP-PTR's data as one string, the rest skipped, so it misreads what follows), so its verdict on the
/// upstream's bytes says nothing of svcdns's. Otherwise svcdns's own reading of what it sent must give back
/// records of the response, with their names, types and data.
private func requireDeliverable(_ response: Response, name: DomainName, type: RecordType, upstreamReadable: Bool) {
    let queries = [
        (Query(header: QueryHeader(id: 7, flags: 0x0100), name: name, type: type, recordClass: 1, edns: nil), false),
        (Query(header: QueryHeader(id: 8, flags: 0x0100), name: name, type: type, recordClass: 1,
               edns: EDNS(udpPayloadSize: 1232, dnssecOK: true)), false),
        (Query(header: QueryHeader(id: 9, flags: 0x0100), name: name, type: type, recordClass: 1, edns: nil), true),
    ]
    for (query, overTCP) in queries {
        let limit = ResponseEncoder.sizeLimit(for: query, overTCP: overTCP)
        ResponseEncoder.encode(.response(response, to: query), limit: limit, into: &output)
        output.withUnsafeBytes { bytes in
            if upstreamReadable {
                WireCheck.requireResponse(bytes, limit: limit, id: query.id, what: "forwarded answer (TCP: \(overTCP))")
            } else {
                require(bytes.count <= limit, "a forwarded answer of \(bytes.count) bytes is over the limit of \(limit)")
                let reread = try? MessageDecoder.decodeMessage(bytes)
                require(reread?.header.id == query.id, "a forwarded answer does not frame: \(WireCheck.hex(bytes))")
                let sent = Set((response.answer + response.authority + response.additional).flatMap { set in
                    set.rdata.map { ResourceRecord(owner: set.owner, type: set.type, ttl: set.ttl, rdata: $0) }
                })
                for record in (reread?.answer ?? []) + (reread?.authority ?? []) + (reread?.additional ?? []) {
                    require(sent.contains(record), "a forwarded answer holds \(record), not in the response: \(WireCheck.hex(bytes))")
                }
            }
        }
    }
}

private func handle(_ bytes: ByteBuffer, asked matcher: AnswerMatcher, upstreamReadable: Bool) {
    guard let message = matcher.match(bytes) else { return }
    require(message.header.id == matcher.id && message.questions.count == 1, "matched an answer to another question")
    let response = clientResponse(UpstreamAnswer(from: message, maxTTL: maxTTL), name: matcher.name, type: matcher.type)
    requireCapped(response, "the answer")
    requireDeliverable(response, name: matcher.name, type: matcher.type, upstreamReadable: upstreamReadable)

    let key = CacheKey(name: matcher.name, type: matcher.type, dnssecOK: false)
    let now = NIODeadline.uptimeNanoseconds(clock)
    let lifetime = cache.store(message, for: key, now: now)
    require(lifetime <= maxTTL, "cached for \(lifetime) s, over the cap")
    if lifetime > 0 {
        if storedFromReadable.count >= 10_000 { storedFromReadable.removeAll() }
        storedFromReadable[key] = upstreamReadable
    }
    let cachedReadable = storedFromReadable[key] ?? false
    if let cached = cache.lookup(key, now: now).map({ clientResponse($0, name: matcher.name, type: matcher.type) }) {
        requireCapped(cached, "the cached answer")
        // What the store declined (lifetime 0) leaves an earlier answer to the same question in place.
        require(
            lifetime == 0 || cached.rcode == response.rcode,
            "the cache answers \(cached.rcode), the upstream said \(response.rcode)")
        requireDeliverable(cached, name: matcher.name, type: matcher.type, upstreamReadable: cachedReadable)
    }
    // A second later the same entry is older by a second, or gone.
    if let later = cache.lookup(key, now: now + .seconds(1)).map({ clientResponse($0, name: matcher.name, type: matcher.type) }) {
        requireCapped(later, "the aged answer")
        requireDeliverable(later, name: matcher.name, type: matcher.type, upstreamReadable: cachedReadable)
    }
}

/// Whether svcdns reads any record of the message as opaque data (a type it has no case of its own for).
private func holdsOpaqueData(_ raw: UnsafeRawBufferPointer) -> Bool {
    guard let message = try? MessageDecoder.decodeMessage(raw) else { return false }
    return (message.answer + message.authority + message.additional).contains {
        if case .opaque = $0.rdata { return true }
        return false
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamAnswer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    clock += 700_000_000  // entries age and expire across inputs
    let bytes = ByteBuffer(bytes: raw)
    let readable = WireCheck.read(raw) != nil && !holdsOpaqueData(raw)
    handle(bytes, asked: asked, upstreamReadable: readable)
    // As if the input answered the question it names: the part past the question check is reached too.
    if let message = try? MessageDecoder.decodeMessage(raw), let question = message.questions.first {
        handle(bytes, asked: AnswerMatcher(id: message.header.id, name: question.name, type: question.type), upstreamReadable: readable)
    }
    return 0
}
