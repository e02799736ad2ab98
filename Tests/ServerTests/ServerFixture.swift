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

/// Raw message pieces (RFC 1035 §4.1), for what libldns will not build.
enum RawMessage {
    static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func header(id: UInt16, flags: UInt16 = 0x0100, qd: UInt16 = 1, ar: UInt16 = 0) -> [UInt8] {
        u16(id) + u16(flags) + u16(qd) + u16(0) + u16(0) + u16(ar)
    }

    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func question(_ text: String = ServerFixture.web, type: UInt16 = 1) -> [UInt8] {
        name(text) + u16(type) + u16(1)
    }

    static func opt(udpSize: UInt16 = 1232, rdata: [UInt8] = []) -> [UInt8] {
        [0] + u16(41) + u16(udpSize) + u16(0) + u16(0) + u16(UInt16(rdata.count)) + rdata
    }

    /// `message` with its opcode replaced (the header's bits 11–14).
    static func withOpcode(_ opcode: UInt16, _ message: [UInt8]) -> [UInt8] {
        var copy = message
        copy[2] = (copy[2] & 0x87) | UInt8(opcode << 3)
        return copy
    }
}

/// A deterministic generator (SplitMix64), so a failing random corpus is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
