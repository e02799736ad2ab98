import Foundation
import SvcDNSTesting
import Testing

/// Zone-following Services through the real binary: CoreDNS's zonal names `<zone>.pin._zone.<svc>…` and
/// `<zone>.prefer._zone.<svc>…` for each zone an endpoint is in or is hinted for, health-pruned, and the
/// manifest errors of `spec.trafficDistribution` and `svcdns.io/topology`.
@Suite(.serialized) struct TopologyTests {
    static func manifest(distribution: String = "trafficDistribution: PreferSameZone", annotation: String = "") -> String {
        """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default\(annotation)}
        spec: {clusterIP: None, \(distribution), ports: [{name: http, port: 9}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        endpoints:
        - {addresses: [127.0.27.1], zone: zone-a}
        - {addresses: [127.0.27.2], zone: zone-a}
        - {addresses: [127.0.27.3], zone: zone-b}
        - {addresses: [127.0.27.4], zone: zone-b, hints: {forZones: [{name: zone-c}]}}
        ports: [{name: http, port: 9}]
        """
    }

    static func addresses(_ name: String, at server: SvcDNSProcess) throws -> (rcode: String, addresses: [String]) {
        let reply = try TestClient.udp(try LDNS.query(name, "A"), port: server.dnsPort)
        let response = try LDNS.decode(try #require(reply, "no answer to \(name)"))
        return (response.rcodeName, response.answer.map { String($0.split(separator: " ").last!) }.sorted())
    }

    @Test func zonalNamesAnswerTheZonesEndpoints() async throws {
        // Only zone-b's 127.0.27.3 listens: the others are down once probed.
        let port = try SvcDNSProcess.freePort()
        let listener = try await TestListener(host: "127.0.27.3", port: port)
        try await HealthCheckingTests.closing([listener]) {
            let folder = try TemporaryFolder(files: ["web.yaml": Self.manifest().replacingOccurrences(of: "port: 9", with: "port: \(port)")])
            let server = try SvcDNSProcess(zones: folder.path, arguments: HealthCheckingTests.flags)
            defer { server.stop() }
            let settled = try HealthCheckingTests.waitFor(seconds: 5) {
                try Self.addresses("web.default.svc.cluster.local", at: server).addresses == ["127.0.27.3"]
            }
            #expect(settled != nil, "\(server.output)")

            let zonal = "_zone.web.default.svc.cluster.local"
            let table: [(String, String, [String])] = [
                // zone-a: both down. pin has nothing to give; prefer gives every served endpoint.
                ("zone-a.pin.\(zonal)", "NOERROR", []),
                ("zone-a.prefer.\(zonal)", "NOERROR", ["127.0.27.3"]),
                ("zone-b.pin.\(zonal)", "NOERROR", ["127.0.27.3"]),
                ("zone-b.prefer.\(zonal)", "NOERROR", ["127.0.27.3"]),
                // zone-c only by 127.0.27.4's hint, and it is down.
                ("zone-c.pin.\(zonal)", "NOERROR", []),
                ("zone-c.prefer.\(zonal)", "NOERROR", ["127.0.27.3"]),
                // No endpoint serves zone-d.
                ("zone-d.pin.\(zonal)", "NXDOMAIN", []),
            ]
            for (name, rcode, expected) in table {
                let answer = try Self.addresses(name, at: server)
                #expect(answer.rcode == rcode, "\(name)")
                #expect(answer.addresses == expected, "\(name)")
            }
        }
    }

    @Test func allHealthyTheZonesAreApart() throws {
        let folder = try TemporaryFolder(files: [
            "web.yaml": Self.manifest(annotation: ", annotations: {svcdns.io/health-check: none}")
        ])
        let server = try SvcDNSProcess(zones: folder.path)
        defer { server.stop() }
        let zonal = "_zone.web.default.svc.cluster.local"
        #expect(try Self.addresses("zone-a.pin.\(zonal)", at: server).addresses == ["127.0.27.1", "127.0.27.2"])
        #expect(try Self.addresses("zone-b.prefer.\(zonal)", at: server).addresses == ["127.0.27.3", "127.0.27.4"])
        #expect(try Self.addresses("zone-c.pin.\(zonal)", at: server).addresses == ["127.0.27.4"])

        // A Service that does not follow zones has no zonal names.
        let plain = try TemporaryFolder(files: [
            "web.yaml": Self.manifest(distribution: "publishNotReadyAddresses: false", annotation: ", annotations: {svcdns.io/health-check: none}")
        ])
        let other = try SvcDNSProcess(zones: plain.path)
        defer { other.stop() }
        #expect(try Self.addresses("zone-a.pin.\(zonal)", at: other).rcode == "NXDOMAIN")
    }

    @Test(arguments: [
        ("trafficDistribution: Nearest", "", "spec.trafficDistribution: \"Nearest\" is not a traffic distribution (PreferSameZone, PreferClose, PreferSameNode)"),
        ("trafficDistribution: PreferClose", ", annotations: {svcdns.io/topology: nearby}", "metadata.annotations[svcdns.io/topology]: \"nearby\" is not prefer-zone or require-zone"),
    ])
    func aBadTopologyIsAnErrorNamingTheField(distribution: String, annotation: String, reason: String) throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.manifest(distribution: distribution, annotation: annotation)])
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 1)
        #expect(check.stdout == "\(folder.path)/web.yaml: Service default/web: \(reason)\n", "\(check.stdout)")
    }
}
