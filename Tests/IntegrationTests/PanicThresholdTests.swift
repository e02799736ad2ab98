import Foundation
import SvcDNSTesting
import Testing

/// The panic threshold through the real binary probing real loopback listeners: a Service with fewer healthy
/// endpoints than its threshold answers with all of them (A and SRV), is logged and counted once, and goes back
/// to the healthy ones when enough recover; `--panic-threshold` applies where no annotation says otherwise.
@Suite(.serialized) struct PanicThresholdTests {
    static func manifests(port: Int) -> String {
        func service(_ name: String, subnet: Int, annotation: String) -> String {
            """
            apiVersion: v1
            kind: Service
            metadata: {name: \(name), namespace: default\(annotation)}
            spec: {clusterIP: None, ports: [{name: http, port: \(port)}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: \(name)-1, namespace: default, labels: {kubernetes.io/service-name: \(name)}}
            addressType: IPv4
            endpoints: [\((1...4).map { "{addresses: [127.0.\(subnet).\($0)]}" }.joined(separator: ", "))]
            ports: [{name: http, port: \(port)}]
            """
        }
        return service("pool", subnet: 24, annotation: ", annotations: {svcdns.io/panic-threshold: \"50\"}") + "\n---\n"
            + service("plain", subnet: 25, annotation: "")
    }

    @Test func tooFewHealthyEndpointsAnswerWithAllOfThem() async throws {
        let port = try SvcDNSProcess.freePort()
        var listeners = [
            try await TestListener(host: "127.0.24.1", port: port), try await TestListener(host: "127.0.25.1", port: port),
        ]
        try await HealthCheckingTests.closing(listeners) {
            let folder = try TemporaryFolder(files: ["pool.yaml": Self.manifests(port: port)])
            let server = try SvcDNSProcess(zones: folder.path, arguments: HealthCheckingTests.flags + ["--panic-threshold", "20"])
            defer { server.stop() }
            let pool = "pool.default.svc.cluster.local"
            let all = (1...4).map { "127.0.24.\($0)" }

            // plain: 1 of 4 healthy is 25%, not under --panic-threshold 20: only the healthy one.
            let settled = try HealthCheckingTests.waitFor(seconds: 5) {
                try HealthCheckingTests.addresses("plain.default.svc.cluster.local", server) == ["127.0.25.1"]
            }
            #expect(settled != nil, "\(server.output)")
            // pool: 25% is under its own 50: every endpoint, in A and SRV answers.
            #expect(try HealthCheckingTests.addresses(pool, server) == all)
            let srv = try LDNS.decode(try #require(try TestClient.udp(try LDNS.query("_http._tcp.\(pool)", "SRV"), port: server.dnsPort)))
            #expect(srv.answer.count == 4, "\(srv.answer)")
            let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
            #expect(metrics.contains("svcdns_health_panic_total 1"), "\(metrics)")
            let panics = server.output.split(separator: "\n").filter { $0.contains("answering with all of them (panic)") }
            #expect(panics.count == 1 && panics[0].contains("health.service=default/pool"), "\(panics)")

            // Two more recover: 75% is not under 50, so the three healthy ones, and the log says so once.
            let recovered = [try await TestListener(host: "127.0.24.2", port: port), try await TestListener(host: "127.0.24.3", port: port)]
            listeners += recovered
            let calm = try HealthCheckingTests.waitFor(seconds: 5) {
                try HealthCheckingTests.addresses(pool, server) == Array(all.prefix(3))
            }
            let now = try HealthCheckingTests.addresses(pool, server)
            #expect(calm != nil, "\(String(describing: now))")
            #expect(server.output.contains("enough endpoints healthy again: no longer panicking"))
            for listener in recovered { await listener.close() }
        }
    }

    @Test(arguments: [("101", "\"101\" is not a percentage from 0 to 100"), ("half", "\"half\" is not a percentage from 0 to 100")])
    func anOutOfRangeAnnotationIsAnErrorNamingIt(value: String, reason: String) throws {
        let manifest = """
            apiVersion: v1
            kind: Service
            metadata: {name: bad, namespace: default, annotations: {svcdns.io/panic-threshold: "\(value)"}}
            spec: {clusterIP: None}
            """
        let folder = try TemporaryFolder(files: ["bad.yaml": manifest])
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 1)
        #expect(
            check.stdout == "\(folder.path)/bad.yaml: Service default/bad: metadata.annotations[svcdns.io/panic-threshold]: \(reason)\n",
            "\(check.stdout)")
        let flag = try Tool.run(
            try SvcDNSProcess.binaryPath(), ["serve", "--zones", ExampleTests.zones, "--panic-threshold", "101"], timeout: 10)
        #expect(flag.status != 0)
        #expect((flag.stdout + flag.stderr).contains("--panic-threshold 101 is not a percentage from 0 to 100"))
    }
}
