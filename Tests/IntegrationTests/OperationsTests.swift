import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The operations endpoints of the real binary: `/readyz` once listening, and `/metrics` in Prometheus
/// text format with CoreDNS's metric and label names (prefix `svcdns_`), moving as queries are answered.
@Suite struct OperationsTests {
    static func get(_ path: String, port: Int) throws -> (status: String, body: String) {
        let connection = try TestClient.TCPConnection(port: port)
        try connection.send(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
        let text = String(decoding: connection.receiveAll(), as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        return (String(parts[0].split(separator: "\r\n").first ?? ""), parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// The value of the sample whose name and labels are exactly `series`, or nil.
    static func sample(_ series: String, in metrics: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func readyzAndMetricsMoveWithQueries() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        #expect(try Self.get("/readyz", port: server.httpPort).status == "HTTP/1.1 200 OK")

        let before = try Self.get("/metrics", port: server.httpPort).body
        for _ in 0..<3 {
            _ = try TestClient.udp(try LDNS.query("web.default.svc.cluster.local", "A"), port: server.dnsPort)
        }
        _ = try TestClient.tcp(try LDNS.query("nope.default.svc.cluster.local", "AAAA"), port: server.dnsPort)
        _ = try TestClient.udp(try LDNS.query("_http._tcp.web.default.svc.cluster.local", "SRV"), port: server.dnsPort)
        let (status, metrics) = try Self.get("/metrics", port: server.httpPort)
        #expect(status == "HTTP/1.1 200 OK")

        let labels = "server=\"dns://127.0.0.1:\(server.dnsPort)\",zone=\".\",view=\"\""
        let udpA = "svcdns_dns_requests_total{\(labels),proto=\"udp\",family=\"1\",type=\"A\"}"
        // The readiness probe SvcDNSProcess sends before the test starts is a TXT query, not counted here.
        #expect(Self.sample(udpA, in: metrics) == 3 + (Self.sample(udpA, in: before) ?? 0), "\(metrics)")
        #expect(Self.sample("svcdns_dns_requests_total{\(labels),proto=\"tcp\",family=\"1\",type=\"AAAA\"}", in: metrics) == 1)
        #expect(Self.sample("svcdns_dns_requests_total{\(labels),proto=\"udp\",family=\"1\",type=\"SRV\"}", in: metrics) == 1)
        #expect(Self.sample("svcdns_dns_responses_total{\(labels),rcode=\"NXDOMAIN\",plugin=\"svcdns\"}", in: metrics) == 1)
        #expect(Self.sample("svcdns_dns_request_duration_seconds_count{\(labels),type=\"A\"}", in: metrics) == 3)
        #expect(Self.sample("svcdns_dns_response_size_bytes_count{\(labels),proto=\"tcp\"}", in: metrics) == 1)
        #expect(metrics.contains("# TYPE svcdns_dns_request_duration_seconds histogram"))
        // The example's endpoints have no listener, so the headless Service fails open, once (as soon as the
        // health checker has registered its endpoints: a moment after start).
        var failOpen: Double? = nil
        for _ in 0..<40 {
            failOpen = Self.sample("svcdns_health_fail_open_total", in: try Self.get("/metrics", port: server.httpPort).body)
            if failOpen != nil { break }
            usleep(50_000)
        }
        #expect(failOpen == 1)

        let later = try Self.get("/metrics", port: server.httpPort).body
        #expect(Self.sample("svcdns_registry_objects{kind=\"Service\"}", in: later) == 3)
        #expect(Self.sample("svcdns_registry_objects{kind=\"EndpointSlice\"}", in: later) == 2)
        // At least startup's build; the checker's first verdicts may come before it and need no other.
        let builds = Self.sample("svcdns_snapshot_builds_total", in: later) ?? 0
        #expect(builds >= 1)
        #expect(Self.sample("svcdns_snapshot_build_duration_seconds_count", in: later) == builds)
        // Nothing listens behind the example's endpoints: every probe so far failed.
        #expect((Self.sample("svcdns_health_probes_total{result=\"failure\"}", in: later) ?? 0) >= 1, "\(later)")
    }

    @Test func aDamagedStoreStopsStartupWithItsPath() throws {
        let store = try TemporaryFolder(files: ["registry.sqlite": String(repeating: "not a database ", count: 600)])
        let result = try Tool.run(
            try SvcDNSProcess.binaryPath(),
            [
                "serve", "--zones", ExampleTests.zones, "--store", store.path, "--upstream", "none",
                "--dns", "127.0.0.1:\(try SvcDNSProcess.freePort())", "--http", "127.0.0.1:\(try SvcDNSProcess.freePort())",
            ],
            timeout: 10
        )
        #expect(result.status != 0)
        #expect(result.stdout.hasPrefix("store: \(store.path)/registry.sqlite: "), "\(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains("serving DNS"))
    }

    @Test func forwardingIsCounted() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        // --no-loop-probe: the start-up loop probe would be one more upstream query than these counts.
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--no-loop-probe"])
        defer { server.stop() }
        for _ in 0..<3 {
            _ = try TestClient.udp(try LDNS.query("www.upstream.test", "A"), port: server.dnsPort)
        }
        let metrics = try Self.get("/metrics", port: server.httpPort).body
        let to = "to=\"127.0.0.1:\(upstream.port)\""
        #expect(Self.sample("svcdns_forward_requests_total{\(to)}", in: metrics) == 1, "one exchange, then the cache")
        #expect(Self.sample("svcdns_forward_request_duration_seconds_count{\(to)}", in: metrics) == 1)
        #expect(Self.sample("svcdns_cache_misses_total", in: metrics) == 1)
        #expect(Self.sample("svcdns_cache_hits_total", in: metrics) == 2)
    }
}
