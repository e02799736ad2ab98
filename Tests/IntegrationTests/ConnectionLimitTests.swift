import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// File descriptors and connections, against the real binary: svcdns raises its own open-file limit,
/// caps DNS-over-TCP connections below it so probes, forwarding and HTTP keep descriptors of their own,
/// and caps the HTTP server's connections, their idle time, the time to send a request and its headers.
@Suite(.serialized) struct ConnectionLimitTests {
    static let healthFlags = ["--health-interval", "300ms", "--health-timeout", "200ms", "--health-fall", "2", "--health-rise", "1"]

    /// `pool`: a headless Service of two probed loopback endpoints on `port`.
    static func manifests(port: Int) -> String {
        TestManifest.headlessService(
            "pool", port: port, endpoints: [.init("127.0.8.1", hostname: "one"), .init("127.0.8.2", hostname: "two")],
            probed: true
        )
    }

    static func addresses(_ server: SvcDNSProcess) throws -> [String]? {
        let query = try LDNS.query("pool.default.svc.cluster.local", "A", udpSize: 1232)
        let reply = try TestClient.udp(query, port: server.dnsPort, timeout: 1)
        return try reply.map { try LDNS.decode($0).answer.map { String($0.split(separator: " ").last!) }.sorted() }
    }

    static func answersOverTCP(_ server: SvcDNSProcess, id: UInt16, source: String? = nil, timeout: Double = 1) -> Bool {
        guard let query = try? LDNS.query("web.default.svc.cluster.local", "A", id: id),
            let connection = try? TestClient.TCPConnection(port: server.dnsPort, timeout: timeout, source: source),
            (try? connection.send(TestClient.frame(query))) != nil, let reply = connection.receiveMessage(),
            let decoded = try? LDNS.decode(reply)
        else { return false }
        return decoded.id == id && decoded.answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]
    }

    /// A connection that has sent the first byte of a frame and then nothing: svcdns takes it at once, and it
    /// stays the quietest. (One that sends nothing waits in the kernel for `--tcp-defer-accept`, untaken.)
    static func quietConnection(_ server: SvcDNSProcess) throws -> TestClient.TCPConnection {
        let connection = try TestClient.TCPConnection(port: server.dnsPort, timeout: 2)
        try connection.send([0])
        return connection
    }

    /// The value of `svcdns_dns_tcp_connections_closed_total` for `reason`, from `/metrics`.
    static func closedConnections(_ server: SvcDNSProcess, reason: String) throws -> Int? {
        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("svcdns_dns_tcp_connections_closed_total{") && $0.contains("reason=\"\(reason)\"")
        }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
    }

    /// Starts svcdns with the soft open-file limit many init systems give services (1024), as a child of this
    /// process inherits it; this process's own limit is restored afterwards.
    static func startWithTheCommonSoftLimit(zones: String, arguments: [String]) throws -> SvcDNSProcess {
        let own = ProcessResources.ownOpenFileLimits()
        try ProcessResources.setOwnSoftOpenFileLimit(min(1024, own.hard))
        defer { try? ProcessResources.setOwnSoftOpenFileLimit(own.soft) }
        return try SvcDNSProcess(zones: zones, arguments: arguments)
    }

    @Test func theOpenFileLimitIsRaisedToTheHardLimit() throws {
        let server = try Self.startWithTheCommonSoftLimit(zones: ExampleTests.zones, arguments: [])
        defer { server.stop() }
        let limits = try ProcessResources.openFileLimits(pid: server.processIdentifier)
        #expect(limits.soft == limits.hard, "soft \(limits.soft), hard \(limits.hard)")
        // The TCP cap is sized from the raised limit: a quarter of it, at most 4096.
        #expect(server.output.contains("dns.tcp_max_connections=\(min(limits.hard / 4, 4096))"), "\(server.output)")
    }

    @Test func twoThousandIdleConnectionsAndAnHTTPSlowlorisLeaveDNSProbesAndTheAPIWorking() async throws {
        let own = ProcessResources.ownOpenFileLimits()
        // 2,000 DNS connections, 250 slow HTTP ones and the test's own files.
        try #require(own.hard >= 2600, "this test needs a hard open-file limit of 2600 or more, not \(own.hard)")
        let port = try SvcDNSProcess.freePort()
        let one = try await TestListener(host: "127.0.8.1", port: port)
        let two = try await TestListener(host: "127.0.8.2", port: port)
        let folder = try TemporaryFolder(files: [
            "pool.yaml": Self.manifests(port: port),
            "web.yaml": try String(contentsOfFile: ExampleTests.zones + "/web.yaml", encoding: .utf8),
        ])
        let server = try Self.startWithTheCommonSoftLimit(
            zones: folder.path, arguments: Self.healthFlags + ["--tcp-idle-timeout", "60s", "--http-timeout", "2s"]
        )
        defer { server.stop() }
        try await HealthCheckingTests.closing([one, two]) {
            try ProcessResources.setOwnSoftOpenFileLimit(own.hard)
            defer { try? ProcessResources.setOwnSoftOpenFileLimit(own.soft) }
            try await idleConnectionsAndSlowloris(server, two)
        }
    }

    func idleConnectionsAndSlowloris(_ server: SvcDNSProcess, _ two: TestListener) async throws {
        let both = ["127.0.8.1", "127.0.8.2"]
        #expect(try HealthCheckingTests.waitFor(seconds: 2) { try Self.addresses(server) == both } != nil, "\(server.output)")

        var idle: [TestClient.TCPConnection] = []
        for _ in 0..<2000 {
            idle.append(try TestClient.TCPConnection(port: server.dnsPort, timeout: 5))
        }
        // Headers sent a byte at a time and never finished, on almost every connection the HTTP cap allows.
        let slowHead = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: \(String(repeating: "a", count: 200))".utf8)
        var slow: [TestClient.TCPConnection] = []
        for _ in 0..<250 {
            slow.append(try TestClient.TCPConnection(port: server.httpPort, timeout: 0.2))
        }

        await two.close()
        let start = Date()
        var pruned: Double? = nil
        var tcpAnswered = 0
        var slowOpenAfterTimeout = 0
        for round in 0..<40 {  // 4 s, one byte to every slow connection each 100 ms
            for connection in slow where !connection.isClosedByServer {
                try? connection.send([slowHead[round % slowHead.count]])
            }
            #expect(try Self.addresses(server) != nil, "UDP unanswered in round \(round)")
            if pruned == nil, try Self.addresses(server) == ["127.0.8.1"] {
                pruned = Date().timeIntervalSince(start)
            }
            if round % 10 == 5, Self.answersOverTCP(server, id: UInt16(round)) { tcpAnswered += 1 }
            usleep(100_000)
        }
        slowOpenAfterTimeout = slow.filter { !$0.isClosedByServer }.count
        #expect(pruned != nil && pruned! < 2.5, "the closed endpoint pruned after \(String(describing: pruned)) s\n\(server.output)")
        #expect(tcpAnswered == 4, "new TCP queries answered: \(tcpAnswered) of 4 with 2,000 idle connections open")
        #expect(slowOpenAfterTimeout == 0, "\(slowOpenAfterTimeout) slow HTTP connections still open past the 2 s timeout")
        let health = try TestHTTP.request("GET", "/healthz", port: server.httpPort, timeout: 3)
        #expect(health.status == 200)
        #expect(server.isRunning)
        idle.removeAll()
    }

    /// At the cap a new client is served and the connection quiet the longest is closed for it. Before, the
    /// newcomer was closed at once: three idle connections, each opened again as svcdns closed it, kept every
    /// other client off TCP (`scripts/attack`'s idle-tcp, with the default cap of 4096).
    @Test func atTheTCPCapIdleConnectionsMakeRoomForNewClients() throws {
        // Every connection here comes from 127.0.0.1: one client, allowed the whole cap.
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--tcp-max-connections", "3", "--tcp-max-connections-per-client", "3"])
        defer { server.stop() }
        let query = try LDNS.query("web.default.svc.cluster.local", "A", id: 7)
        var idle: [TestClient.TCPConnection] = []
        for _ in 0..<3 {
            idle.append(try Self.quietConnection(server))
        }
        usleep(20_000)  // the first three are the quietest, whichever event loop takes the next ones
        for round in 0..<5 {
            // The attacker opens as many idle connections again as the cap allows ...
            for _ in 0..<3 {
                idle.append(try Self.quietConnection(server))
            }
            usleep(20_000)
            // ... and a client asking a question is still answered.
            #expect(Self.answersOverTCP(server, id: UInt16(100 + round)), "round \(round): a new client was not served at the cap")
        }
        #expect(idle.prefix(3).allSatisfy { $0.waitForClose() }, "the first idle connections are still open")
        // UDP is not counted against the cap.
        #expect(try TestClient.udp(query, port: server.dnsPort) != nil)
        // One client holds every connection, so its own cap is reached with the overall one: it makes room from
        // its own connections, counted as such.
        #expect(try Self.closedConnections(server, reason: "client-cap") ?? 0 >= 15)
        #expect(server.isRunning)
    }

    /// One client opening idle connections again as fast as svcdns closes them makes room from its own share
    /// (`--tcp-max-connections-per-client`), never from another client's. Before, at the overall cap its
    /// newcomers closed the other client's quiet connection: `scripts/attack`'s idle-tcp, reconnecting 10,000
    /// times a second, closed a good client's connection before its answer came.
    @Test func aClientAtItsOwnCapMakesRoomFromItsOwnConnectionsOnly() throws {
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--tcp-max-connections", "6", "--tcp-max-connections-per-client", "3"])
        defer { server.stop() }
        let question = TestClient.frame(try LDNS.query("web.default.svc.cluster.local", "A", id: 9))
        let other = try TestClient.TCPConnection(port: server.dnsPort, timeout: 2, source: "127.0.0.2")
        try other.send(Array(question.prefix(1)))  // taken by svcdns, and then quiet
        usleep(20_000)  // `other` is the quietest of all from here on
        var idle: [TestClient.TCPConnection] = []
        for round in 0..<4 {
            for _ in 0..<3 {
                idle.append(try Self.quietConnection(server))
            }
            // The first three are the quietest, whichever event loop takes the later ones.
            if round == 0 { usleep(20_000) }
        }
        usleep(20_000)
        try other.send(Array(question.dropFirst()))
        let reply = try #require(other.receiveMessage(), "the other client's connection was closed")
        #expect(try LDNS.decode(reply).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
        #expect(idle.prefix(3).allSatisfy { $0.waitForClose() }, "the client's quietest connections are still open")
        #expect(try Self.closedConnections(server, reason: "client-cap") == 9)
        #expect(try Self.closedConnections(server, reason: "cap") ?? 0 == 0)
    }

    /// A client holding more idle connections than the caps and the listen backlog take, and opening each again
    /// as svcdns closed it, kept the kernel's accept queue full: another client's SYN was dropped, and its query
    /// waited for the kernel's retry a second later (`scripts/attack`'s idle-tcp, one run in three). Connections
    /// that have sent nothing now wait in the kernel's handshake queue (`--tcp-defer-accept`): svcdns neither
    /// takes nor closes them, so they no longer churn through the accept queue.
    @Test func connectionsThatSendNothingAreNotTakenAndSoNotChurned() throws {
        // Fewer idle connections than the backlog (the cap, 16), so that the kernel holds every one.
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--tcp-max-connections", "16", "--tcp-max-connections-per-client", "4"])
        defer { server.stop() }
        let flood = try IdleConnectionFlood(port: server.dnsPort, source: "127.0.0.2", count: 12, seconds: 30)
        defer { flood.stop() }
        usleep(300_000)  // the flood holds its 12
        var waits: [Double] = []
        for round in 0..<8 {
            let start = Date()
            let answered = Self.answersOverTCP(server, id: UInt16(200 + round), source: "127.0.0.3", timeout: 4)
            waits.append(Date().timeIntervalSince(start))
            #expect(answered, "round \(round): no answer over TCP within 4 s")
        }
        // Read before the flood stops: its closing FINs end the deferral, and svcdns then takes them all at once.
        let capClosed = try Self.closedConnections(server, reason: "client-cap") ?? 0
        let flooded = flood.stop()
        // Taken at once, 8 of the 12 were over the client's cap of 4, and each closed was opened again: hundreds.
        #expect(flooded.closedByServer == 0, "svcdns closed \(flooded.closedByServer) of \(flooded.opened) idle connections")
        #expect(capClosed == 0, "closed at the per-client cap: \(capClosed)")
        // A dropped SYN is sent again after a second: a wait that long means the accept queue was full.
        #expect(waits.allSatisfy { $0 < 0.9 }, "waits for an answer over TCP: \(waits.map { String(format: "%.2f", $0) })")
        #expect(server.isRunning)
    }

    @Test func aTCPCapTheLimitCannotCoverIsRefusedAtStart() throws {
        let hard = ProcessResources.ownOpenFileLimits().hard
        #expect(throws: (any Error).self) {
            try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--tcp-max-connections", "\(hard)"])
        }
        #expect(throws: (any Error).self) {
            try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--tcp-max-connections", "0"])
        }
    }

    @Test func httpConnectionsBeyondTheCapWaitUntilIdleOnesAreClosed() throws {
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--http-max-connections", "4", "--http-timeout", "1s"]
        )
        defer { server.stop() }
        var idle: [TestClient.TCPConnection] = []
        for _ in 0..<4 {
            idle.append(try TestClient.TCPConnection(port: server.httpPort, timeout: 1))
        }
        usleep(100_000)
        // A fifth connection is taken by the kernel but not served while four are open.
        let fifth = try TestClient.TCPConnection(port: server.httpPort, timeout: 3)
        let start = Date()
        try fifth.send(Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        let reply = String(decoding: fifth.receiveAll(), as: UTF8.self)
        let waited = Date().timeIntervalSince(start)
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
        #expect(waited > 0.5, "answered after \(waited) s, while four connections held every slot")
        #expect(waited < 2.5, "answered after \(waited) s: idle connections are closed after 1 s")
        // The four time out together, within milliseconds of each other: the first to close let the fifth in,
        // and the others follow it (bounded: 100 checks, 10 ms apart).
        for _ in 0..<100 where !idle.allSatisfy({ $0.isClosedByServer }) {
            usleep(10_000)
        }
        #expect(idle.allSatisfy { $0.isClosedByServer })
    }

    @Test func aRequestSentTooSlowlyIsClosed() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--http-timeout", "1s"])
        defer { server.stop() }
        // The head arrives whole, the body a byte every 200 ms: each byte is progress, yet the request
        // as a whole must arrive within the timeout.
        let connection = try TestClient.TCPConnection(port: server.httpPort, timeout: 0.3)
        let body = Array(String(repeating: "x", count: 100).utf8)
        try connection.send(
            Array("PUT /api/v1/namespaces/default/services/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        )
        let start = Date()
        for byte in body where !connection.isClosedByServer && Date().timeIntervalSince(start) < 4 {
            try? connection.send([byte])
            usleep(200_000)
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(connection.isClosedByServer, "still open after \(elapsed) s")
        #expect(elapsed < 2.5, "closed after \(elapsed) s")
        #expect(try TestHTTP.request("GET", "/healthz", port: server.httpPort).status == 200)
    }

    @Test func requestHeadersPastTheLimitAreRefused() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let fits = try TestHTTP.request("GET", "/healthz", port: server.httpPort, headers: ["X-Big": String(repeating: "a", count: 8 * 1024)])
        #expect(fits.status == 200)
        let big = ["X-Big": String(repeating: "a", count: 20 * 1024)]
        let refused = try? TestHTTP.request("GET", "/healthz", port: server.httpPort, headers: big)
        #expect(refused == nil || refused!.status == 431 || refused!.status == 400, "got \(String(describing: refused?.status))")
        #expect(try TestHTTP.request("GET", "/healthz", port: server.httpPort).status == 200)
    }
}
