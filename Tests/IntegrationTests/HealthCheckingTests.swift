import Foundation
import SvcDNSTesting
import Testing

/// The real binary probing real loopback listeners, with the flags of the issue's "done when":
/// `--health-interval 500ms --health-timeout 300ms --health-fall 2 --health-rise 1`. A closed endpoint
/// leaves A, SRV and hostname answers within 2 s, comes back within 2 s of reopening, and a Service
/// whose endpoints are all closed answers with all of them.
@Suite(.serialized) struct HealthCheckingTests {
    static let flags = ["--health-interval", "500ms", "--health-timeout", "300ms", "--health-fall", "2", "--health-rise", "1"]

    static let pool: [TestManifest.Endpoint] = [.init("127.0.8.1", hostname: "one"), .init("127.0.8.2", hostname: "two")]

    static func manifests(port: Int, httpPort: Int) -> String {
        """
        \(TestManifest.headlessService("pool", port: port, endpoints: pool, probed: true))
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: api
          namespace: default
          annotations: {svcdns.io/health-check: http, svcdns.io/health-path: /ready}
        spec:
          clusterIP: None
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: api-1, namespace: default, labels: {kubernetes.io/service-name: api}}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.9.1]}
          - {addresses: [127.0.9.2]}
        ports: [{name: http, port: \(httpPort)}]
        """
    }

    /// The A records' addresses of `name`, or nil without an answer.
    static func addresses(_ name: String, _ server: SvcDNSProcess, type: String = "A") throws -> [String]? {
        let reply = try TestClient.udp(try LDNS.query(name, type, udpSize: 1232), port: server.dnsPort, timeout: 1)
        return try reply.map { try LDNS.decode($0).answer.map { String($0.split(separator: " ").last!) }.sorted() }
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass; returns the time it took, or nil.
    static func waitFor(seconds: Double, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        for _ in 0..<Int(seconds * 20) + 1 {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(50_000)
        }
        return nil
    }

    /// Runs `body` and closes `listeners` afterwards, also when it throws: every server a test starts, it stops.
    static func closing<T>(_ listeners: [TestListener], _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            for listener in listeners { await listener.close() }
            return result
        } catch {
            for listener in listeners { await listener.close() }
            throw error
        }
    }

    @Test func aClosedEndpointLeavesAnswersAndComesBack() async throws {
        let port = try SvcDNSProcess.freePort()
        let one = try await TestListener(host: "127.0.8.1", port: port)
        let two = try await TestListener(host: "127.0.8.2", port: port)
        try await Self.closing([one, two]) { try await closedEndpoint(one, two, port: port) }
    }

    func closedEndpoint(_ one: TestListener, _ two: TestListener, port: Int) async throws {
        let folder = try TemporaryFolder(files: ["pool.yaml": Self.manifests(port: port, httpPort: port)])
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.flags)
        defer { server.stop() }

        let both = ["127.0.8.1", "127.0.8.2"]
        let first = try Self.waitFor(seconds: 2) { try Self.addresses("pool.default.svc.cluster.local", server) == both }
        #expect(first != nil, "\(server.output)")

        await two.close()
        let gone = try Self.waitFor(seconds: 2.5) {
            try Self.addresses("pool.default.svc.cluster.local", server) == ["127.0.8.1"]
        }
        #expect(gone != nil && gone! <= 2.0, "gone after \(String(describing: gone)) s\n\(server.output)")
        #expect(try Self.addresses("_http._tcp.pool.default.svc.cluster.local", server, type: "SRV") == ["one.pool.default.svc.cluster.local."])
        let hostname = try #require(try TestClient.udp(try LDNS.query("two.pool.default.svc.cluster.local", "A"), port: server.dnsPort))
        #expect(try LDNS.decode(hostname).rcodeName == "NXDOMAIN")
        #expect(server.output.contains("127.0.8.2"), "the transition is logged")

