import Authority
import DNSMessage
import ServiceModel
import SvcDNSTesting
import Testing

/// An incremental update must answer every question exactly as a full build of the same catalog would.
/// Random clusters go through random changes (Services added, replaced and removed, EndpointSlices
/// moved between Services, endpoints going down), and after each one both snapshots are asked every name
/// either could know, for every type.
@Suite struct IncrementalUpdateTests {
    static let settings = ClusterSettings(domain: DomainName("cluster.local.")!, ttl: 5, rotation: .none)
    static let builder = SnapshotBuilder(settings: settings)
    static let types: [RecordType] = [.a, .aaaa, .srv, .ptr, .cname, .txt, .ns, .soa]

    @Test(arguments: [1, 2] as [UInt64])
    func randomChangesAnswerAsAFullBuild(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var world = RandomCluster()
        for _ in 0..<12 { world.change(using: &random) }
        var snapshot = Self.builder.build(
            catalog: world.catalog, staticZones: [], health: world.health, generation: 1, serial: 1
        )
        for step in 0..<80 {
            let before = (world.catalog, world.health)
            let changed = world.change(using: &random)
            let serial = UInt32(step + 2)
            snapshot = Self.builder.update(
                snapshot, changing: changed, from: before, to: (world.catalog, world.health), generation: UInt64(serial),
                serial: serial
            )
            let full = Self.builder.build(
                catalog: world.catalog, staticZones: [], health: world.health, generation: UInt64(serial), serial: serial
            )
            let mismatches = Self.differences(snapshot, full, names: world.questionNames)
            #expect(mismatches.isEmpty, "seed \(seed), step \(step): \(mismatches.prefix(2))")
            #expect(snapshot.summary == full.summary, "seed \(seed), step \(step)")
            if !mismatches.isEmpty || snapshot.summary != full.summary { return }
        }
    }

    @Test func removingTheLastServiceOfANamespaceRemovesTheNamespaceName() {
        var catalog = Catalog()
        let web = Service(key: ObjectKey(namespace: "shop", name: "web"), clusterIPs: [IPAddress("10.96.0.1")!])
        catalog.insert(.service(web))
        let first = Self.builder.build(catalog: catalog, staticZones: [], generation: 1, serial: 1)
        let namespace = DomainName("shop.svc.cluster.local.")!
        #expect(first.answer(name: namespace, type: .a)?.response.rcode == .noError)

        var emptied = catalog
        emptied.remove(.service(web))
        let next = Self.builder.update(
            first, changing: [web.key], from: (catalog, HealthVerdicts()), to: (emptied, HealthVerdicts()), generation: 2,
            serial: 2
        )
        #expect(next.answer(name: namespace, type: .a)?.response.rcode == .nameError)
        #expect(next.answer(name: DomainName("1.0.96.10.in-addr.arpa.")!, type: .ptr)?.response.rcode == .nameError)
        #expect(next.answer(name: DomainName("0.96.10.in-addr.arpa.")!, type: .ptr)?.response.rcode == .nameError)
        // The SOA carries the new serial.
        let soa = next.answer(name: DomainName("cluster.local.")!, type: .soa)?.response.answer.first?.rdata.first
        guard case .soa(let data) = soa else {
            Issue.record("no SOA: \(String(describing: soa))")
            return
        }
        #expect(data.serial == 2)
    }

    /// Every (name, type) whose answers differ, as text.
    static func differences(_ incremental: Snapshot, _ full: Snapshot, names: [DomainName]) -> [String] {
        var found: [String] = []
        for name in names {
            for type in types {
                let left = incremental.answer(name: name, type: type).map(Answered.init)
                let right = full.answer(name: name, type: type).map(Answered.init)
                if left != right {
                    found.append("\(name) \(type): incremental \(String(describing: left)) full \(String(describing: right))")
                }
            }
        }
        return found
    }

    /// An answer with the order of records and RRsets left out (shared PTRs may list their targets in
    /// another order after an update).
    struct Answered: Equatable, CustomStringConvertible {
        var rcode: ResponseCode
        var authoritative: Bool
        var sections: [Set<String>]
        var targetOutsideZones: DomainName?

        init(_ answer: AuthoritativeAnswer) {
            let response = answer.response
            rcode = response.rcode
            authoritative = response.authoritative
            sections = [response.answer, response.authority, response.additional].map { sets in
                Set(sets.map { set in "\(set.owner) \(set.type) \(set.ttl) \(Set(set.rdata.map { "\($0)" }).sorted())" })
            }
            targetOutsideZones = answer.targetOutsideZones
        }

        var description: String { "\(rcode) \(sections)" }
    }
}

/// A small cluster that changes at random: three namespaces, ClusterIP, headless and ExternalName
/// Services, EndpointSlices that may name a Service that does not exist or move to another, addresses
/// drawn from a small pool so that PTRs are shared, and health verdicts that come and go.
struct RandomCluster {
    var catalog = Catalog()
    var health = HealthVerdicts()
    private var slices: [ObjectKey: EndpointSlice] = [:]
    static let namespaces = ["a", "b", "c"]
    static let names = ["web", "db", "api", "cache", "out"]

    static func address(_ index: Int) -> IPAddress {
        index % 5 == 4 ? IPAddress("fd00::\(index)")! : IPAddress("127.0.\(index / 8).\(index % 8 + 1)")!
    }

