import CoreMetrics
import DNSMessage
import Locking
import NIOCore

/// The DNS path's metrics, named and labelled as CoreDNS names them, with the prefix `svcdns_` for
/// `coredns_`, so existing dashboards port by changing the prefix: requests by transport, family and
/// type, responses by rcode, request duration and response size.
///
/// One per UDP worker or TCP connection handler, so it belongs to one thread. Per query, `count` adds to
/// plain integers in slots found by index (no hashing, no lock) and records the response size; `flush`
/// hands the sums to the counters and records each query's duration, once per batch of queries. The
/// metric objects of each label set are made on first use and kept. The histograms (duration, size)
/// take the backend's lock per observation: swift-metrics has no way to record several at once.
final class DNSMetrics {
    private let server: String
    private let proto: String
    /// CoreDNS keeps the type label to the common types; the rest count as `other` (slot 0).
    private static let namedTypes: [RecordType] = [.a, .aaaa, .cname, .ns, .ptr, .soa, .srv, .txt, .mx, .any, .axfr, .ixfr]
    private static let typeSlots = namedTypes.count + 1
    private static let rcodeSlots = 16

    // Slots: requests by family (IPv4 first) and type, responses by rcode, durations by type.
    private let requests: UnsafeMutablePointer<Counter?>
    private let pendingRequests: UnsafeMutablePointer<Int>
    private let responses: UnsafeMutablePointer<Counter?>
    private let pendingResponses: UnsafeMutablePointer<Int>
    private let durations: UnsafeMutablePointer<Timer?>
    private let pendingDurations: UnsafeMutablePointer<Int>
    private let responseSize: Recorder
    /// Responses rate limiting slipped (sent empty with TC) and dropped.
    private var rateLimitCounters: (slipped: Counter, dropped: Counter)?
    private var pendingSlipped = 0
    private var pendingDropped = 0

    static let requestDurationLabel = "svcdns_dns_request_duration_seconds"
    static let responseSizeLabel = "svcdns_dns_response_size_bytes"

    init(server: String, proto: String) {
        self.server = server
        self.proto = proto
        requests = .allocate(capacity: 2 * Self.typeSlots)
        requests.initialize(repeating: nil, count: 2 * Self.typeSlots)
        pendingRequests = .allocate(capacity: 2 * Self.typeSlots)
        pendingRequests.initialize(repeating: 0, count: 2 * Self.typeSlots)
        responses = .allocate(capacity: Self.rcodeSlots)
        responses.initialize(repeating: nil, count: Self.rcodeSlots)
        pendingResponses = .allocate(capacity: Self.rcodeSlots)
        pendingResponses.initialize(repeating: 0, count: Self.rcodeSlots)
        durations = .allocate(capacity: Self.typeSlots)
        durations.initialize(repeating: nil, count: Self.typeSlots)
        pendingDurations = .allocate(capacity: Self.typeSlots)
        pendingDurations.initialize(repeating: 0, count: Self.typeSlots)
        responseSize = Recorder(
            label: Self.responseSizeLabel, dimensions: [("server", server), ("zone", "."), ("view", ""), ("proto", proto)],
            aggregate: true
        )
    }

    deinit {
        requests.deinitialize(count: 2 * Self.typeSlots)
        requests.deallocate()
        pendingRequests.deallocate()
        responses.deinitialize(count: Self.rcodeSlots)
        responses.deallocate()
        pendingResponses.deallocate()
        durations.deinitialize(count: Self.typeSlots)
        durations.deallocate()
        pendingDurations.deallocate()
    }

    /// Counts one answered request of `size` bytes with header `rcode`; it reaches the counters at the
    /// next `flush`. `type` is nil when the question could not be read (FORMERR, NOTIMP).
    func count(type: RecordType?, isIPv6: Bool, size: Int, rcode: UInt8) {
        let slot = Self.typeSlot(type)
        pendingRequests[(isIPv6 ? Self.typeSlots : 0) + slot] += 1
        pendingResponses[Int(rcode & 0x0F)] += 1
        pendingDurations[slot] += 1
        responseSize.record(size)
    }

    /// `count` for a response in an array.
    func count(type: RecordType?, isIPv6: Bool, response: [UInt8]) {
        count(type: type, isIPv6: isIPv6, size: response.count, rcode: response.count >= 4 ? response[3] : 2)
    }

    /// Counts one response that response rate limiting slipped or dropped (a slipped one is also counted
    /// as answered, by `count`); it reaches the counters at the next `flush`.
    func countRateLimited(_ decision: ResponseRateLimiter.Decision) {
        switch decision {
        case .send: break
        case .slip: pendingSlipped += 1
        case .drop: pendingDropped += 1
        }
    }

