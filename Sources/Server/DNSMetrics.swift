import CoreMetrics
import DNSMessage
import NIOCore

/// The DNS path's metrics, named and labelled as CoreDNS names them, with the prefix `svcdns_` for
/// `coredns_`, so existing dashboards port by changing the prefix: requests by transport, family and
/// type, responses by rcode, request duration and response size.
///
/// One per channel handler, so it belongs to one event loop: the metric objects for each label set are
/// made once and kept, and a query only increments them (atomics; the histograms take the backend's
/// short lock per observation).
final class DNSMetrics {
    private let server: String
    private let proto: String
    private var requests: [String: Counter] = [:]
    private var responses: [UInt16: Counter] = [:]
    private var durations: [String: Timer] = [:]
    private let responseSize: Recorder

    static let requestDurationLabel = "svcdns_dns_request_duration_seconds"
    static let responseSizeLabel = "svcdns_dns_response_size_bytes"
    /// CoreDNS keeps the type label to the common types; the rest count as `other`.
    private static let namedTypes: Set<RecordType> = [.a, .aaaa, .cname, .ns, .ptr, .soa, .srv, .txt, .mx, .any, .axfr, .ixfr]

    init(server: String, proto: String) {
        self.server = server
        self.proto = proto
        responseSize = Recorder(
            label: Self.responseSizeLabel, dimensions: [("server", server), ("zone", "."), ("view", ""), ("proto", proto)],
            aggregate: true
        )
    }

    /// Counts one answered request. `type` is nil when the question could not be read (FORMERR, NOTIMP).
    func record(type: RecordType?, family: String, response: [UInt8], started: NIODeadline) {
        let typeLabel = type.map { Self.namedTypes.contains($0) ? $0.description : "other" } ?? "other"
        let requestKey = family + typeLabel
        if requests[requestKey] == nil {
            requests[requestKey] = Counter(
                label: "svcdns_dns_requests_total",
                dimensions: [
                    ("server", server), ("zone", "."), ("view", ""), ("proto", proto), ("family", family), ("type", typeLabel),
                ]
            )
        }
        requests[requestKey]!.increment()
        let rcode = response.count >= 4 ? UInt16(response[3] & 0x0F) : 2
        if responses[rcode] == nil {
            responses[rcode] = Counter(
                label: "svcdns_dns_responses_total",
                dimensions: [
                    ("server", server), ("zone", "."), ("view", ""), ("rcode", ResponseCode(rawValue: rcode).description),
                    ("plugin", "svcdns"),
                ]
            )
        }
        responses[rcode]!.increment()
        if durations[typeLabel] == nil {
            durations[typeLabel] = Timer(
                label: Self.requestDurationLabel, dimensions: [("server", server), ("zone", "."), ("view", ""), ("type", typeLabel)]
            )
        }
        durations[typeLabel]!.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
        responseSize.record(response.count)
    }

    /// CoreDNS's family label: 1 for IPv4 clients, 2 for IPv6.
    static func family(of address: SocketAddress?) -> String {
        address?.protocol == .inet6 ? "2" : "1"
    }
}