    /// Makes one random change and returns the Services it may have touched.
    @discardableResult
    mutating func change(using random: inout SplitMix64) -> Set<ObjectKey> {
        let namespace = Self.namespaces.randomElement(using: &random)!
        let name = Self.names.randomElement(using: &random)!
        let key = ObjectKey(namespace: namespace, name: name)
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<4:
            let object = ManifestObject.service(Self.randomService(key, using: &random))
            defer { catalog.insert(object) }
            return catalog.servicesAffected(by: object)
        case 4:
            guard let service = catalog.services[key] else { return [] }
            defer { catalog.remove(.service(service)) }
            return [key]
        case 5..<8:
            let sliceKey = ObjectKey(namespace: namespace, name: "\(name)-\(Int.random(in: 0..<2, using: &random))")
            if Bool.random(using: &random), let old = slices[sliceKey] {
                slices[sliceKey] = nil
                defer { catalog.remove(.endpointSlice(old)) }
                return catalog.servicesAffected(by: .endpointSlice(old))
            }
            let slice = Self.randomSlice(sliceKey, using: &random)
            slices[sliceKey] = slice
            defer { catalog.insert(.endpointSlice(slice)) }
            return catalog.servicesAffected(by: .endpointSlice(slice))
        default:
            let address = Self.address(Int.random(in: 0..<20, using: &random))
            let id = EndpointID(service: key, address: address)
            let states: [EndpointHealth?] = [nil, .pending, .up, .down, .down]
            var next = health
            next.states[id] = states.randomElement(using: &random)!
            defer { health = next }
            return next.servicesChanged(since: health)
        }
    }

    static func randomService(_ key: ObjectKey, using random: inout SplitMix64) -> Service {
        var ports: [ServicePort] = []
        for index in 0..<Int.random(in: 0..<3, using: &random) {
            let name = ["http", "grpc", nil].randomElement(using: &random)!
            ports.append(ServicePort(name: name, port: 80 + index, protocol: Bool.random(using: &random) ? .tcp : .udp))
        }
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            return Service(key: key, type: .externalName, externalName: "\(key.name).example.org", ports: ports)
        case 1, 2:
            return Service(key: key, isHeadless: true, ports: ports)
        default:
            var addresses = [IPAddress("10.96.\(Int.random(in: 0..<3, using: &random)).\(Int.random(in: 1..<4, using: &random))")!]
            if Bool.random(using: &random) { addresses.append(IPAddress("fd00:10::\(Int.random(in: 1..<4, using: &random))")!) }
            return Service(key: key, clusterIPs: addresses, ports: ports)
        }
    }

    static func randomSlice(_ key: ObjectKey, using random: inout SplitMix64) -> EndpointSlice {
        let service = names.randomElement(using: &random)!
        var endpoints: [Endpoint] = []
        for _ in 0..<Int.random(in: 0..<5, using: &random) {
            let address = Self.address(Int.random(in: 0..<20, using: &random))
            let hostname = Bool.random(using: &random) ? "pod-\(Int.random(in: 0..<3, using: &random))" : nil
            endpoints.append(Endpoint(addresses: [address], hostname: hostname, ready: Int.random(in: 0..<4, using: &random) > 0))
        }
        let ports = [EndpointPort(name: "http", port: 8080), EndpointPort(name: "grpc", port: 9090, protocol: .udp)]
        return EndpointSlice(
            key: key, serviceName: service, addressType: .ipv4, endpoints: endpoints,
            ports: Array(ports.prefix(Int.random(in: 0..<3, using: &random)))
        )
    }

    /// Every name either snapshot could know, and a few it cannot.
    var questionNames: [DomainName] {
        var names = ["cluster.local.", "svc.cluster.local.", "dns-version.cluster.local.", "in-addr.arpa.", "ip6.arpa."]
        for namespace in Self.namespaces {
            names.append("\(namespace).svc.cluster.local.")
            for service in Self.names + ["missing"] {
                let base = "\(service).\(namespace).svc.cluster.local."
                names += [base, "_tcp.\(base)", "_udp.\(base)", "_http._tcp.\(base)", "_http._udp.\(base)", "_grpc._udp.\(base)"]
                names += (0..<3).map { "pod-\($0).\(base)" }
                names += (0..<6).map { "\(Self.address($0 * 3).dashed).\(base)" }
            }
        }
        for index in 0..<20 {
            names.append(Self.reverseName(Self.address(index)))
        }
        for third in 0..<3 {
            for fourth in 1..<4 { names.append("\(fourth).\(third).96.10.in-addr.arpa.") }
            names.append("\(third).96.10.in-addr.arpa.")
        }
        names += ["0.0.127.in-addr.arpa.", "1.0.127.in-addr.arpa.", "127.in-addr.arpa.", "10.in-addr.arpa."]
        for index in 1..<4 {
            names.append(Self.reverseName(IPAddress("fd00:10::\(index)")!))
        }
        return names.compactMap { DomainName($0) }
    }

    static func reverseName(_ address: IPAddress) -> String {
        switch address {
        case .v4(let value):
            return "\(value & 255).\((value >> 8) & 255).\((value >> 16) & 255).\(value >> 24).in-addr.arpa."
        case .v6(let high, let low):
            var nibbles: [String] = []
            for word in [low, high] {
                for shift in stride(from: 0, to: 64, by: 4) { nibbles.append(String((word >> UInt64(shift)) & 0xF, radix: 16)) }
            }
            return nibbles.joined(separator: ".") + ".ip6.arpa."
        }
    }
}
