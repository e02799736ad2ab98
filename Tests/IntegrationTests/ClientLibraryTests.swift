import Foundation
import SvcDNSTesting
import Testing

/// The real binary, asked by the client libraries programs actually use: dnspython, node's
/// `dns.promises.Resolver` (c-ares) and Java's JNDI DNS provider, each a small program in `Clients/`.
/// Every client asks 127.0.0.1:PORT explicitly; none reads the host's resolver. A and SRV of a ClusterIP
/// Service; A and SRV of a headless Service with 100 endpoints, whose answers do not fit a UDP message, so
/// each client must retry over TCP on the truncated answer; and names outside the cluster, forwarded to a
/// real NSD serving `upstream.test.` (whose `big` name is truncated over UDP too).
@Suite(.serialized) struct ClientLibraryTests {
    enum Client: String, CaseIterable, Sendable, CustomStringConvertible {
        case dnspython, node, jndi
        var description: String { rawValue }
    }

    static let clients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients")
        .path

    /// `web`, a ClusterIP Service, and `big`, a headless Service of 100 unprobed endpoints `big-1`…`big-100`.
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec:
          clusterIP: 10.96.0.10
          ports: [{name: http, port: 80, protocol: TCP}]
        ---
        \(TestManifest.headlessService("big", endpoints: (1...100).map { .init("127.0.11.\($0)", hostname: "big-\($0)") }))
        """

    static let bigAddresses = (1...100).map { "127.0.11.\($0)" }.sorted()
    static let bigSRV = (1...100).map { "0 1 8080 big-\($0).big.default.svc.cluster.local." }.sorted()
    static let upstreamBigAddresses = (1...100).map { "127.0.12.\($0)" }.sorted()

    /// An NSD upstream and svcdns forwarding to it, both stopped when the value goes.
    final class Servers {
        let upstream: TestUpstream
        let folder: TemporaryFolder
        let svcdns: SvcDNSProcess

        init() throws {
            upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
            folder = try TemporaryFolder(files: ["cluster.yaml": ClientLibraryTests.manifests])
            // Should this throw, `upstream` goes with the half-made value, and its deinit stops NSD.
            svcdns = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        }

        deinit {
            svcdns.stop()
            upstream.stop()
        }
    }

    /// Runs one lookup through `client` and returns the records it printed, one a line, sorted.
    static func lookup(_ client: Client, port: Int, _ type: String, _ name: String) throws -> [String] {
        let result: Tool.Result
        switch client {
        case .dnspython:
            result = try Tool.run("python3", ["\(clients)/dnspython_client.py", "\(port)", type, name], timeout: 30)
        case .node:
            result = try Tool.run("node", ["\(clients)/node_client.js", "\(port)", type, name], timeout: 30)
        case .jndi:
            result = try Tool.run("java", ["\(clients)/JndiClient.java", "\(port)", type, name], timeout: 60)
        }
        guard result.status == 0 else {
            throw TestFailure(
                description: "\(client) \(type) \(name) exited \(result.status): \(result.stderr)\(result.stdout)")
        }
        return result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }.sorted()
    }

    /// Compares what `client` printed for `name` with `expected`, naming the first differing records.
    static func check(_ client: Client, _ servers: Servers, _ type: String, _ name: String, _ expected: [String]) {
        do {
            let got = try lookup(client, port: servers.svcdns.dnsPort, type, name)
            let missing = expected.filter { !got.contains($0) }
            let extra = got.filter { !expected.contains($0) }
            #expect(
                got == expected.sorted(),
                """
                \(client) \(type) \(name): \(got.count) records, expected \(expected.count); \
                missing \(missing.prefix(5)), unexpected \(extra.prefix(5))
                """
            )
        } catch {
            Issue.record("\(error)\nsvcdns:\n\(servers.svcdns.output.suffix(2000))")
        }
    }

    @Test(arguments: Client.allCases) func clusterNames(_ client: Client) throws {
        let servers = try Servers()
        Self.check(client, servers, "A", "web.default.svc.cluster.local", ["10.96.0.10"])
        Self.check(
            client, servers, "SRV", "_http._tcp.web.default.svc.cluster.local",
            ["0 100 80 web.default.svc.cluster.local."])
        // 100 records: more than a UDP answer holds, so these pass only through the client's TCP retry.
        Self.check(client, servers, "A", "big.default.svc.cluster.local", Self.bigAddresses)
        Self.check(client, servers, "SRV", "_http._tcp.big.default.svc.cluster.local", Self.bigSRV)
    }

    @Test(arguments: Client.allCases) func forwardedNames(_ client: Client) throws {
        let servers = try Servers()
        Self.check(client, servers, "A", "www.upstream.test", ["127.0.10.1"])
        // Truncated by NSD over UDP: svcdns retries upstream over TCP, then truncates to the client in turn.
        Self.check(client, servers, "A", "big.upstream.test", Self.upstreamBigAddresses)
    }

    /// The big answers really are truncated over UDP (with EDNS at 1232 bytes and without EDNS), so the client
    /// tests above prove the TCP fallback; and over TCP they are whole.
    @Test func bigAnswersAreTruncatedOverUDP() throws {
        let servers = try Servers()
        let cases: [(port: Int, name: String, type: String, count: Int)] = [
            (servers.svcdns.dnsPort, "big.default.svc.cluster.local", "A", 100),
            (servers.svcdns.dnsPort, "_http._tcp.big.default.svc.cluster.local", "SRV", 100),
            (servers.upstream.port, "big.upstream.test", "A", 100),
        ]
        for item in cases {
            for udpSize in [nil, 1232] as [UInt16?] {
                let query = try LDNS.query(item.name, item.type, udpSize: udpSize)
                let reply = try #require(
                    try TestClient.udp(query, port: item.port), "no UDP answer to \(item.name) \(item.type)")
                let decoded = try LDNS.decode(reply)
                #expect(
                    decoded.truncated, "\(item.name) \(item.type) udp size \(String(describing: udpSize)): TC not set")
                #expect(reply.count <= Int(udpSize ?? 512), "\(item.name): \(reply.count) bytes over UDP")
            }
            let whole = try #require(try TestClient.tcp(try LDNS.query(item.name, item.type), port: item.port))
            let decoded = try LDNS.decode(whole)
            #expect(
                !decoded.truncated && decoded.answer.count == item.count,
                "\(item.name) over TCP: \(decoded.answer.count) records")
        }
    }
}
