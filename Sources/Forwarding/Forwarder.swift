import CoreMetrics
import DNSMessage
import Locking
import Logging
import NIOCore
import NIOPosix

/// Answers names outside svcdns's zones by asking upstream resolvers: cache first, then the upstreams in
/// order of health, over UDP with a retry over TCP when the answer is truncated.
///
/// Many clients asking the same question at once share one upstream exchange, and at most
/// `maxInFlight` distinct questions are outstanding: past that, SERVFAIL at once, rather than a queue
/// that grows until every answer comes too late to matter. One client (address) may wait on at most
/// `maxInFlightPerClient` questions at once (a tenth of them), so that one client asking random names
/// cannot take every slot from the others: its questions past that get SERVFAIL at once, as CoreDNS's
/// `max_concurrent` answers past its bound. An answer, not a drop: the client does not wait out a
/// timeout and ask again (which adds load rather than shedding it), and SERVFAIL is no larger than the
/// query, so it amplifies nothing.
public final class Forwarder: Sendable {
    /// Where names go that no stub domain claims; may be empty when stub domains are all there is.
    public let upstreams: [Upstream]
    /// Zones with upstreams of their own, longest (most labels) first: the first that holds a name wins.
    public let stubDomains: [StubDomain]
    public let cache: ResponseCache
    /// Per upstream and attempt.
    public let timeout: TimeAmount
    /// No question takes longer than this in all, however many upstreams there are: SERVFAIL then.
    public let deadline: TimeAmount
    public let maxInFlight: Int
    /// The questions one client may wait on at once (joined or started): a tenth of `maxInFlight`.
    public let maxInFlightPerClient: Int
    private let health: UpstreamHealth
    private let inFlight: Locked<InFlight>
    private let clientLimited = Counter(label: "svcdns_forward_client_limited_total")

    /// The questions asked upstream now, and how many each client waits on.
    private struct InFlight {
        var questions: [CacheKey: EventLoopFuture<Message?>] = [:]
        var perClient: [ClientKey: Int] = [:]
    }
    private let logger: Logger
    private let metrics: [Upstream: UpstreamMetrics]
    private let cacheHits = Counter(label: "svcdns_cache_hits_total")
    private let cacheMisses = Counter(label: "svcdns_cache_misses_total")
    private let servedStale = Counter(label: "svcdns_cache_served_stale_total")
    private let prefetches = Counter(label: "svcdns_cache_prefetch_total")
    /// Where background refreshes (prefetch, stale) ask the upstreams: no client waits on them.
    private let refreshLoops: any EventLoopGroup

    /// CoreDNS's forward plugin metrics, per upstream (`to`), prefix `svcdns_`.
    private struct UpstreamMetrics: Sendable {
        let requests: Counter
        let errors: Counter
        let duration: Timer

        init(_ upstream: Upstream) {
            let to = [("to", upstream.description)]
            requests = Counter(label: "svcdns_forward_requests_total", dimensions: to)
            errors = Counter(label: "svcdns_forward_errors_total", dimensions: to)
            duration = Timer(label: "svcdns_forward_request_duration_seconds", dimensions: to)
        }
    }

    public init(
        upstreams: [Upstream], stubDomains: [StubDomain] = [], cache: ResponseCache, timeout: TimeAmount = .seconds(2),
        deadline: TimeAmount = .milliseconds(4500), maxInFlight: Int = 1000, retryFailedAfter: TimeAmount = .seconds(5),
        refreshLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.refreshLoops = refreshLoops
        self.upstreams = upstreams
        self.stubDomains = stubDomains.sorted { $0.zone.labelCount > $1.zone.labelCount }
        self.cache = cache
        self.timeout = timeout
        self.deadline = deadline
        self.maxInFlight = maxInFlight
        self.maxInFlightPerClient = max(1, maxInFlight / 10)
        self.health = UpstreamHealth(retryAfter: retryFailedAfter)
        self.inFlight = Locked(InFlight())
        self.logger = logger
        let every = upstreams + stubDomains.flatMap(\.upstreams)
        self.metrics = Dictionary(every.map { ($0, UpstreamMetrics($0)) }, uniquingKeysWith: { first, _ in first })
    }

