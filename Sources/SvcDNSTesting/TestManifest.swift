/// Manifests that many tests share, written as `kubectl get -o yaml` would give them, so a test states only
/// what it varies: the Service's name, its endpoints and whether svcdns probes them.
public enum TestManifest {
    /// One endpoint of an EndpointSlice: its address and, for a stable name, its hostname.
    public struct Endpoint: Sendable {
        public var address: String
        public var hostname: String?

        public init(_ address: String, hostname: String? = nil) {
            self.address = address
            self.hostname = hostname
        }
    }

    /// A headless Service with one named TCP port `http` and one EndpointSlice of `endpoints` on `port`.
    /// `probed: false` annotates it `svcdns.io/health-check: none`, so it is served as written, unprobed.
    public static func headlessService(
        _ name: String, namespace: String = "default", port: Int = 8080, endpoints: [Endpoint], probed: Bool = false
    ) -> String {
        let annotations = probed ? "" : "\n  annotations: {svcdns.io/health-check: none}"
        let endpointLines = endpoints.map { endpoint in
            endpoint.hostname.map { "  - {addresses: [\(endpoint.address)], hostname: \($0)}" }
                ?? "  - {addresses: [\(endpoint.address)]}"
        }
        return """
            apiVersion: v1
            kind: Service
            metadata:
              name: \(name)
              namespace: \(namespace)\(annotations)
            spec:
              clusterIP: None
              ports: [{name: http, port: \(port), protocol: TCP}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: \(name)-1, namespace: \(namespace), labels: {kubernetes.io/service-name: \(name)}}
            addressType: IPv4
            endpoints:
            \(endpointLines.joined(separator: "\n"))
            ports: [{name: http, port: \(port), protocol: TCP}]
            """
    }
}
