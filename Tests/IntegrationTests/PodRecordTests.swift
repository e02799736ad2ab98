import Foundation
import SvcDNSTesting
import Testing

/// `--pods insecure|verified|disabled` and `--endpoint-pod-names` through the real binary, asked over UDP and
/// decoded by libldns: which `a-b-c-d.<ns>.pod.<domain>` names answer in each mode, verified pods following API
/// writes, and endpoints named after their pods (`targetRef.name`) in A, SRV and PTR answers.
@Suite(.serialized) struct PodRecordTests {
    static let zones: [String: String] = [
        "default.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            endpoints:
            - {addresses: [127.0.4.1], conditions: {ready: true}, targetRef: {kind: Pod, name: web-0, namespace: default}}
            - {addresses: [127.0.4.2], conditions: {ready: false}, targetRef: {kind: Pod, name: web-1, namespace: default}}
            ports: [{name: http, port: 9}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db, namespace: default}
            spec: {clusterIP: None, ports: [{name: pg, port: 9}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: db-1, namespace: default, labels: {kubernetes.io/service-name: db}}
            addressType: IPv4
            endpoints:
            - {addresses: [127.0.4.3], targetRef: {kind: Pod, name: db-abc12, namespace: default}}
            - {addresses: [127.0.4.4], hostname: db-main, targetRef: {kind: Pod, name: db-xyz34, namespace: default}}
            - {addresses: [127.0.4.5], targetRef: {kind: Pod, name: db.with.dots, namespace: default}}
            ports: [{name: pg, port: 9}]
            """,
        "staging.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: staging}
            spec: {clusterIP: None}
            ---
            apiVersion: v1
            kind: Endpoints
            metadata: {name: api, namespace: staging}
            subsets:
            - addresses: [{ip: 127.0.4.6, targetRef: {kind: Pod, name: api-7f9c, namespace: staging}}]
              ports: [{port: 9}]
            """,
    ]

    static func ask(_ name: String, _ type: String = "A", at server: SvcDNSProcess) throws -> DecodedResponse {
        let reply = try TestClient.udp(try LDNS.query(name, type), port: server.dnsPort)
        return try LDNS.decode(try #require(reply, "no answer to \(name) \(type)"))
    }

    /// Pod name → the answer in each mode (nil: NXDOMAIN with no answer).
    static let podTable: [(name: String, insecure: String?, verified: String?)] = [
        // A ready endpoint of a ClusterIP Service and of a headless one, each in its own namespace.
        ("127-0-4-1.default.pod.cluster.local", "127.0.4.1", "127.0.4.1"),
        ("127-0-4-3.default.pod.cluster.local", "127.0.4.3", "127.0.4.3"),
        ("127-0-4-6.staging.pod.cluster.local", "127.0.4.6", "127.0.4.6"),
        // Another namespace's address, a not-ready endpoint, an address no Service has.
        ("127-0-4-6.default.pod.cluster.local", "127.0.4.6", nil),
        ("127-0-4-2.default.pod.cluster.local", "127.0.4.2", nil),
        ("10-1-2-3.default.pod.cluster.local", "10.1.2.3", nil),
    ]

    @Test(arguments: ["insecure", "verified", "disabled"])
    func podNamesInEachMode(mode: String) throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--pods", mode, "--upstream", "none"])
        defer { server.stop() }
        for row in Self.podTable {
            let expected = mode == "insecure" ? row.insecure : mode == "verified" ? row.verified : nil
            let response = try Self.ask(row.name, at: server)
            if let expected {
                #expect(response.rcodeName == "NOERROR", "\(mode) \(row.name)")
                #expect(response.answer == ["\(row.name). 5 IN A \(expected)"], "\(mode) \(row.name)")
            } else {
                #expect(response.rcodeName == "NXDOMAIN", "\(mode) \(row.name)")
                #expect(response.answer.isEmpty, "\(mode) \(row.name)")
                #expect(response.authority.first?.contains(" SOA ") == true, "\(mode) \(row.name)")
            }
        }
    }

    /// Verified pod names follow the registry: an address appears with the first Service of its namespace that
    /// has it, stays while another one still does, and goes with the last.
    @Test func verifiedPodNamesFollowAPIWrites() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--pods", "verified", "--upstream", "none"])
        defer { server.stop() }
        let pod = "127-0-4-9.live.pod.cluster.local"
        #expect(try Self.ask(pod, at: server).rcodeName == "NXDOMAIN")

        func put(_ service: String) throws {
            let body = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(service)","namespace":"live"},"spec":{"clusterIP":"None"}}"#
            let created = try TestHTTP.request("PUT", "/api/v1/namespaces/live/services/\(service)", port: server.httpPort, body: body)
            #expect(created.status == 201, "\(created.body)")
            let slice = #"""
                {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"\#(service)-1",
                 "namespace":"live","labels":{"kubernetes.io/service-name":"\#(service)"}},"addressType":"IPv4",
                 "endpoints":[{"addresses":["127.0.4.9"]}]}
                """#
            let path = "/apis/discovery.k8s.io/v1/namespaces/live/endpointslices/\(service)-1"
            let stored = try TestHTTP.request("PUT", path, port: server.httpPort, body: slice)
            #expect(stored.status == 201, "\(stored.body)")
        }
        func delete(_ service: String) throws {
            let deleted = try TestHTTP.request("DELETE", "/api/v1/namespaces/live/services/\(service)", port: server.httpPort)
            #expect(deleted.status == 200, "\(deleted.body)")
        }
        /// Waits (at most 3 s) for the pod name's rcode to be `rcode`.
        func expectPod(_ rcode: String) throws {
            let deadline = Date().addingTimeInterval(3)
            var response = try Self.ask(pod, at: server)
            while response.rcodeName != rcode && Date() < deadline {
                usleep(50_000)
                response = try Self.ask(pod, at: server)
            }
            #expect(response.rcodeName == rcode)
            #expect(response.answer == (rcode == "NOERROR" ? ["\(pod). 5 IN A 127.0.4.9"] : []))
        }

        try put("one")
        try expectPod("NOERROR")
        try put("two")
        try delete("one")
        // `two` still has the address: give a wrong answer time to show before looking.
        usleep(300_000)
        try expectPod("NOERROR")
        try delete("two")
        try expectPod("NXDOMAIN")
    }

    @Test func endpointsAreNamedAfterTheirPods() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--endpoint-pod-names", "--upstream", "none"])
        defer { server.stop() }
        // The pod's name, unless the endpoint has a hostname (it wins) or the pod's name is not one label.
        let names = [
            ("db-abc12.db.default.svc.cluster.local", "127.0.4.3"),
            ("db-main.db.default.svc.cluster.local", "127.0.4.4"),
            ("127-0-4-5.db.default.svc.cluster.local", "127.0.4.5"),
            ("api-7f9c.api.staging.svc.cluster.local", "127.0.4.6"),
        ]
        for (name, address) in names {
            #expect(try Self.ask(name, at: server).answer == ["\(name). 5 IN A \(address)"], "\(name)")
        }
        for name in ["127-0-4-3.db.default.svc.cluster.local", "db-xyz34.db.default.svc.cluster.local"] {
            #expect(try Self.ask(name, at: server).rcodeName == "NXDOMAIN", "\(name)")
        }
        let srv = try Self.ask("_pg._tcp.db.default.svc.cluster.local", "SRV", at: server)
        #expect(
            srv.answer.sorted() == [
                "_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 9 127-0-4-5.db.default.svc.cluster.local.",
                "_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 9 db-abc12.db.default.svc.cluster.local.",
                "_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 33 9 db-main.db.default.svc.cluster.local.",
            ])
        #expect(
            try Self.ask("3.4.0.127.in-addr.arpa", "PTR", at: server).answer
                == ["3.4.0.127.in-addr.arpa. 5 IN PTR db-abc12.db.default.svc.cluster.local."])

        // Without the flag, the same endpoint is named after its address.
        let plain = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "none"])
        defer { plain.stop() }
        #expect(try Self.ask("127-0-4-3.db.default.svc.cluster.local", at: plain).answer.count == 1)
        #expect(try Self.ask("db-abc12.db.default.svc.cluster.local", at: plain).rcodeName == "NXDOMAIN")
    }

    @Test func aTargetRefNameThatIsNoSubdomainIsAnErrorNamingTheField() throws {
        let manifest = """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: bad-1, namespace: default, labels: {kubernetes.io/service-name: bad}}
            addressType: IPv4
            endpoints: [{addresses: [127.0.4.7], targetRef: {kind: Pod, name: Not_A_Pod}}]
            """
        let folder = try TemporaryFolder(files: ["bad.yaml": manifest])
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 1)
        #expect(
            check.stdout.contains(
                "\(folder.path)/bad.yaml: EndpointSlice default/bad-1: endpoints[0].targetRef.name: \"Not_A_Pod\" is not a DNS-1123 subdomain"
            ), "\(check.stdout)")
    }

    @Test func anUnknownModeStopsStartup() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let result = try Tool.run(
            try SvcDNSProcess.binaryPath(), ["serve", "--zones", folder.path, "--pods", "strict"], timeout: 10)
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("--pods strict is not one of insecure, verified, disabled"))
    }
}
