// The snapshot every server test answers from, the two transports, and raw-message builders.
import Authority
import SvcDNSTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A ClusterIP Service with two named ports and a headless Service with 60 named endpoints, whose
/// A answer (12 + 31 + 60 × 16 = 1003 bytes) is over 512 but fits 1232, and whose SRV answer does not.
enum ServerFixture {
    static let headlessCount = 60

    static let manifests: String = {
        let endpoints = (0..<headlessCount).map { index in
            """
                  - addresses: [127.0.4.\(index + 1)]
                    hostname: big-\(index)
                    conditions: {ready: true}
            """
        }.joined(separator: "\n")
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              clusterIP: 10.96.0.10
              ports:
                - {name: http, port: 80, protocol: TCP}
                - {name: metrics, port: 9090, protocol: TCP}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: big, namespace: data}
            spec:
              clusterIP: None
              ports:
                - {name: postgres, port: 5432, protocol: TCP}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: big-abcde
              namespace: data
              labels: {kubernetes.io/service-name: big}
            addressType: IPv4
            endpoints:
            \(endpoints)
            ports:
              - {name: postgres, port: 5432, protocol: TCP}
            """
    }()

    static func snapshot() throws -> Snapshot {
        try TestZone.snapshot(manifests: manifests)
    }

    static let web = "web.default.svc.cluster.local."
    static let webA = "web.default.svc.cluster.local. 5 IN A 10.96.0.10"
    static let big = "big.data.svc.cluster.local."
    static let bigSRV = "_postgres._tcp.big.data.svc.cluster.local."

    static var bigA: [String] {
        (0..<headlessCount).map { "big.data.svc.cluster.local. 5 IN A 127.0.4.\($0 + 1)" }
    }

    static var bigHostA: [String] {
        (0..<headlessCount).map { "big-\($0).big.data.svc.cluster.local. 5 IN A 127.0.4.\($0 + 1)" }
    }

    static var bigSRVRecords: [String] {
        (0..<headlessCount).map { "\(bigSRV) 5 IN SRV 0 1 5432 big-\($0).big.data.svc.cluster.local." }
    }
}

/// How a test reaches the server: each test that does not care runs on both.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case udp = "UDP"
    case tcp = "TCP"

    var testDescription: String { rawValue }

    /// Sends `message` and returns the raw reply, or nil when none came within `timeout` seconds.
    func exchange(_ message: [UInt8], with server: TestServer, timeout: Double = 2) throws -> [UInt8]? {
        switch self {
        case .udp: try TestClient.udp(message, port: server.port, timeout: timeout)
        case .tcp: try TestClient.tcp(message, port: server.port, timeout: timeout)
        }
    }

    /// Sends `message` and decodes the reply with libldns; fails the test when there is none.
    func ask(_ message: [UInt8], _ server: TestServer) throws -> DecodedResponse {
        guard let reply = try exchange(message, with: server) else {
            throw TestClient.Failure(description: "no reply over \(rawValue) within 2 s")
        }
        return try LDNS.decode(reply)
    }
}
