// The UDP workers over real loopback sockets: bursts from several clients, one and two workers, IPv6,
// forwarded queries answered through the worker's socket, oversized and dropped datagrams, shutdown,
// and `svcdns serve --udp-workers 2` end to end (threads, answers, metrics).
import Authority
import Forwarding
import Foundation
import Logging
import NIOCore
import NIOPosix
import SvcDNSTesting
import Testing

@testable import Server

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` with the port of a server answering `ServerFixture` on `host` (port 0) with `workers` UDP
/// workers; the server is stopped afterwards, also when `body` throws.
private func withUDPServer<T>(
    workers: Int, host: String = "127.0.0.1", forwarding: ForwardingPolicy? = nil, _ body: (Int) async throws -> T
) async throws -> T {
    let listeners = try await makeServer(workers: workers, host: host, forwarding: forwarding).bind()
    do {
        let result = try await body(listeners.localAddresses[0].port!)
        await listeners.close()
        return result
    } catch {
        await listeners.close()
        throw error
    }
}

private func makeServer(workers: Int, host: String = "127.0.0.1", forwarding: ForwardingPolicy? = nil) throws -> DNSServer {
    DNSServer(
        configuration: DNSServerConfiguration(addresses: [ListenAddress(host: host, port: 0)], udpWorkers: workers),
        pipeline: QueryPipeline(
            resolver: QueryResolver(snapshots: SnapshotStore(try ServerFixture.snapshot()), forwarding: forwarding)
        ),
        group: MultiThreadedEventLoopGroup.singleton,
        logger: Logger(label: "svcdns.test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
}

/// A question and everything its answer must say.
private struct Asked: Sendable {
    var name: String
    var type: String
    var rcode: String
    var answer: [String]

    static let mix = [
        Asked(name: ServerFixture.web, type: "A", rcode: "NOERROR", answer: [ServerFixture.webA]),
        Asked(
            name: "big-7.big.data.svc.cluster.local.", type: "A", rcode: "NOERROR",
            answer: ["big-7.big.data.svc.cluster.local. 5 IN A 127.0.4.8"]),
        Asked(name: "nope.default.svc.cluster.local.", type: "A", rcode: "NXDOMAIN", answer: []),
        Asked(
            name: "_http._tcp.web.default.svc.cluster.local.", type: "SRV", rcode: "NOERROR",
            answer: ["_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."]),
    ]

    /// The differences between `response` and what this question must get, for a test message.
    func mismatches(in response: DecodedResponse) throws -> [String] {
        var problems: [String] = []
        let question = "\(name) IN \(type)"
        if response.question != [question] { problems.append("question \(response.question), expected [\(question)]") }
        if response.rcodeName != rcode { problems.append("rcode \(response.rcodeName), expected \(rcode)") }
        if !response.isResponse || !response.authoritative { problems.append("QR and AA must be set: \(response)") }
        let expected = try answer.map(LDNS.canonical)
        if response.answer != expected { problems.append("answer \(response.answer), expected \(expected)") }
        return problems
    }
}

/// True when a UDP socket that does not share its port (no SO_REUSEPORT) can bind 127.0.0.1:`port`.
private func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

@Suite("UDP workers")
struct UDPWorkerTests {
    static let clients = 4
    static let queriesPerClient = 32

    @Test(arguments: [1, 2])
    func burstFromSeveralClientsIsAnsweredInFull(workers: Int) async throws {
        try await withUDPServer(workers: workers) { port in
            let sockets = try (0..<Self.clients).map { _ in try TestClient.UDPSocket(port: port) }
            // Every client sends its whole share before any reads, so the workers get full batches.
            var sent: [[UInt16: Asked]] = Array(repeating: [:], count: Self.clients)
            for round in 0..<Self.queriesPerClient {
                for (client, socket) in sockets.enumerated() {
                    let id = UInt16(client * 1000 + round)
                    let asked = Asked.mix[(client + round) % Asked.mix.count]
                    try socket.send(try LDNS.query(asked.name, asked.type, id: id, udpSize: 1232))
                    sent[client][id] = asked
                }
            }
            for (client, socket) in sockets.enumerated() {
                var answered: Set<UInt16> = []
                for _ in 0..<Self.queriesPerClient {
                    guard let reply = socket.receive() else { break }
                    let response = try LDNS.decode(reply)
                    let asked = try #require(sent[client][response.id], "client \(client) got an ID it never sent")
                    let problems = try asked.mismatches(in: response)
                    #expect(problems.isEmpty, "client \(client), id \(response.id): \(problems.joined(separator: "; "))")
                    #expect(!answered.contains(response.id), "one answer per query")
                    answered.insert(response.id)
                }
                #expect(answered.count == Self.queriesPerClient, "client \(client): \(answered.count) answers")
            }
        }
    }

    @Test func answersOnIPv6Loopback() async throws {
        try await withUDPServer(workers: 2, host: "::1") { port in
            let reply = try #require(try TestClient.udp(try LDNS.query(ServerFixture.web, "A", id: 0x6666), host: "::1", port: port))
            let response = try LDNS.decode(reply)
            #expect(response.id == 0x6666)
            #expect(try Asked.mix[0].mismatches(in: response).isEmpty, "\(response)")
        }
    }

    @Test func largeAnswerIsTruncatedAt512WithoutEDNS() async throws {
        try await withUDPServer(workers: 1) { port in
            let reply = try #require(try TestClient.udp(try LDNS.query(ServerFixture.big, "A", id: 9), port: port))
            #expect(reply.count <= 512)
            let response = try LDNS.decode(reply)
            #expect(response.id == 9)
            #expect(response.truncated)
            #expect(response.answer.count == (512 - 12 - 31) / 16)
            #expect(Set(response.answer).isSubset(of: try ServerFixture.bigA.map(LDNS.canonical)))
        }
    }

    @Test func datagramOver4096BytesIsCutAndGetsFORMERR() async throws {
        // 4,900 bytes of EDNS padding: read up to 4096 bytes, the OPT record ends early: FORMERR, ID echoed.
        let padding = RawMessage.u16(12) + RawMessage.u16(4900) + [UInt8](repeating: 0, count: 4900)
        let query = RawMessage.header(id: 0x0CC, ar: 1) + RawMessage.question() + RawMessage.opt(rdata: padding)
        try await withUDPServer(workers: 1) { port in
            let response = try LDNS.decode(try #require(try TestClient.udp(query, port: port)))
            #expect(response.id == 0x0CC)
            #expect(response.rcodeName == "FORMERR")
            #expect(response.answer.isEmpty)
        }
    }

    @Test func aResponseIsDroppedAndTheNextQueryAnswered() async throws {
        try await withUDPServer(workers: 1) { port in
            let socket = try TestClient.UDPSocket(port: port)
            var response = try LDNS.query(ServerFixture.web, "A", id: 10)
            response[2] |= 0x80  // QR: a response, never answered
            try socket.send(response)
            try socket.send(try LDNS.query(ServerFixture.web, "A", id: 11))
            // One socket's datagrams are answered in order: had the first been answered, it would come first.
            let first = try LDNS.decode(try #require(socket.receive()))
            #expect(first.id == 11)
            #expect(try Asked.mix[0].mismatches(in: first).isEmpty)
        }
    }

    @Test(arguments: [1, 2])
    func closingStopsTheWorkersAndFreesThePort(workers: Int) async throws {
        let listeners = try await makeServer(workers: workers).bind()
        let port = listeners.localAddresses[0].port!
        let query = try LDNS.query(ServerFixture.web, "A", id: 0x0C1)
        let before = try LDNS.decode(try #require(try TestClient.udp(query, port: port)))
        #expect(before.id == 0x0C1)
        #expect(!portIsFree(port))

        let clock = ContinuousClock()
        let started = clock.now
        await listeners.close()
        let took = clock.now - started
        // Woken at once; without the wake-up each worker would still stop within its 250 ms receive timeout.
        #expect(took < .seconds(1), "close took \(took)")
        #expect(portIsFree(port), "every worker's socket is closed")
        #expect(try TestClient.udp(query, port: port, timeout: 0.3) == nil)
    }

    @Test func forwardedQueryIsAnsweredThroughTheWorkersSocket() async throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let forwarder = Forwarder(
            upstreams: [Upstream(address: try SocketAddress(ipAddress: "127.0.0.1", port: upstream.port))],
            cache: ResponseCache(capacity: 100, maxTTL: 3600),
            logger: Logger(label: "svcdns.test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await withUDPServer(workers: 2, forwarding: ForwardingPolicy(forwarder: forwarder)) { port in
            // From one socket: the forwarded answer (sent later, from an event loop) and an own answer.
            let socket = try TestClient.UDPSocket(port: port, timeout: 5)
            try socket.send(try LDNS.query("www.upstream.test.", "A", id: 0x4242, udpSize: 1232))
            try socket.send(try LDNS.query(ServerFixture.web, "A", id: 0x4343))
            var responses: [UInt16: DecodedResponse] = [:]
            for _ in 0..<2 {
                guard let reply = socket.receive() else { break }
                let response = try LDNS.decode(reply)
                responses[response.id] = response
            }
            let forwarded = try #require(responses[0x4242], "no answer to the forwarded query")
            #expect(forwarded.question == ["www.upstream.test. IN A"])
            #expect(forwarded.rcodeName == "NOERROR")
            #expect(forwarded.answer == ["www.upstream.test. 300 IN A 127.0.10.1"])
            #expect(forwarded.recursionAvailable && !forwarded.authoritative, "forwarded: RA set, AA clear")
            #expect(forwarded.edns?.udpSize == 1232)
            let own = try #require(responses[0x4343], "no answer to the query for svcdns's own zone")
            #expect(try Asked.mix[0].mismatches(in: own).isEmpty)

            // Asked again: now from the cache, answered by the worker itself.
            let again = try LDNS.decode(
                try #require(try TestClient.udp(try LDNS.query("www.upstream.test.", "A", id: 0x4444), port: port)))
            #expect(again.id == 0x4444)
            #expect(again.answer.count == 1)
            #expect(again.recursionAvailable && !again.authoritative)
        }
    }
}

/// `svcdns serve --udp-workers 2`: the real binary, its threads, answers and metrics.
@Suite struct UDPWorkersFlagTests {
    /// The value of the sample whose name and labels are exactly `series`, or nil.
    static func sample(_ series: String, in metrics: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func twoWorkersAnswerAndCount() throws {
        let folder = try TemporaryFolder(files: ["cluster.yaml": ServerFixture.manifests])
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--udp-workers", "2"])
        defer { server.stop() }

        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.processIdentifier)/task")
        let names = tasks.compactMap { task in
            try? String(contentsOfFile: "/proc/\(server.processIdentifier)/task/\(task)/comm", encoding: .utf8)
        }
        let workers = names.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { $0.hasPrefix("svcdns-udp-") }
        #expect(workers.sorted() == ["svcdns-udp-0", "svcdns-udp-1"])

        // Eight client sockets (eight source ports): the kernel spreads them over both workers' sockets.
        let clients = 8
        for client in 0..<clients {
            let reply = try #require(
                try TestClient.udp(try LDNS.query(ServerFixture.web, "A", id: UInt16(client)), port: server.dnsPort))
            let response = try LDNS.decode(reply)
            #expect(response.id == UInt16(client))
            #expect(try Asked.mix[0].mismatches(in: response).isEmpty, "\(response)")
        }
        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort)
        #expect(metrics.status == 200)
        let labels = "server=\"dns://127.0.0.1:\(server.dnsPort)\",zone=\".\",view=\"\""
        let requests = Self.sample("svcdns_dns_requests_total{\(labels),proto=\"udp\",family=\"1\",type=\"A\"}", in: metrics.body)
        #expect(requests == Double(clients), "\(metrics.body)")
        #expect(Self.sample("svcdns_dns_request_duration_seconds_count{\(labels),type=\"A\"}", in: metrics.body) == Double(clients))
        let sizes = Self.sample("svcdns_dns_response_size_bytes_count{\(labels),proto=\"udp\"}", in: metrics.body)
        // The readiness probe of SvcDNSProcess (a TXT query) is answered over UDP too.
        #expect((sizes ?? 0) >= Double(clients))
    }
}
