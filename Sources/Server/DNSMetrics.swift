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
    /// Keyed by family and type code, so a query builds no string to find its counter.
    private var requests: [UInt32: Counter] = [:]
    private var responses: [UInt16: Counter] = [:]
    private var durations: [UInt16: Timer] = [:]
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
        // Types CoreDNS does not name share one label, and so one counter (code 0 stands for them).
        let code = type.map { Self.namedTypes.contains($0) ? $0.rawValue : 0 } ?? 0
        let requestKey = UInt32(family == "2" ? 2 : 1) << 16 | UInt32(code)
        if requests[requestKey] == nil {
            let typeLabel = Self.typeLabel(code)
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
        if durations[code] == nil {
            let typeLabel = Self.typeLabel(code)
            durations[code] = Timer(
                label: Self.requestDurationLabel, dimensions: [("server", server), ("zone", "."), ("view", ""), ("type", typeLabel)]
            )
        }
        durations[code]!.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
        responseSize.record(response.count)
    }

    private static func typeLabel(_ code: UInt16) -> String {
        code == 0 ? "other" : RecordType(rawValue: code).description
    }

    /// CoreDNS's family label: 1 for IPv4 clients, 2 for IPv6.
    static func family(of address: SocketAddress?) -> String {
        address?.protocol == .inet6 ? "2" : "1"
    }
}