    /// The upstreams for `name`: those of the longest stub domain that holds it, else the default ones.
    public func upstreams(for name: DomainName) -> [Upstream] {
        guard !stubDomains.isEmpty else { return upstreams }
        let key = name.lookupKey
        return stubDomains.first { $0.contains(key) }?.upstreams ?? upstreams
    }

    /// True when some upstream would be asked about `name`.
    public func forwards(_ name: DomainName) -> Bool {
        !upstreams.isEmpty || !upstreams(for: name).isEmpty
    }

    /// The cached answer to `query`, if any: the synchronous fast path, taken on the event loop that read it.
    public func cached(_ query: Query) -> UpstreamAnswer? {
        cached(name: query.name, type: query.type, dnssecOK: query.edns?.dnssecOK ?? false)
    }

    /// The cached answer to a question, if any: fresh, or stale while the upstreams fail (RFC 8767). A popular
    /// answer near its end, or a stale one, is refreshed in the background, so clients never wait for it.
    public func cached(name: DomainName, type: RecordType, dnssecOK: Bool) -> UpstreamAnswer? {
        let key = CacheKey(name: name, type: type, dnssecOK: dnssecOK)
        guard let hit = cache.find(key) else {
            cacheMisses.increment()
            return nil
        }
        cacheHits.increment()
        if hit.isStale { servedStale.increment() }
        if hit.shouldRefresh {
            if !hit.isStale { prefetches.increment() }
            refresh(name: name, type: type, dnssecOK: dnssecOK)
        }
        return hit.answer
    }

    /// Asks the upstreams with no client waiting; the answer goes into the cache, a failure leaves the entry to
    /// be served stale.
    private func refresh(name: DomainName, type: RecordType, dnssecOK: Bool) {
        forward(name: name, type: type, dnssecOK: dnssecOK, overTCP: false, servingStale: false, on: refreshLoops.next())
            .whenSuccess { outcome in
                // The cache keeps a servable answer rather than an upstream's SERVFAIL: not refreshed either.
                if case .answered(let answer) = outcome, answer.rcode != .serverFailure { return }
                self.cache.refreshFailed(CacheKey(name: name, type: type, dnssecOK: dnssecOK))
            }
    }

    /// Asks the upstreams about `query`'s question, for `client` (see `forward(name:type:dnssecOK:overTCP:client:on:)`).
    public func forward(
        _ query: Query, overTCP: Bool, client: ClientKey? = nil, on eventLoop: any EventLoop
    ) -> EventLoopFuture<ForwardOutcome> {
        forward(
            name: query.name, type: query.type, dnssecOK: query.edns?.dnssecOK ?? false, overTCP: overTCP, client: client,
            on: eventLoop
        )
    }

