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
        ("trafficDistribution: PreferClose", "", "endpoints[3].hints.forZones: 9 zones, at most 8"),
    ])
    func aBadTopologyIsAnErrorNamingTheField(distribution: String, annotation: String, reason: String) throws {
        var manifest = Self.manifest(distribution: distribution, annotation: annotation)
        if reason.contains("hints") {
            let nine = (1...9).map { "{name: z\($0)}" }.joined(separator: ", ")
            manifest = manifest.replacingOccurrences(of: "[{name: zone-c}]", with: "[\(nine)]")
        }
        let folder = try TemporaryFolder(files: ["web.yaml": manifest])
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 1)
        let object = reason.hasPrefix("endpoints") ? "EndpointSlice default/web-1" : "Service default/web"
        #expect(check.stdout == "\(folder.path)/web.yaml: \(object): \(reason)\n", "\(check.stdout)")
    }

    static let zones = [
        "web.yaml": manifest(annotation: ", annotations: {svcdns.io/health-check: none}"),
        "req.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: req, namespace: default, annotations: {svcdns.io/health-check: none, svcdns.io/topology: require-zone}}
            spec: {clusterIP: None}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: req-1, namespace: default, labels: {kubernetes.io/service-name: req}}
            addressType: IPv4
            endpoints: [{addresses: [127.0.27.5], zone: zone-a}]
            """,
    ]
    static let clientZones = [
        "--client-zone", "127.0.28.0/24=zone-a", "--client-zone", "127.0.29.0/24=zone-b",
        "--client-zone", "127.0.28.128/25=Zone-C",
    ]

    /// The answer records' last fields (addresses, or SRV targets) in order, asked from `source`.
    static func ask(_ name: String, _ type: String = "A", from source: String, at server: SvcDNSProcess) throws -> (String, [String]) {
        let socket = try TestClient.UDPSocket(port: server.dnsPort, source: source)
        try socket.send(try LDNS.query(name, type))
        let response = try LDNS.decode(try #require(socket.receive(), "no answer to \(name) from \(source)"))
        return (response.rcodeName, response.answer.map { String($0.split(separator: " ").last!) })
    }

    @Test func aClientInAZoneGetsItsZonesEndpointsFirst() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.clientZones)
        defer { server.stop() }
        let name = "web.default.svc.cluster.local"
        let zoneA = Set(["127.0.27.1", "127.0.27.2"])
        let others = Set(["127.0.27.3", "127.0.27.4"])

        // zone-a: its two first, rotating between them exactly; the other two after, rotating too.
        var leaders: [String] = []
        for _ in 0..<4 {
            let (rcode, records) = try Self.ask(name, from: "127.0.28.1", at: server)
            #expect(rcode == "NOERROR")
            #expect(records.count == 4 && Set(records.prefix(2)) == zoneA && Set(records.suffix(2)) == others, "\(records)")
            leaders.append(records.first ?? "")
        }
        #expect(leaders.filter { $0 == "127.0.27.1" }.count == 2 && leaders.filter { $0 == "127.0.27.2" }.count == 2, "\(leaders)")
        // zone-c (the longer prefix wins, its case does not matter): only 127.0.27.4 is hinted for it.
        let (_, hinted) = try Self.ask(name, from: "127.0.28.130", at: server)
        #expect(hinted.first == "127.0.27.4" && hinted.count == 4, "\(hinted)")
        // SRV: the targets in zone-b first.
        let (_, targets) = try Self.ask("_http._tcp.\(name)", "SRV", from: "127.0.29.1", at: server)
        #expect(
            Set(targets.prefix(2)) == ["127-0-27-3.web.default.svc.cluster.local.", "127-0-27-4.web.default.svc.cluster.local."],
            "\(targets)")
        #expect(targets.count == 4)
        // A client in no known zone: as to anyone.
        let (_, anyone) = try Self.ask(name, from: "127.0.30.1", at: server)
        #expect(Set(anyone) == zoneA.union(others))

        // require-zone: only the zone's endpoints, and none (no data) from a zone without one.
        #expect(try Self.ask("req.default.svc.cluster.local", from: "127.0.28.1", at: server) == ("NOERROR", ["127.0.27.5"]))
        #expect(try Self.ask("req.default.svc.cluster.local", from: "127.0.29.1", at: server) == ("NOERROR", []))
        #expect(try Self.ask("req.default.svc.cluster.local", from: "127.0.30.1", at: server) == ("NOERROR", ["127.0.27.5"]))
    }

    @Test func windowedAnswersHoldOnlyTheZonesEndpoints() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.clientZones + ["--max-answers", "2"])
        defer { server.stop() }
        for _ in 0..<3 {
            let (_, records) = try Self.ask("web.default.svc.cluster.local", from: "127.0.29.1", at: server)
            #expect(Set(records) == ["127.0.27.3", "127.0.27.4"], "\(records)")
        }
    }

    @Test func aBadClientZoneStopsStartup() throws {
        let result = try Tool.run(
            try SvcDNSProcess.binaryPath(), ["serve", "--zones", ExampleTests.zones, "--client-zone", "127.0.0.0/8=zone.a"],
            timeout: 10)
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("--client-zone 127.0.0.0/8=zone.a is not CIDR=ZONE"))
    }
}

/// EDNS Client Subnet (RFC 7871): a resolver allowed to recurse names its client's subnet, and the answer is that
/// subnet's zone's, echoed with the scope a resolver may cache it for.
@Suite(.serialized) struct ClientSubnetTests {
    /// A resolver at 127.0.31.1 (allowed to recurse); 127.0.28.x and 127.0.29.x are zones a and b.
    static let arguments = TopologyTests.clientZones + ["--allow-recursion", "127.0.31.0/24"]

    /// What dig printed: the answer's addresses in order, and the CLIENT-SUBNET line of its OPT section.
    static func dig(_ name: String, _ type: String = "A", subnet: String?, from source: String, at server: SvcDNSProcess) throws
        -> (status: String, records: [String], echoed: String?)
    {
        var arguments = ["-b", source, "@127.0.0.1", "-p", "\(server.dnsPort)", "+norecurse", "+comments", name, type]
        if let subnet { arguments.insert("+subnet=\(subnet)", at: 0) }
        let output = try Tool.run("dig", arguments, timeout: 10)
        let parsed = try DigOutput(parsing: output.stdout)
        let echoed = output.stdout.split(separator: "\n").first { $0.hasPrefix("; CLIENT-SUBNET: ") }
            .map { String($0.dropFirst("; CLIENT-SUBNET: ".count)) }
        return (parsed.status, parsed.answer.map { String($0.split(separator: " ").last!) }, echoed)
    }

    @Test func theSubnetsZoneDecides() throws {
        let folder = try TemporaryFolder(files: TopologyTests.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.arguments)
        defer { server.stop() }
        let web = "web.default.svc.cluster.local"
        let zoneA: Set = ["127.0.27.1", "127.0.27.2"]
        let zoneB: Set = ["127.0.27.3", "127.0.27.4"]

        // The resolver is in no zone itself: its clients' subnets decide, and the answer is good for that subnet.
        let a = try Self.dig(web, subnet: "127.0.28.0/24", from: "127.0.31.1", at: server)
        #expect(a.status == "NOERROR" && Set(a.records.prefix(2)) == zoneA && a.records.count == 4, "\(a)")
        #expect(a.echoed == "127.0.28.0/24/24")
        let b = try Self.dig(web, subnet: "127.0.29.0/24", from: "127.0.31.1", at: server)
        #expect(Set(b.records.prefix(2)) == zoneB && b.records.count == 4, "\(b)")
        #expect(b.echoed == "127.0.29.0/24/24")
        // require-zone from zone b's subnet: no data, still only for that subnet.
        let required = try Self.dig("req.default.svc.cluster.local", subnet: "127.0.29.0/24", from: "127.0.31.1", at: server)
        #expect(required.status == "NOERROR" && required.records.isEmpty && required.echoed == "127.0.29.0/24/24", "\(required)")
        // A /16 spans more than zone a's /24: no zone speaks for all of it, so it is answered as anyone is, and only
        // for that /16 (elsewhere it differs).
        let wide = try Self.dig("req.default.svc.cluster.local", subnet: "127.0.0.0/16", from: "127.0.31.1", at: server)
        #expect(wide.records == ["127.0.27.5"] && wide.echoed == "127.0.0.0/16/16", "\(wide)")
        // IPv6 subnets are read as well; no zone holds this one.
        let v6 = try Self.dig("req.default.svc.cluster.local", subnet: "2001:db8::/56", from: "127.0.31.1", at: server)
        #expect(v6.records == ["127.0.27.5"] && v6.echoed == "2001:db8::/56/56", "\(v6)")
        // Names whose answer is everyone's: scope 0, so the resolver caches them once.
        let version = try Self.dig("dns-version.cluster.local", "TXT", subnet: "127.0.28.0/24", from: "127.0.31.1", at: server)
        #expect(version.status == "NOERROR" && version.records.count == 1 && version.echoed == "127.0.28.0/24/0", "\(version)")
        // A source prefix of 0 discloses nothing: the sender's own zone (none here), scope 0.
        let hidden = try Self.dig("req.default.svc.cluster.local", subnet: "0.0.0.0/0", from: "127.0.31.1", at: server)
        #expect(hidden.records == ["127.0.27.5"] && hidden.echoed?.hasSuffix("/0/0") == true, "\(hidden)")
    }

    @Test func onlyResolversAllowedToRecurseAreBelieved() throws {
        let folder = try TemporaryFolder(files: TopologyTests.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.arguments)
        defer { server.stop() }
        // A client in zone a claims zone b's subnet: its own address decides, and the option is not echoed.
        let claimed = try Self.dig("req.default.svc.cluster.local", subnet: "127.0.29.0/24", from: "127.0.28.1", at: server)
        #expect(claimed.records == ["127.0.27.5"] && claimed.echoed == nil, "\(claimed)")
        // Without --client-zone the option is not used at all.
        let plain = try SvcDNSProcess(zones: folder.path, arguments: ["--allow-recursion", "127.0.31.0/24"])
        defer { plain.stop() }
        let ignored = try Self.dig("req.default.svc.cluster.local", subnet: "127.0.29.0/24", from: "127.0.31.1", at: plain)
        #expect(ignored.records == ["127.0.27.5"] && ignored.echoed == nil, "\(ignored)")
    }

    /// RFC 7871 §7.1.1: a malformed option is FORMERR (with OPT, since the OPT record itself reads).
    @Test(arguments: [
        ("scope set in a query", [0, 1, 24, 8, 127, 0, 28] as [UInt8]),
        ("bits past the source prefix", [0, 1, 20, 0, 127, 0, 31]),
        ("address longer than the prefix", [0, 1, 16, 0, 127, 0, 28]),
        ("prefix longer than the family's", [0, 1, 33, 0, 127, 0, 28, 1, 0]),
        ("unknown family", [0, 3, 8, 0, 127]),
        ("shorter than its fixed fields", [0, 1, 0]),
    ])
    func aMalformedSubnetIsAFormatError(reason: String, data: [UInt8]) throws {
        let folder = try TemporaryFolder(files: TopologyTests.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.arguments)
        defer { server.stop() }
        let option = RawMessage.u16(8) + RawMessage.u16(UInt16(data.count)) + data
        let query = RawMessage.header(id: 0x5151, ar: 1) + RawMessage.question() + RawMessage.opt(rdata: option)
        let socket = try TestClient.UDPSocket(port: server.dnsPort, source: "127.0.31.1")
        try socket.send(query)
        let response = try LDNS.decode(try #require(socket.receive(), "\(reason)"))
        #expect(response.id == 0x5151 && response.rcodeName == "FORMERR" && response.edns != nil, "\(reason)")
        // Two well-formed options in one query are refused too; one alone is answered.
        let good = RawMessage.u16(8) + RawMessage.u16(7) + [0, 1, 24, 0, 127, 0, 28]
        try socket.send(RawMessage.header(id: 0x5152, ar: 1) + RawMessage.question() + RawMessage.opt(rdata: good + good))
        #expect(try LDNS.decode(try #require(socket.receive())).rcodeName == "FORMERR")
        try socket.send(RawMessage.header(id: 0x5153, ar: 1) + RawMessage.question() + RawMessage.opt(rdata: good))
        #expect(try LDNS.decode(try #require(socket.receive())).rcodeName == "NOERROR")
    }
}
