import Foundation
import SvcDNSTesting
import Testing

/// Numbers from the API, files and flags are range-checked where they enter, so nothing behind the checks can
/// trap on them. The case that started it: one API write of `svcdns.io/health-interval: 999999999h` (and a
/// slice to probe) trapped the probe schedule, and, being stored, again at every restart.
@Suite(.serialized) struct InputRangeTests {
    static let servicePath = "/api/v1/namespaces/default/services/huge"
    static let slicePath = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/huge-1"
    static func service(interval: String, name: String = "huge", clusterIP: String = "10.96.7.7") -> String {
        #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name)","annotations":{"svcdns.io/health-interval":"\#(interval)"}},"spec":{"clusterIP":"\#(clusterIP)","ports":[{"name":"http","port":80}]}}"#
    }
    static let slice = #"""
        {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
         "metadata":{"name":"huge-1","labels":{"kubernetes.io/service-name":"huge"}},"addressType":"IPv4",
         "endpoints":[{"addresses":["127.0.21.1"]},{"addresses":["127.0.21.2"]},{"addresses":["127.0.21.3"]}],
         "ports":[{"name":"http","port":9}]}
        """#
    /// 244 characters: a valid name, but dns-version.<it> is not (a trap in the zone builder before).
    static let longDomain = Array(repeating: String(repeating: "a", count: 60), count: 4).joined(separator: ".")
    static let expectedReason = "\"999999999h\" is out of range (100ms to 1h)"

    static func addresses(_ name: String, _ server: SvcDNSProcess) throws -> [String] {
        let reply = try TestClient.udp(try LDNS.query(name, "A"), port: server.dnsPort, timeout: 1)
        return try reply.map { try LDNS.decode($0).answer.map { String($0.split(separator: " ").last!) } } ?? []
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func theHugeIntervalThroughTheAPIIsA400AndTheProcessLives() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let slice = try TestHTTP.request("PUT", Self.slicePath, port: server.httpPort, body: Self.slice)
        #expect(slice.status == 201, "\(slice.body)")
        let reply = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(interval: "999999999h"))
        #expect(reply.status == 400, "\(reply.body)")
        let status = Self.json(reply.body)
        #expect(status["kind"] as? String == "Status")
        #expect(status["code"] as? Int == 400)
        #expect(
            status["message"] as? String
                == "Service default/huge: metadata.annotations[svcdns.io/health-interval]: \(Self.expectedReason)"
        )
        // Give a probe schedule that took it the time to trap, then check the process and DNS.
        usleep(500_000)
        #expect(server.isRunning, "\(server.output)")
        #expect(try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.10"])
        #expect(try Self.addresses("huge.default.svc.cluster.local", server) == [])
        // The same Service with an interval in range is taken, and probed without harm.
        let good = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(interval: "1h"))
        #expect(good.status == 201, "\(good.body)")
        usleep(300_000)
        #expect(server.isRunning, "\(server.output)")
        #expect(try Self.addresses("huge.default.svc.cluster.local", server) == ["10.96.7.7"])
    }

    @Test func theHugeIntervalInAFileIsACheckErrorAndServeRefusesToStart() throws {
        let manifest = """
            apiVersion: v1
            kind: Service
            metadata:
              name: huge
              namespace: default
              annotations: {svcdns.io/health-interval: 999999999h}
            spec:
              clusterIP: 10.96.7.7
              ports: [{name: http, port: 80}]
            """
        let folder = try TemporaryFolder(files: ["huge.yaml": manifest])
        let expected = "\(folder.path)/huge.yaml: Service default/huge: metadata.annotations[svcdns.io/health-interval]: \(Self.expectedReason)"
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout == expected + "\n")
        let serve = try SvcDNSProcess.serveUntilExit(zones: folder.path)
        #expect(serve.status == 1, "\(serve.stdout)\(serve.stderr)")
        #expect(serve.stdout.contains(expected), "\(serve.stdout)")
    }

    /// An object stored by an older version that today's rules reject is left out with one log line; the
    /// server starts and serves everything else, instead of refusing to start (or trapping) at every restart.
    @Test func aStoredObjectTodaysRulesRejectIsSkippedOnRestart() throws {
        let store = try TemporaryFolder()
        do {
            let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--store", store.path])
            let good = Self.service(interval: "2s", name: "fine", clusterIP: "10.96.7.8")
            let reply = try TestHTTP.request("PUT", "/api/v1/namespaces/default/services/fine", port: server.httpPort, body: good)
            #expect(reply.status == 201, "\(reply.body)")
            #expect(try TestHTTP.request("PUT", Self.slicePath, port: server.httpPort, body: Self.slice).status == 201)
            #expect(server.stop() == 0)
        }
        try TestStore.writeUnchecked(
            directory: store.path, kind: "Service", namespace: "default", name: "huge", json: Self.service(interval: "999999999h")
        )
        let restarted = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--store", store.path])
        defer { restarted.stop() }
        #expect(try Self.addresses("fine.default.svc.cluster.local", restarted) == ["10.96.7.8"])
        #expect(try Self.addresses("web.default.svc.cluster.local", restarted) == ["10.96.0.10"])
        #expect(try Self.addresses("huge.default.svc.cluster.local", restarted) == [])
        usleep(500_000)
        #expect(restarted.isRunning)
        let skipped = restarted.output.split(separator: "\n").filter { $0.contains("stored object is not a valid manifest") }
        #expect(skipped.count == 1, "\(restarted.output)")
        #expect(skipped.first?.contains("Service default/huge") == true)
        #expect(skipped.first?.contains(Self.expectedReason.replacingOccurrences(of: "\"", with: "")) == true
            || skipped.first?.contains(Self.expectedReason) == true, "\(skipped)")
    }

    /// The same in etcd, written there with etcdctl as an older replica would have: at startup (the listing) and
    /// in the watch, the object is left out with one log line each, and every replica keeps serving the rest.
    @Test func anObjectInEtcdTodaysRulesRejectIsSkippedInTheListingAndTheWatch() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        func put(_ key: String, _ json: String) throws {
            let put = try Tool.run("etcdctl", ["--endpoints", "127.0.0.1:\(etcd.clientPort)", "put", key, json])
            #expect(put.status == 0 && put.stdout == "OK\n", "etcdctl: \(put.stdout)\(put.stderr)")
        }
        try put("/svcdns/services/default/huge", Self.service(interval: "999999999h"))
        try put("/svcdns/endpointslices/default/huge-1", Self.slice)
        try put("/svcdns/services/default/fine", Self.service(interval: "2s", name: "fine", clusterIP: "10.96.7.8"))

        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--store", "etcd://127.0.0.1:\(etcd.clientPort)"])
        defer { server.stop() }
        #expect(try Self.addresses("fine.default.svc.cluster.local", server) == ["10.96.7.8"])
        #expect(try Self.addresses("huge.default.svc.cluster.local", server) == [])
        // Through the watch: another bad one, then a good one after it, which must still arrive.
        try put("/svcdns/services/default/huge2", Self.service(interval: "999999999h", name: "huge2", clusterIP: "10.96.7.9"))
        try put("/svcdns/services/default/later", Self.service(interval: "1h", name: "later", clusterIP: "10.96.7.10"))
        var served = false
        for _ in 0..<100 where !served {
            served = try Self.addresses("later.default.svc.cluster.local", server) == ["10.96.7.10"]
            if !served { usleep(50_000) }
        }
        #expect(served, "a good write after the bad one is served")
        #expect(try Self.addresses("huge2.default.svc.cluster.local", server) == [])
        usleep(500_000)
        #expect(server.isRunning, "\(server.output)")
        let skipped = server.output.split(separator: "\n").filter { $0.contains("not a valid manifest: left out") }
        #expect(skipped.count == 2, "\(server.output)")
        #expect(skipped.first?.contains("Service default/huge") == true, "\(skipped)")
        #expect(skipped.last?.contains("/svcdns/services/default/huge2") == true, "\(skipped)")
    }

    /// Flags out of range stop `serve` at once with a line naming the flag, before anything listens.
    @Test(arguments: [
        (["--ttl", "86401"], "--ttl 86401 is not a TTL from 0 to 86400 seconds (a day)"),
        (["--cache-max-ttl", "4294967295"], "--cache-max-ttl 4294967295 is not a TTL from 0 to 86400 seconds (a day)"),
        (["--health-interval", "999999999h"], "--health-interval \"999999999h\" is out of range (100ms to 1h)"),
        (["--health-interval", "50ms"], "--health-interval \"50ms\" is out of range (100ms to 1h)"),
        (["--health-timeout", "5ms"], "--health-timeout \"5ms\" is out of range (10ms to 1h)"),
        (["--health-timeout", "3s"], "--health-timeout 3s is longer than --health-interval 2s"),
        (["--health-fall", "0"], "--health-fall 0 is not a count from 1 to 100"),
        (["--upstream-timeout", "2h"], "--upstream-timeout \"2h\" is out of range (10ms to 1m)"),
        (["--reload-interval", "10ms"], "--reload-interval \"10ms\" is out of range (100ms to 1h)"),
        (["--cache-size", "9223372036854775807"], "--cache-size 9223372036854775807 is not a count from 1 to 10000000"),
        (["--max-answers=-1"], "--max-answers -1 is not a count from 0 (all) to 65535"),
        (["--tcp-defer-accept", "61"], "--tcp-defer-accept 61 is not from 0 to 60"),
        (["--tcp-max-connections-per-client", "0"], "--tcp-max-connections-per-client 0 is not from 1 to --tcp-max-connections"),
        // The default cap is sized from the open-file limit, at most 4096.
        (["--tcp-max-connections-per-client", "5000"], "--tcp-max-connections-per-client 5000 is more than --tcp-max-connections"),
        (["--domain", longDomain], "--domain \(longDomain) is too long: dns-version.\(longDomain) would be over 255 bytes"),
        (["--transfer-journal", "10000001"], "--transfer-journal 10000001 is not a count from 0 to 10000000"),
        (["--max-transfers", "0"], "--max-transfers 0 is not a count from 1 to 1000"),
        (["--max-transfers", "1001"], "--max-transfers 1001 is not a count from 1 to 1000"),
        (["--notify", "127.0.0.1:0"], "--notify 127.0.0.1:0 is not ADDR[:PORT] or [IPv6]:PORT"),
        (["--transfer-to", "127.0.0.0/33"], "127.0.0.0/33 is not an address range like 10.0.0.0/8 or fc00::/7"),
    ])
    func flagsOutOfRangeAreAStartupError(flags: [String], message: String) throws {
        let result = try SvcDNSProcess.serveUntilExit(zones: ExampleTests.zones, flags)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains("serving DNS"))
    }
}
