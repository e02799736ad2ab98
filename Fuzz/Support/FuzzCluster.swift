import Authority
import DNSMessage
import Foundation
import Registry
import ServiceModel

/// What the DNS fuzz targets answer from: the example `zones/` folder plus a generated cluster with every
/// kind of name the schema has, and answers both small and larger than every UDP limit.
public enum FuzzCluster {
    public static let domain = DomainName("cluster.local.")!

    /// The repository's `zones/`: `SVCDNS_FUZZ_ZONES` when set, else the folder beside `Fuzz/`.
    public static var zonesDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["SVCDNS_FUZZ_ZONES"] { return directory }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("zones").path
    }

    /// Headless Services of 3, 40 and 120 endpoints: answers that fit 512 bytes, fit only 1232, and fit
    /// neither (so truncation keeps what fits).
    static let headlessSizes = [3, 40, 120]

    /// The generated cluster as one manifest text: ClusterIP Services with named ports, a dual-stack one,
    /// headless ones with hostnames and IPv4 and IPv6 endpoints (some not ready), an ExternalName.
    public static var manifests: String {
        var documents: [String] = []
        for index in 0..<20 {
            documents.append(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: svc-\(index), namespace: fuzz}
                spec:
                  clusterIP: 10.97.0.\(index + 1)
                  ports:
                    - {name: http, port: 80, protocol: TCP}
                    - {name: dns, port: 53, protocol: UDP}
                """)
        }
        documents.append(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: dual, namespace: fuzz}
            spec:
              clusterIP: 10.97.1.1
              clusterIPs: [10.97.1.1, "fd00:10:97::1"]
              ipFamilies: [IPv4, IPv6]
              ports: [{name: http, port: 80}]
            """)
        documents.append(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: away, namespace: fuzz}
            spec: {type: ExternalName, externalName: svc-1.fuzz.svc.cluster.local}
            """)
        for (index, size) in headlessSizes.enumerated() {
            let name = "headless-\(size)"
            // Typed: with GRDB in the build, an untyped interpolated literal here is inferred as GRDB's `SQL`.
            let endpoints = (0..<size).map { endpoint -> String in
                let ready = endpoint % 7 == 6 ? "false" : "true"
                return "  - {addresses: [127.1.\(index).\(endpoint + 1)], hostname: pod-\(endpoint), conditions: {ready: \(ready)}}"
            }.joined(separator: "\n")
            documents.append(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: \(name), namespace: fuzz}
                spec:
                  clusterIP: None
                  ports: [{name: grpc, port: 9000, protocol: TCP}, {name: gossip, port: 7946, protocol: UDP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: \(name)-v4, namespace: fuzz, labels: {kubernetes.io/service-name: \(name)}}
                addressType: IPv4
                endpoints:
                \(endpoints)
                ports: [{name: grpc, port: 9000, protocol: TCP}, {name: gossip, port: 7946, protocol: UDP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: \(name)-v6, namespace: fuzz, labels: {kubernetes.io/service-name: \(name)}}
                addressType: IPv6
                endpoints:
                  - {addresses: ["::1"], hostname: v6-pod}
                ports: [{name: grpc, port: 9000, protocol: TCP}]
                """)
        }
        return documents.joined(separator: "\n---\n")
    }

    /// The catalog and zone files of `zones/` with the generated cluster added.
    public static func contents() -> (catalog: Catalog, zones: [ZoneFileContents]) {
        let folder = FolderSource(directory: zonesDirectory, domain: domain).load()
        require(folder.problems.isEmpty, "zones/ has problems: \(folder.problems)")
        require(!folder.catalog.services.isEmpty, "zones/ at \(zonesDirectory) has no Services")
        var catalog = folder.catalog
        let generated = ManifestDecoder.decode(manifests, file: "generated")
        require(generated.problems.isEmpty, "the generated cluster has problems: \(generated.problems)")
        for object in generated.objects { catalog.insert(object) }
        return (catalog, folder.zones)
    }

    /// A snapshot of the cluster, built as the server builds its own.
    public static func snapshot(settings: ClusterSettings = ClusterSettings(domain: domain)) -> Snapshot {
        let (catalog, zones) = contents()
        return SnapshotBuilder(settings: settings).build(catalog: catalog, staticZones: zones, generation: 1, serial: 1)
    }
}