    /// Adds everything counted since the last flush; every query counted took from `started` until now.
    func flush(started: NIODeadline) {
        if pendingSlipped > 0 || pendingDropped > 0 {
            let counters = rateLimitCounters ?? Self.makeRateLimitCounters(server: server)
            rateLimitCounters = counters
            counters.slipped.increment(by: pendingSlipped)
            counters.dropped.increment(by: pendingDropped)
            pendingSlipped = 0
            pendingDropped = 0
        }
        let elapsed = (NIODeadline.now() - started).nanoseconds
        for slot in 0..<(2 * Self.typeSlots) where pendingRequests[slot] > 0 {
            requestCounter(slot).increment(by: pendingRequests[slot])
            pendingRequests[slot] = 0
        }
        for rcode in 0..<Self.rcodeSlots where pendingResponses[rcode] > 0 {
            responseCounter(rcode).increment(by: pendingResponses[rcode])
            pendingResponses[rcode] = 0
        }
        for slot in 0..<Self.typeSlots where pendingDurations[slot] > 0 {
            let timer = durationTimer(slot)
            for _ in 0..<pendingDurations[slot] { timer.recordNanoseconds(elapsed) }
            pendingDurations[slot] = 0
        }
    }

    /// Counts one request and flushes at once (TCP answers one query at a time).
    func record(type: RecordType?, isIPv6: Bool, response: [UInt8], started: NIODeadline) {
        count(type: type, isIPv6: isIPv6, response: response)
        flush(started: started)
    }

    /// NSD and Knot count these too; the names follow this file's `svcdns_` prefix.
    static func makeRateLimitCounters(server: String) -> (slipped: Counter, dropped: Counter) {
        (
            Counter(label: "svcdns_rrl_slipped_total", dimensions: [("server", server)]),
            Counter(label: "svcdns_rrl_dropped_total", dimensions: [("server", server)])
        )
    }

    private static func typeSlot(_ type: RecordType?) -> Int {
        guard let type else { return 0 }
        switch type.rawValue {
        case 1: return 1  // A, the most common by far, found first
        case 28: return 2
        case 5: return 3
        case 2: return 4
        case 12: return 5
        case 6: return 6
        case 33: return 7
        case 16: return 8
        case 15: return 9
        case 255: return 10
        case 252: return 11
        case 251: return 12
        default: return 0
        }
    }

    private static func typeLabel(_ slot: Int) -> String {
        slot == 0 ? "other" : namedTypes[slot - 1].description
    }

    private func requestCounter(_ slot: Int) -> Counter {
        if let counter = requests[slot] { return counter }
        let family = slot >= Self.typeSlots ? "2" : "1"
        let counter = Counter(
            label: "svcdns_dns_requests_total",
            dimensions: [
                ("server", server), ("zone", "."), ("view", ""), ("proto", proto), ("family", family),
                ("type", Self.typeLabel(slot % Self.typeSlots)),
            ]
        )
        requests[slot] = counter
        return counter
    }

    private func responseCounter(_ rcode: Int) -> Counter {
        if let counter = responses[rcode] { return counter }
        let counter = Counter(
            label: "svcdns_dns_responses_total",
            dimensions: [
                ("server", server), ("zone", "."), ("view", ""), ("rcode", ResponseCode(rawValue: UInt16(rcode)).description),
                ("plugin", "svcdns"),
            ]
        )
        responses[rcode] = counter
        return counter
    }

    private func durationTimer(_ slot: Int) -> Timer {
        if let timer = durations[slot] { return timer }
        let timer = Timer(
            label: Self.requestDurationLabel,
            dimensions: [("server", server), ("zone", "."), ("view", ""), ("type", Self.typeLabel(slot))]
        )
        durations[slot] = timer
        return timer
    }
}

@available(*, unavailable)
extension DNSMetrics: Sendable {}

/// `DNSMetrics` for answers that complete on several threads at once (forwarded queries): one lock
/// around each record. Off the authoritative path.
final class LockedDNSMetrics: Sendable {
    private let metrics: Locked<DNSMetrics>

    init(server: String, proto: String) {
        metrics = Locked(DNSMetrics(server: server, proto: proto))
    }

    func record(type: RecordType?, isIPv6: Bool, response: [UInt8], started: NIODeadline) {
        metrics.withLock { $0.record(type: type, isIPv6: isIPv6, response: response, started: started) }
    }

    /// Counts a slipped or dropped forwarded answer at once.
    func countRateLimited(_ decision: ResponseRateLimiter.Decision) {
        metrics.withLock { metrics in
            metrics.countRateLimited(decision)
            if decision == .drop { metrics.flush(started: .now()) }
        }
    }
}
