import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Response rate limiting through the real binary (`--rrl-rate 10 --rrl-slip 2`): a fast burst of UDP queries
/// for one name from 127.0.0.1 gets its allowance answered, every second limited answer slipped (empty, TC) and
/// the rest dropped; `/metrics` counts exactly what the client saw; TCP in the same burst is never limited;
/// another name and another kind of answer have allowances of their own.
@Suite(.serialized) struct RateLimitTests {
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: default}
        spec: {clusterIP: 10.96.0.11, ports: [{name: http, port: 80}]}
        """
    static let web = "web.default.svc.cluster.local."

    /// The sum of every series of `name` (whatever its labels) in a Prometheus text page.
    static func total(_ name: String, in metrics: String) -> Double {
        metrics.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    /// What one UDP socket got back for a burst of `count` queries to `name` `type`: answers (not TC) and
    /// slipped ones (TC, no records, the question echoed), each checked; and the time from the first query
    /// sent to the last reply read, which bounds the time over which svcdns decided on them.
    /// `during` runs right after the last query is sent, before any answer is read.
    static func burst(
        _ count: Int, name: String, type: String, port: Int, during: () throws -> Void = {},
        check: (DecodedResponse) -> Void
    ) throws -> (answered: Int, slipped: Int, span: Double) {
        let socket = try TestClient.UDPSocket(port: port, timeout: 0.5)
        let queries = try (0..<count).map { try LDNS.query(name, type, id: UInt16($0)) }
        let started = Date()
        for query in queries {
            try socket.send(query)
        }
        try during()
        var span = Date().timeIntervalSince(started)
        var answered = 0
        var slipped = 0
        var ids = Set<UInt16>()
        // Bounded by count; ends at the first 0.5 s without a datagram (the dropped ones never come).
        for _ in 0..<count {
            guard let reply = socket.receive() else { break }
            span = Date().timeIntervalSince(started)
            let decoded = try LDNS.decode(reply)
            #expect(ids.insert(decoded.id).inserted && Int(decoded.id) < count, "id \(decoded.id) unexpected or twice")
            #expect(decoded.question == ["\(name) IN \(type)"])
            if decoded.truncated {
                slipped += 1
                #expect(decoded.answer.isEmpty && decoded.authority.isEmpty && decoded.additional.isEmpty, "\(decoded)")
            } else {
                answered += 1
                check(decoded)
            }
        }
        return (answered, slipped, span)
    }

    @Test func aBurstGetsItsAllowanceSlipsHalfTheRestAndTheMetricsMatch() throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.manifests])
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--rrl-rate", "10", "--rrl-slip", "2"])
        defer { server.stop() }
        let webA = try LDNS.canonical("\(Self.web) 5 IN A 10.96.0.10")

        // TCP in the same moment: a connection with 50 pipelined queries for the same name, all answered.
        let tcp = try TestClient.TCPConnection(port: server.dnsPort, timeout: 5)
        let tcpQueries = try (0..<50).flatMap { TestClient.frame(try LDNS.query(Self.web, "A", id: UInt16(1000 + $0))) }
        let count = 200
        let (answered, slipped, span) = try Self.burst(
            count, name: Self.web, type: "A", port: server.dnsPort, during: { try tcp.send(tcpQueries) }
        ) {
            #expect($0.answer == [webA] && $0.rcodeName == "NOERROR", "\($0)")
        }
        var tcpAnswered = 0
        for _ in 0..<50 {
            guard let reply = tcp.receiveMessage(), let decoded = try? LDNS.decode(reply) else { break }
            if !decoded.truncated && decoded.answer == [webA] { tcpAnswered += 1 }
        }
        #expect(tcpAnswered == 50, "TCP is never limited")

        // 10 at once, then one each 100 ms of the burst; of the rest, every second one slips (the count of
        // limited ones starts again after each answer let through).
        let refills = Int((span * 10).rounded(.up))
        #expect(answered >= 10 && answered <= 10 + refills, "\(answered) answered in a burst of \(span) s")
        let limited = count - answered
        #expect(slipped <= limited / 2 && slipped >= limited / 2 - refills, "\(slipped) slipped of \(limited) limited")
        let dropped = count - answered - slipped
        #expect(slipped > 0 && dropped > 0)

        // The counters say what the client saw (the readiness probe's queries were for another name).
        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        #expect(Self.total("svcdns_rrl_slipped_total", in: metrics) == Double(slipped), "\(metrics)")
        #expect(Self.total("svcdns_rrl_dropped_total", in: metrics) == Double(dropped))

        // Another name, and another kind of answer (NXDOMAIN) for a client already limited: allowances of their own.
        let apiA = try LDNS.canonical("api.default.svc.cluster.local. 5 IN A 10.96.0.11")
        let api = try Self.burst(10, name: "api.default.svc.cluster.local.", type: "A", port: server.dnsPort) {
            #expect($0.answer == [apiA])
        }
        #expect(api.answered == 10 && api.slipped == 0)
        let missing = try Self.burst(10, name: "nope.default.svc.cluster.local.", type: "A", port: server.dnsPort) {
            #expect($0.rcodeName == "NXDOMAIN")
        }
        #expect(missing.answered == 10 && missing.slipped == 0)
        let after = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        #expect(Self.total("svcdns_rrl_slipped_total", in: after) == Double(slipped))
        #expect(Self.total("svcdns_rrl_dropped_total", in: after) == Double(dropped))
    }

    @Test func withoutTheFlagNothingIsLimited() throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.manifests])
        let server = try SvcDNSProcess(zones: folder.path)
        defer { server.stop() }
        let result = try Self.burst(100, name: Self.web, type: "A", port: server.dnsPort) { _ in }
        #expect(result.answered == 100 && result.slipped == 0)
    }

    @Test(arguments: [["--rrl-rate", "-1"], ["--rrl-rate", "1000001"], ["--rrl-slip", "101"], ["--rrl-table-size", "0"]])
    func outOfRangeFlagsAreRefused(arguments: [String]) throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.manifests])
        let result = try SvcDNSProcess.serveUntilExit(zones: folder.path, arguments)
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains(arguments[0]), "\(result.stdout)\(result.stderr)")
    }
}