    /// Asks the upstreams; the future succeeds on `eventLoop` with the answer, or with the reason there is none
    /// (every upstream failed, or too many questions are in flight). `overTCP` starts with TCP (the client used
    /// TCP, so a large answer is welcome). `client` is who asks: it fails at once when that client already waits
    /// on `maxInFlightPerClient` questions (nil: not counted, for svcdns's own questions). With `servingStale`, a
    /// failure (or an upstream's SERVFAIL) becomes the cached answer that expired less than `--serve-stale` ago,
    /// with TTL 30, when there is one.
    public func forward(
        name: DomainName, type: RecordType, dnssecOK: Bool, overTCP: Bool, client: ClientKey? = nil,
        servingStale: Bool = true, on eventLoop: any EventLoop
    ) -> EventLoopFuture<ForwardOutcome> {
        let key = CacheKey(name: name, type: type, dnssecOK: dnssecOK)
        enum Join {
            case existing(EventLoopFuture<Message?>)
            case started(EventLoopPromise<Message?>)
            case full
            case clientFull
        }
        let join = inFlight.withLock { table -> Join in
            if let client, table.perClient[client, default: 0] >= maxInFlightPerClient { return .clientFull }
            let join: Join
            if let existing = table.questions[key] {
                join = .existing(existing)
            } else if table.questions.count < maxInFlight {
                let promise = eventLoop.makePromise(of: Message?.self)
                table.questions[key] = promise.futureResult
                join = .started(promise)
            } else {
                return .full
            }
            if let client { table.perClient[client, default: 0] += 1 }
            return join
        }
        let shared: EventLoopFuture<Message?>
        switch join {
        case .clientFull:
            clientLimited.increment()
            return eventLoop.makeSucceededFuture(.failed(.clientBusy))
        case .full:
            return eventLoop.makeSucceededFuture(.failed(.busy))
        case .existing(let future):
            shared = future
        case .started(let promise):
            let started = NIODeadline.now()
            let candidates = health.order(upstreams(for: name))[...]
            ask(name: name, type: type, key: key, candidates: candidates, overTCP: overTCP, started: started, on: eventLoop)
                .whenComplete { result in
                    self.inFlight.withLock { _ = $0.questions.removeValue(forKey: key) }
                    promise.completeWith(result)
                }
            shared = promise.futureResult
        }
        if let client {
            shared.whenComplete { _ in
                self.inFlight.withLock { table in
                    // The entry leaves with the client's last question, so the table holds only clients waiting now.
                    if let count = table.perClient[client], count > 1 {
                        table.perClient[client] = count - 1
                    } else {
                        table.perClient[client] = nil
                    }
                }
            }
        }
        let maxTTL = cache.maxTTL
        return shared.hop(to: eventLoop).map { message in
            // RFC 8767: no upstream answered, or one could not (SERVFAIL): an answer that expired a while ago beats
            // a failure.
            if servingStale, message == nil || message?.rcode == .serverFailure, let stale = self.cache.stale(key) {
                self.servedStale.increment()
                return .answered(stale)
            }
            guard let message else { return .failed(.noAnswer) }
            return .answered(UpstreamAnswer(from: message, maxTTL: maxTTL))
        }
    }

    /// Tries `candidates` in turn until one answers or the deadline passes; nil when none answered.
    private func ask(
        name: DomainName, type: RecordType, key: CacheKey, candidates: ArraySlice<Upstream>, overTCP: Bool, started: NIODeadline,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<Message?> {
        guard let upstream = candidates.first else { return eventLoop.makeSucceededFuture(nil) }
        let remaining = deadline - (NIODeadline.now() - started)
        guard remaining > .zero else { return eventLoop.makeSucceededFuture(nil) }
        let exchange = UpstreamExchange(
            upstream: upstream, name: name, type: type, dnssecOK: key.dnssecOK, timeout: min(timeout, remaining)
        )
        let upstreamMetrics = metrics[upstream]
        upstreamMetrics?.requests.increment()
        let askedAt = NIODeadline.now()
        let attempt = overTCP ? exchange.overTCP(on: eventLoop) : exchange.overUDP(on: eventLoop)
        return attempt.flatMap { message -> EventLoopFuture<Message> in
            // RFC 7766 §5: a truncated UDP answer is asked again over TCP, of the same upstream.
            guard message.isTruncated, !overTCP else { return eventLoop.makeSucceededFuture(message) }
            return exchange.overTCP(on: eventLoop)
        }.map { message -> Message? in
            upstreamMetrics?.duration.recordNanoseconds((NIODeadline.now() - askedAt).nanoseconds)
            self.health.recordSuccess(upstream)
            self.cache.store(message, for: key)
            return message
        }.flatMapError { error in
            upstreamMetrics?.errors.increment()
            let wasHealthy = !self.health.isFailed(upstream)
            self.health.recordFailure(upstream)
            if wasHealthy {
                self.logger.info(
                    "upstream failed: skipping it for a while",
                    metadata: ["upstream.address": "\(upstream)", "error": "\(error)"]
                )
            }
            return self.ask(
                name: name, type: type, key: key, candidates: candidates.dropFirst(), overTCP: overTCP, started: started,
                on: eventLoop
            )
        }
    }
}

/// Who is asking, for the per-client caps (forwarded questions in flight here, TCP connections in Server): an
/// IPv4 address, or an IPv6 /64, as 128 bits, so that this module needs no address type of its own. A /64, since
/// one host may hold every address of its /64: a cap per IPv6 address would be no cap.
public struct ClientKey: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}
