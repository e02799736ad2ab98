import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A DNS-over-TCP client that pipelines queries and never reads its answers, against the real binary
/// (RFC 7766 §6.2.3): svcdns stops reading the connection instead of queuing answers without bound, keeps
/// answering everyone else (UDP, forwarding, other TCP clients), and closes the connection once it has
/// stayed stuck for the idle timeout.
@Suite(.serialized) struct TCPBackpressureTests {
    static let endpoints = 24

    /// A headless Service whose SRV answer (24 targets and their addresses) is over a kilobyte.
    static var manifests: String {
        let addresses = (1...endpoints).map { "  - {addresses: [127.0.3.\($0)], hostname: member-\($0)}" }
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: wide, namespace: default}
            spec:
              clusterIP: None
              ports: [{name: pg, port: 5432}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: wide-1, namespace: default, labels: {kubernetes.io/service-name: wide}}
            addressType: IPv4
            endpoints:
            \(addresses.joined(separator: "\n"))
            ports: [{name: pg, port: 5432}]
            """
    }

    static let srvName = "_pg._tcp.wide.default.svc.cluster.local"

    /// A static zone whose TXT answer is 40 KB: cheap to encode, so a server without backpressure queues
    /// answers faster than a debug build could queue SRV answers, and the growth shows within a second.
    static var bigZone: String {
        let records = (0..<40).map { index in
            "blob IN TXT \"\(index)\" " + (0..<4).map { _ in "\"" + String(repeating: "abcd".randomElement()!, count: 250) + "\"" }.joined(separator: " ")
        }
        return (["$ORIGIN big.example.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 604800 60", "  IN NS ns1", "ns1 IN A 127.0.0.53"]
            + records).joined(separator: "\n") + "\n"
    }

    /// The 24 addresses over UDP, as a client that is not misbehaving gets them.
    static func checkUDP(_ server: SvcDNSProcess, id: UInt16) throws {
        let reply = try #require(
            try TestClient.udp(try LDNS.query("wide.default.svc.cluster.local", "A", id: id, udpSize: 1232), port: server.dnsPort),
            "UDP unanswered while a TCP client does not read"
        )
        let decoded = try LDNS.decode(reply)
        #expect(decoded.id == id)
        #expect(decoded.answer.count == endpoints)
    }

    @Test func aClientThatNeverReadsCannotGrowTheServer() throws {
        let folder = try TemporaryFolder(files: ["wide.yaml": Self.manifests, "big.zone": Self.bigZone])
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let idleTimeout = 2.0
        let server = try SvcDNSProcess(
            zones: folder.path, arguments: ["--tcp-idle-timeout", "\(Int(idleTimeout))s", "--upstream", "127.0.0.1:\(upstream.port)"]
        )
        defer { server.stop() }
        let sample = try #require(try TestClient.tcp(try LDNS.query("blob.big.example", "TXT", id: 1), port: server.dnsPort))
        #expect(try LDNS.decode(sample).answer.count == 40)
        #expect(sample.count > 40_000, "the answers are big: \(sample.count) bytes")
        let before = try ProcessResources.memory(pid: server.processIdentifier)

        // 300,000 queries in chunks of 1,000; a send blocked for half a second means svcdns stopped reading.
        let chunk = try (0..<1000).flatMap { try TestClient.frame(LDNS.query("blob.big.example", "TXT", id: UInt16($0))) }
        let greedy = try TestClient.TCPConnection(port: server.dnsPort, timeout: 0.5)
        var sent = 0
        var stalled = false
        let deadline = Date().addingTimeInterval(60)
        while sent < 300_000 && Date() < deadline {
            do {
                try greedy.send(chunk)
            } catch {
                stalled = true
                break
            }
            sent += 1000
            if sent % 25_000 == 0 { try Self.checkUDP(server, id: UInt16(sent / 1000)) }
        }
        // While the greedy connection is stuck: UDP, forwarding and a new TCP connection are answered at once.
        try Self.checkUDP(server, id: 0xAAAA)
        let forwarded = try #require(
            try TestClient.udp(try LDNS.query("www.upstream.test", "A", id: 0xDDDD), port: server.dnsPort), "forwarding unanswered"
        )
        #expect(try LDNS.decode(forwarded).answer == ["www.upstream.test. 300 IN A 127.0.10.1"])
        let other = try TestClient.tcp(try LDNS.query(Self.srvName, "SRV", id: 0xBBBB), port: server.dnsPort)
        #expect(other != nil, "a new TCP connection unanswered while another does not read")
        if let other { #expect(try LDNS.decode(other).answer.count == Self.endpoints) }

        let after = try ProcessResources.memory(pid: server.processIdentifier)
        let growth = after.peak - before.resident
        print("slow reader: \(sent) queries sent, stalled: \(stalled); RSS \(before.resident >> 20) MB before, peak \(after.peak >> 20) MB, growth \(growth >> 20) MB")
        #expect(growth < 64 << 20, "RSS grew by \(growth >> 20) MB for \(sent) queries not read")

        // Stuck (nothing moving either way) for the idle timeout: svcdns closes it.
        let stuckSince = Date()
        var closed = false
        for _ in 0..<Int((idleTimeout + 5) * 20) where !closed {
            closed = greedy.isClosedByServer
            if !closed { usleep(50_000) }
        }
        let waited = Date().timeIntervalSince(stuckSince)
        #expect(closed, "the connection that does not read is still open after \(waited) s")
        let counted = try ["idle", "unwritable"].compactMap { try ConnectionLimitTests.closedConnections(server, reason: $0) }.reduce(0, +)
        #expect(counted == 1, "closed connections counted: \(counted)")
        #expect(server.isRunning)
        try Self.checkUDP(server, id: 0xCCCC)
    }

    @Test func atMost64QueriesOfOneConnectionAreInFlight() throws {
        // An upstream that never answers: every forwarded question stays in flight until its timeout.
        let upstream = try SilentUpstream()
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--upstream-timeout", "5s"]
        )
        defer { server.stop() }
        let connection = try TestClient.TCPConnection(port: server.dnsPort, timeout: 2)
        let frames = try (0..<200).flatMap { try TestClient.frame(LDNS.query("q\($0).outside.example", "A", id: UInt16($0))) }
        try connection.send(frames)
        let asked = upstream.countQuestions(for: 1.5)
        #expect(asked == 64, "\(asked) questions of one connection forwarded at once")
        // That connection is not read until a slot frees; other clients are answered at once.
        let reply = try #require(try TestClient.tcp(try LDNS.query("web.default.svc.cluster.local", "A", id: 9), port: server.dnsPort))
        #expect(try LDNS.decode(reply).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
    }
}

/// An upstream on loopback that takes questions over TCP (svcdns asks over TCP for a client that used
/// TCP) and answers none, so each stays in flight until svcdns's upstream timeout.
private final class SilentUpstream {
    let fd: Int32
    let port: Int
    private var accepted: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 && listen(fd, 1024) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestFailure(description: "cannot listen on 127.0.0.1")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        for connection in accepted { close(connection) }
        close(fd)
    }

    /// The framed questions that arrived within `seconds`, over every connection svcdns opened.
    func countQuestions(for seconds: Double) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let connection = accept(fd, nil, nil)
            if connection >= 0 { accepted.append(connection) }
        }
        var questions = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        for connection in accepted {
            let received = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            var offset = 0
            while received > 0 && offset + 2 <= received {
                offset += 2 + (Int(buffer[offset]) << 8 | Int(buffer[offset + 1]))
                questions += 1
            }
        }
        return questions
    }
}