        try await two.reopen()
        let back = try Self.waitFor(seconds: 2.5) { try Self.addresses("pool.default.svc.cluster.local", server) == both }
        #expect(back != nil && back! <= 2.0, "back after \(String(describing: back)) s")

        // Every endpoint closed: fail open, both still answered.
        await one.close()
        await two.close()
        let allDown = try Self.waitFor(seconds: 3) { server.output.contains("fail open") }
        #expect(allDown != nil, "\(server.output)")
        #expect(try Self.addresses("pool.default.svc.cluster.local", server) == both)
        #expect(try Self.addresses("_http._tcp.pool.default.svc.cluster.local", server, type: "SRV")?.count == 2)
    }

    @Test func statusEndpointsShowsEveryProbedAddress() async throws {
        let port = try SvcDNSProcess.freePort()
        let one = try await TestListener(host: "127.0.8.1", port: port)
        try await Self.closing([one]) {
            let folder = try TemporaryFolder(files: ["pool.yaml": Self.manifests(port: port, httpPort: port)])
            let server = try SvcDNSProcess(zones: folder.path, arguments: Self.flags)
            defer { server.stop() }
            // 127.0.8.2 has no listener: down after two failed probes.
            var endpoints: [[String: Any]] = []
            for _ in 0..<60 {
                let reply = try TestHTTP.request("GET", "/status/endpoints", port: server.httpPort)
                let body = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any]
                endpoints = body?["endpoints"] as? [[String: Any]] ?? []
                let states = endpoints.filter { $0["service"] as? String == "default/pool" }.compactMap { $0["state"] as? String }
                if states.sorted() == ["down", "up"] { break }
                usleep(50_000)
            }
            let pool = endpoints.filter { $0["service"] as? String == "default/pool" }
            let byAddress = Dictionary(uniqueKeysWithValues: pool.map { ($0["address"] as? String ?? "", $0) })
            #expect(byAddress["127.0.8.1"]?["state"] as? String == "up", "\(endpoints)")
            #expect(byAddress["127.0.8.1"]?["lastResult"] as? String == "probe succeeded")
            #expect(byAddress["127.0.8.1"]?["port"] as? Int == port)
            #expect(byAddress["127.0.8.2"]?["state"] as? String == "down")
            #expect(byAddress["127.0.8.2"]?["lastResult"] as? String == "connection refused")
            #expect((byAddress["127.0.8.2"]?["lastProbe"] as? String)?.hasPrefix("20") == true, "an ISO 8601 time")
        }
    }

    @Test func anHTTPCheckFollowsTheStatus() async throws {
        let port = try SvcDNSProcess.freePort()
        let good = try await TestListener(host: "127.0.9.1", port: port, httpStatus: 200)
        let flaky = try await TestListener(host: "127.0.9.2", port: port, httpStatus: 500)
        try await Self.closing([good, flaky]) { try httpCheck(flaky, port: port) }
    }

    func httpCheck(_ flaky: TestListener, port: Int) throws {
        let folder = try TemporaryFolder(files: ["api.yaml": Self.manifests(port: port, httpPort: port)])
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.flags)
        defer { server.stop() }

        let first = try Self.waitFor(seconds: 2.5) { try Self.addresses("api.default.svc.cluster.local", server) == ["127.0.9.1"] }
        #expect(first != nil, "\(server.output)")
        flaky.setHTTPStatus(200)
        let up = try Self.waitFor(seconds: 2.5) { try Self.addresses("api.default.svc.cluster.local", server) == ["127.0.9.1", "127.0.9.2"] }
        #expect(up != nil && up! <= 2.0)
        flaky.setHTTPStatus(503)
        let down = try Self.waitFor(seconds: 2.5) { try Self.addresses("api.default.svc.cluster.local", server) == ["127.0.9.1"] }
        #expect(down != nil && down! <= 2.0)
        #expect(server.output.contains("HTTP 503"), "\(server.output)")
    }
}
