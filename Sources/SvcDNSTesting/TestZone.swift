import Authority
import DNSMessage
import ServiceModel

/// Snapshots made from inline manifests and zone-file text, for tests that need no folder.
public enum TestZone {
    public typealias Failure = TestFailure

    /// The SOA serial every test snapshot carries, so negative answers can be written out in rows.
    public static let serial: UInt32 = 2026

    /// Builds a snapshot. Throws when any manifest or zone file has a problem: a test's input is meant to be good.
    public static func snapshot(
        manifests: String, zoneFiles: [String: String] = [:], domain: String = "cluster.local", ttl: UInt32 = 5,
        nameServers: [String] = [], health: HealthVerdicts = HealthVerdicts(), failOpen: Bool = true,
        rotation: RotationMode = .roundRobin, maxAnswers: Int = 0
    ) throws -> Snapshot {
        let decoded = ManifestDecoder.decode(manifests, file: "test.yaml")
        guard decoded.problems.isEmpty else {
            throw Failure(description: decoded.problems.map(\.description).joined(separator: "\n"))
        }
        var catalog = Catalog()
        for object in decoded.objects { catalog.insert(object) }
        var zones: [ZoneFileContents] = []
        for (origin, text) in zoneFiles.sorted(by: { $0.key < $1.key }) {
            zones.append(try ZoneFile.parse(text, file: "\(origin).zone", origin: DomainName(origin)!))
        }
        let settings = ClusterSettings(
            domain: DomainName(domain)!, ttl: ttl, nameServerAddresses: nameServers.compactMap { IPAddress($0) },
            failOpen: failOpen, rotation: rotation, maxAnswers: maxAnswers
        )
        return SnapshotBuilder(settings: settings).build(
            catalog: catalog, staticZones: zones, health: health, generation: 1, serial: serial
        )
    }

    /// The negative-answer SOA of the cluster zone of a test snapshot, as a zone-file line.
    public static func negativeSOA(domain: String = "cluster.local", ttl: UInt32 = 5) -> String {
        "\(domain). \(ttl) IN SOA ns.dns.\(domain). hostmaster.\(domain). \(serial) 7200 1800 86400 \(ttl)"
    }
}
