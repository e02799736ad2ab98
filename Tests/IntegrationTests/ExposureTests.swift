import Foundation
import SvcDNSTesting
import Testing

/// `--namespaces` and `--labels` through the real binary: what they leave out answers as if absent (its names,
/// its PTRs, its probes), `svcdns check` counts it, and a malformed selector stops startup with its reason.
@Suite(.serialized) struct ExposureTests {
    static let zones: [String: String] = [
        "services.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default, labels: {env: prod, tier: web}}
            spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: cache, namespace: default, labels: {env: prod, tier: cache}}
            spec: {clusterIP: 10.96.0.11, ports: [{name: redis, port: 6379}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: old, namespace: default, labels: {env: prod, legacy: "true"}}
            spec: {clusterIP: 10.96.0.12}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: pods, namespace: default, labels: {env: prod}}
            spec: {clusterIP: None, ports: [{name: http, port: 9}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: pods-1, namespace: default, labels: {kubernetes.io/service-name: pods}}
            addressType: IPv4
            endpoints: [{addresses: [127.0.3.1], conditions: {ready: true}}]
            ports: [{name: http, port: 9}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: staging, labels: {env: prod}}
            spec: {clusterIP: None, ports: [{name: http, port: 9}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: api-1, namespace: staging, labels: {kubernetes.io/service-name: api}}
            addressType: IPv4
            endpoints: [{addresses: [127.0.3.2], conditions: {ready: true}}]
            ports: [{name: http, port: 9}]
            """
    ]
    static let filters = ["--namespaces", "default", "--labels", "env in (prod, staging),tier!=cache,!legacy"]

    static func ask(_ name: String, _ type: String, _ server: SvcDNSProcess) throws -> DecodedResponse {
        let reply = try TestClient.udp(try LDNS.query(name, type), port: server.dnsPort)
        return try LDNS.decode(try #require(reply, "no answer to \(name) \(type)"))
    }

    @Test func whatTheFiltersLeaveOutAnswersAsIfAbsent() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.filters)
        defer { server.stop() }

        let served: [(String, String, [String])] = [
            ("web.default.svc.cluster.local", "A", ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]),
            ("10.0.96.10.in-addr.arpa", "PTR", ["10.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."]),
            ("pods.default.svc.cluster.local", "A", ["pods.default.svc.cluster.local. 5 IN A 127.0.3.1"]),
        ]
        for (name, type, answer) in served {
            let response = try Self.ask(name, type, server)
            #expect(response.rcodeName == "NOERROR", "\(name)")
            #expect(response.answer == answer, "\(name)")
        }
        // Left out by the label selector (cache, old) and by the namespace (api): no names, no PTRs.
        for (name, type) in [
            ("cache.default.svc.cluster.local", "A"), ("_redis._tcp.cache.default.svc.cluster.local", "SRV"),
            ("11.0.96.10.in-addr.arpa", "PTR"), ("old.default.svc.cluster.local", "A"),
            ("api.staging.svc.cluster.local", "A"), ("staging.svc.cluster.local", "A"),
        ] {
            let response = try Self.ask(name, type, server)
            #expect(response.rcodeName == "NXDOMAIN", "\(name) \(type)")
            #expect(response.answer.isEmpty, "\(name) \(type)")
        }

        // api's endpoint has no PTR of its own: its loopback address is just localhost (RFC 6761).
        #expect(try Self.ask("2.3.0.127.in-addr.arpa", "PTR", server).answer == ["2.3.0.127.in-addr.arpa. 5 IN PTR localhost."])

        // Only served Services are probed: pods's endpoint is, api's is not.
        let deadline = Date().addingTimeInterval(5)
        var body = ""
        while Date() < deadline {
            body = try TestHTTP.request("GET", "/status/endpoints", port: server.httpPort).body
            if body.contains("127.0.3.1") { break }
            usleep(100_000)
        }
        #expect(body.contains("\"service\":\"default/pods\""), "\(body)")
        #expect(!body.contains("staging"), "\(body)")
    }

    @Test func checkCountsWhatEachFilterLeavesOut() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let result = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path] + Self.filters)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(
            result.stdout.split(separator: "\n").last
                == "filters: --namespaces left out 1 Services, --labels left out 2 more (and their 1 EndpointSlices and Endpoints)",
            "\(result.stdout)")
    }

    @Test(arguments: [
        (["--labels", "env in prod"], "--labels: \"env in prod\" is not a label selector: at character 8, expected '(' after 'in'"),
        (["--namespaces", "Default"], "--namespaces: \"Default\" is not a DNS-1123 label"),
    ])
    func aMalformedFilterStopsWithItsReason(arguments: [String], reason: String) throws {
        let folder = try TemporaryFolder(files: Self.zones)
        for command in [["check"], ["serve", "--upstream", "none"]] {
            let result = try Tool.run(
                try SvcDNSProcess.binaryPath(), command + ["--zones", folder.path] + arguments, timeout: 10)
            #expect(result.status != 0)
            #expect((result.stdout + result.stderr).contains(reason), "\(command): \(result.stdout)\(result.stderr)")
        }
    }
}
