import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Zone transfers through the real binary, asked by dig: AXFR (RFC 5936) holds exactly what svcdns answers, IXFR
/// (RFC 1995) carries the changes since a serial from the journal and falls back to the whole zone when the
/// journal does not reach back, the SOA serial keeps growing across restarts, and NOTIFY (RFC 1996) goes out after
/// a change, at most once a second per zone.
@Suite(.serialized) struct ZoneTransferTests {
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: data, annotations: {svcdns.io/health-check: none}}
        spec: {clusterIP: None, ports: [{name: postgres, port: 5432}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-1, namespace: data, labels: {kubernetes.io/service-name: db}}
        addressType: IPv4
        endpoints:
        - {addresses: [127.0.2.1], hostname: db-0}
        - {addresses: [127.0.2.2], hostname: db-1}
        ports: [{name: postgres, port: 5432}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: search, namespace: default}
        spec: {type: ExternalName, externalName: search.corp.example}
        """

    static let corpZone = """
        $ORIGIN corp.example.
        $TTL 300
        @ IN SOA ns1.corp.example. hostmaster.corp.example. 7 3600 600 604800 60
        @ IN NS ns1
        ns1 IN A 127.0.0.53
        search IN A 127.0.3.10
        www IN CNAME web.default.svc.cluster.local.
        _ldap._tcp IN SRV 0 100 389 ldap
        ldap IN A 127.0.3.89
        """

    static func folder() throws -> TemporaryFolder {
        try TemporaryFolder(files: ["cluster.yaml": manifests, "corp.example.zone": corpZone])
    }

    static let transferFlags = ["--transfer-to", "127.0.0.0/8", "--no-loop-probe"]

    /// What dig printed for a transfer: the records (canonical, in order), and the messages they came in; nil
    /// records when the transfer failed.
    struct Transfer {
        var records: [String]?
        var messages: Int
        var output: String
    }

    static func transfer(_ zone: String, _ type: String = "AXFR", at server: SvcDNSProcess, source: String = "127.0.0.1", tcp: Bool = true)
        throws -> Transfer
    {
        let arguments = ["-b", source, "@127.0.0.1", "-p", "\(server.dnsPort)", tcp ? "+tcp" : "+notcp", "+tries=1", "+time=5", type, zone]
        let output = try Tool.run("dig", arguments, timeout: 30).stdout
        guard !output.contains("; Transfer failed.") else { return Transfer(records: nil, messages: 0, output: output) }
        var records: [String] = []
        for line in output.split(separator: "\n") where !line.hasPrefix(";") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            records.append(try LDNS.canonical(String(line)))
        }
        let messages = output.range(of: "(messages ").flatMap { range in Int(output[range.upperBound...].prefix { $0.isNumber }) } ?? 0
        return Transfer(records: records, messages: messages, output: output)
    }

    static func serial(_ zone: String, at server: SvcDNSProcess) throws -> UInt32 {
        let reply = try TestClient.udp(try LDNS.query(zone, "SOA"), port: server.dnsPort)
        let answer = try LDNS.decode(try #require(reply)).answer
        let soa = try #require(answer.first, "no SOA of \(zone)")
        return try #require(UInt32(soa.split(separator: " ")[6]), "\(soa)")
    }

    /// The records svcdns gives for `owner`/`type`, canonical and sorted (its answers rotate).
    static func answer(_ owner: String, _ type: String, at server: SvcDNSProcess) throws -> [String] {
        let reply = try TestClient.tcp(try LDNS.query(owner, type), port: server.dnsPort)
        let response = try LDNS.decode(try #require(reply))
        return response.answer.filter { $0.hasPrefix(owner.lowercased()) && $0.split(separator: " ")[3] == type }.sorted()
    }

    static func putService(_ name: String, clusterIP: String, at server: SvcDNSProcess) throws {
        let body = """
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "\(name)", "namespace": "default"},
             "spec": {"clusterIP": "\(clusterIP)", "ports": [{"name": "http", "port": 80}]}}
            """
        let reply = try TestHTTP.request("PUT", "/api/v1/namespaces/default/services/\(name)", port: server.httpPort, body: body)
        #expect(reply.status == 200 || reply.status == 201, "\(reply.body)")
    }

    @Test(arguments: ["cluster.local.", "in-addr.arpa.", "corp.example."])
    func anAXFRHoldsWhatSvcdnsAnswers(zone: String) throws {
        let folder = try Self.folder()
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.transferFlags)
        defer { server.stop() }
        let transfer = try Self.transfer(zone, at: server)
        let records = try #require(transfer.records, "\(transfer.output)\n\(server.output)")
        // RFC 5936 §2.2: the SOA first and last, and nothing else twice.
        let soa = try #require(records.first)
        #expect(soa.split(separator: " ")[3] == "SOA" && records.last == soa, "\(records)")
        let body = records.dropFirst().dropLast()
        #expect(Set(body).count == body.count && !body.contains { $0.split(separator: " ")[3] == "SOA" }, "\(records)")
        #expect(body.contains { $0.split(separator: " ")[3] == "NS" }, "a zone without NS at its apex: \(records)")
        // Every RRset the transfer holds is what a query for it gets.
        let sets = Dictionary(grouping: body) { record in
            let fields = record.split(separator: " ")
            return "\(fields[0]) \(fields[3])"
        }
        for (key, expected) in sets {
            let parts = key.split(separator: " ")
            #expect(try Self.answer(String(parts[0]), String(parts[1]), at: server) == expected.sorted(), "\(key)")
        }
        let expectedNames: [String: [String]] = [
            "cluster.local.": [
                "web.default.svc.cluster.local. 5 IN A 10.96.0.10", "db-1.db.data.svc.cluster.local. 5 IN A 127.0.2.2",
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.data.svc.cluster.local.",
                "search.default.svc.cluster.local. 5 IN CNAME search.corp.example.",
                "dns-version.cluster.local. 5 IN TXT \"1.1.0\"",
            ],
            "in-addr.arpa.": ["2.2.0.127.in-addr.arpa. 5 IN PTR db-1.db.data.svc.cluster.local."],
            "corp.example.": ["www.corp.example. 300 IN CNAME web.default.svc.cluster.local.", "ldap.corp.example. 300 IN A 127.0.3.89"],
        ]
        for record in expectedNames[zone]! {
            #expect(body.contains(try LDNS.canonical(record)), "\(record) missing from \(records)")
        }
    }

    @Test func anIXFRCarriesTheChangesSinceTheSecondarysSerial() throws {
        let folder = try Self.folder()
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.transferFlags)
        defer { server.stop() }
        let zone = "cluster.local."
        // The version a secondary would hold: what an AXFR gave.
        let first = try #require(try Self.transfer(zone, at: server).records)
        let held = try #require(UInt32(first[0].split(separator: " ")[6]))

        try Self.putService("api", clusterIP: "10.96.0.77", at: server)
        let changed = try Self.waitForTransferable(zone, newerThan: held, at: server)
        let ixfr = try Self.transfer(zone, "IXFR=\(held)", at: server)
        let records = try #require(ixfr.records, "\(ixfr.output)")
        // RFC 1995 §4: new SOA, old SOA, what went, new SOA, what came, new SOA.
        let soas: [UInt32] = records.filter { Self.type(of: $0) == "SOA" }.compactMap(Self.serial(of:))
        #expect(soas.first == changed && soas.last == changed && soas.contains(held), "\(records)")
        #expect(records.contains(try LDNS.canonical("api.default.svc.cluster.local. 5 IN A 10.96.0.77")), "\(records)")
        #expect(records.contains(try LDNS.canonical("_http._tcp.api.default.svc.cluster.local. 5 IN SRV 0 100 80 api.default.svc.cluster.local.")))
        #expect(!records.contains { $0.hasPrefix("web.") }, "an unchanged name went along: \(records)")
        #expect(records.count < first.count, "\(records.count) records, the zone has \(first.count)")

        // Up to date: the current SOA alone. Over UDP, the current SOA alone too (RFC 1995 §2: ask again over TCP).
        #expect(try Self.transfer(zone, "IXFR=\(changed)", at: server).records?.count == 1)
        let overUDP = try TestClient.udp(try LDNS.query(zone, "IXFR", authority: Self.soaRecord(zone, serial: held)), port: server.dnsPort)
        let udpAnswer = try LDNS.decode(try #require(overUDP))
        #expect(udpAnswer.rcodeName == "NOERROR" && udpAnswer.answer.count == 1 && udpAnswer.authoritative, "\(udpAnswer)")
        #expect(udpAnswer.answer.first?.contains(" SOA ") == true && udpAnswer.answer.first?.contains(" \(changed) ") == true)

        // A serial the journal does not know: the whole zone, in IXFR's answer.
        let unknown = try #require(try Self.transfer(zone, "IXFR=\(held &- 1000)", at: server).records)
        #expect(unknown.count == first.count + 2, "\(unknown)")
        #expect(Set(unknown).isSuperset(of: Set(first.filter { !$0.contains(" SOA ") })))
    }

    /// The type field of a canonical record line.
    static func type(of record: String) -> String {
        let fields = record.split(separator: " ")
        return fields.count > 3 ? String(fields[3]) : ""
    }

    /// The serial of a canonical SOA line.
    static func serial(of record: String) -> UInt32? {
        let fields = record.split(separator: " ")
        return fields.count > 6 ? UInt32(fields[6]) : nil
    }

    /// The SOA record an IXFR query carries in its authority section.
    static func soaRecord(_ zone: String, serial: UInt32) -> String {
        "\(zone) 0 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. \(serial) 0 0 0 0"
    }

    /// Waits until a transfer gives a serial newer than `serial` (the journal records what is published within a
    /// second); the new serial.
    static func waitForTransferable(_ zone: String, newerThan serial: UInt32, at server: SvcDNSProcess) throws -> UInt32 {
        for _ in 0..<50 {
            if let soa = try Self.transfer(zone, "IXFR=\(serial)", at: server).records?.first,
                let current = UInt32(soa.split(separator: " ")[6]), current != serial
            {
                return current
            }
            usleep(100_000)
        }
        throw TestFailure(description: "the zone stayed at serial \(serial) for 5 s:\n\(server.output)")
    }

    @Test func aJournalOfNoRecordsSendsTheWholeZone() throws {
        let folder = try Self.folder()
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.transferFlags + ["--transfer-journal", "0"])
        defer { server.stop() }
        let first = try #require(try Self.transfer("cluster.local.", at: server).records)
        let held = try #require(UInt32(first[0].split(separator: " ")[6]))
        try Self.putService("api", clusterIP: "10.96.0.77", at: server)
        _ = try Self.waitForTransferable("cluster.local.", newerThan: held, at: server)
        let ixfr = try #require(try Self.transfer("cluster.local.", "IXFR=\(held)", at: server).records)
        #expect(ixfr.count == first.count + 2, "expected the whole zone (\(first.count) records and the new Service's 2): \(ixfr)")
    }

    @Test func transfersAreForTransferToOverTCPAndForZoneApexes() throws {
        let folder = try Self.folder()
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--transfer-to", "127.0.7.0/24", "--no-loop-probe"])
        defer { server.stop() }
        let allowed = try Self.transfer("cluster.local.", at: server, source: "127.0.7.1")
        #expect(allowed.records != nil, "\(allowed.output)")
        let table: [(String, String, String)] = [
            // Not in --transfer-to.
            ("cluster.local.", "AXFR", "127.0.0.1"),
            // A name below an apex, and one outside every zone.
            ("web.default.svc.cluster.local.", "AXFR", "127.0.7.1"),
            ("example.org.", "AXFR", "127.0.7.1"),
        ]
        for (zone, type, source) in table {
            let socket = try TestClient.TCPConnection(port: server.dnsPort, source: source)
            try socket.send(TestClient.frame(try LDNS.query(zone, type)))
            let response = try LDNS.decode(try #require(socket.receiveMessage(), "\(zone) from \(source)"))
            let expected = source == "127.0.0.1" ? "REFUSED" : "NOTAUTH"
            #expect(response.rcodeName == expected && response.answer.isEmpty, "\(zone) from \(source): \(response)")
        }
        // An IXFR names the secondary's version with an SOA (RFC 1995 §3): without one it is malformed.
        let bare = try TestClient.TCPConnection(port: server.dnsPort, source: "127.0.7.1")
        try bare.send(TestClient.frame(try LDNS.query("cluster.local.", "IXFR")))
        #expect(try LDNS.decode(try #require(bare.receiveMessage())).rcodeName == "FORMERR")
        // AXFR needs TCP (RFC 5936 §4.2).
        let socket = try TestClient.UDPSocket(port: server.dnsPort, source: "127.0.7.1")
        try socket.send(try LDNS.query("cluster.local.", "AXFR"))
        #expect(try LDNS.decode(try #require(socket.receive())).rcodeName == "FORMERR")
        // Without --transfer-to nobody may.
        let closed = try SvcDNSProcess(zones: folder.path)
        defer { closed.stop() }
        let refused = try TestClient.tcp(try LDNS.query("cluster.local.", "AXFR"), port: closed.dnsPort)
        #expect(try LDNS.decode(try #require(refused)).rcodeName == "REFUSED")
    }

    @Test func aLargeZoneGoesOutInManyMessagesAndTheConnectionServesOnAfter() throws {
        // 3,000 endpoints: one RRset of 3,000 A records is split across messages of 16 KB.
        let addresses = (0..<3000).map { "127.0.\(40 + $0 / 250).\(1 + $0 % 250)" }
        let slice = """
            apiVersion: v1
            kind: Service
            metadata: {name: big, namespace: default, annotations: {svcdns.io/health-check: none}}
            spec: {clusterIP: None}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: big-1, namespace: default, labels: {kubernetes.io/service-name: big}}
            addressType: IPv4
            endpoints:
            \(addresses.map { "- {addresses: [\($0)]}" }.joined(separator: "\n"))
            """
        let folder = try TemporaryFolder(files: ["big.yaml": slice])
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.transferFlags)
        defer { server.stop() }
        let transfer = try Self.transfer("cluster.local.", at: server)
        let records = try #require(transfer.records, "\(transfer.output)")
        let bigAddresses = records.filter { $0.hasPrefix("big.default.svc.cluster.local. ") && $0.contains(" A ") }
        let served: Set<String> = Set(bigAddresses.compactMap { $0.split(separator: " ").last.map(String.init) })
        #expect(served == Set(addresses))
        #expect(bigAddresses.count == 3000)
        #expect(transfer.messages > 2, "\(transfer.messages) messages")
        // Queries on the connection after the transfer are answered (AXFR then A, pipelined).
        let connection = try TestClient.TCPConnection(port: server.dnsPort, timeout: 10)
        try connection.send(TestClient.frame(try LDNS.query("cluster.local.", "AXFR", id: 1)) + TestClient.frame(try LDNS.query("dns-version.cluster.local.", "TXT", id: 2)))
        var soaCount = 0
        var last: DecodedResponse? = nil
        for _ in 0..<1000 {
            guard let message = connection.receiveMessage() else { break }
            let response = try LDNS.decode(message)
            last = response
            if response.id == 2 { break }
            #expect(response.id == 1 && response.authoritative && response.rcodeName == "NOERROR")
            soaCount += response.answer.filter { $0.contains(" SOA ") }.count
        }
        #expect(soaCount == 2)
        #expect(last?.id == 2 && last?.answer.count == 1, "\(String(describing: last))")
    }

    /// `--max-transfers 1`: while a secondary that stopped reading holds the one transfer, another is REFUSED and
    /// queries are still answered; once it hangs up, the next transfer goes through whole.
    @Test func transfersBeyondMaxTransfersAreRefusedUntilOneEnds() throws {
        // 12 MB of TXT records: more than the kernel buffers between svcdns and a client that stops reading.
        let text = Array(repeating: "\"" + String(repeating: "x", count: 250) + "\"", count: 16).joined(separator: " ")
        let records = (0..<3000).map { "t\($0) IN TXT \(text)" }.joined(separator: "\n")
        let zone = Self.corpZone.replacingOccurrences(of: "$ORIGIN corp.example.", with: "$ORIGIN big.example.")
            .replacingOccurrences(of: "corp.example.", with: "big.example.") + "\n" + records + "\n"
        let folder = try TemporaryFolder(files: ["big.example.zone": zone])
        let server = try SvcDNSProcess(
            zones: folder.path, arguments: Self.transferFlags + ["--max-transfers", "1", "--tcp-idle-timeout", "30s"])
        defer { server.stop() }

        var stalled: TestClient.TCPConnection? = try TestClient.TCPConnection(port: server.dnsPort, timeout: 10, receiveBuffer: 4096)
        try stalled?.send(TestClient.frame(try LDNS.query("big.example.", "AXFR", id: 1)))
        let first = try LDNS.decode(try #require(stalled?.receiveMessage(), "the first transfer sent nothing"))
        #expect(first.id == 1 && first.rcodeName == "NOERROR" && first.answer.first?.contains(" SOA ") == true)

        let refused = try LDNS.decode(try #require(try TestClient.tcp(try LDNS.query("big.example.", "AXFR", id: 2), port: server.dnsPort)))
        #expect(refused.id == 2 && refused.rcodeName == "REFUSED" && refused.answer.isEmpty, "\(refused)")
        #expect(try Self.answer("t7.big.example.", "TXT", at: server).count == 1)

        // Hanging up with answers unread resets the connection; the slot comes back once svcdns sees it gone.
        stalled = nil
        var whole: [String]? = nil
        _ = try HealthCheckingTests.waitFor(seconds: 5) {
            whole = try Self.transfer("big.example.", at: server).records
            return whole != nil
        }
        let transferred = try #require(whole, "no transfer went through after the first ended")
        #expect(transferred.filter { $0.contains(" TXT ") }.count == 3000)
        #expect(transferred.filter { $0.contains(" SOA ") }.count == 2)
        // A transfer that ended gave its slot back too.
        #expect(try Self.transfer("big.example.", at: server).records?.count == transferred.count)
    }

    @Test func theSerialKeepsGrowingAcrossRestarts() throws {
        let folder = try Self.folder()
        let store = try TemporaryFolder()
        var before: UInt32 = 0
        do {
            let server = try SvcDNSProcess(zones: folder.path, arguments: ["--store", store.path])
            defer { server.stop() }
            // Builds faster than one a second push the serial ahead of the clock.
            for index in 0..<40 {
                try Self.putService("s\(index)", clusterIP: "10.96.5.\(index + 1)", at: server)
            }
            #expect(try HealthCheckingTests.waitFor(seconds: 5) { try Self.answer("s39.default.svc.cluster.local.", "A", at: server).count == 1 } != nil)
            before = try Self.serial("cluster.local.", at: server)
            #expect(before > UInt32(Date().timeIntervalSince1970) + 10, "\(before): not ahead of the clock")
        }
        let again = try SvcDNSProcess(zones: folder.path, arguments: ["--store", store.path])
        defer { again.stop() }
        let after = try Self.serial("cluster.local.", at: again)
        #expect(after > before, "serial \(before) before the restart, \(after) after")
    }

    @Test func aChangeIsNotifiedAtMostOnceASecondPerZone() throws {
        let folder = try Self.folder()
        let secondary = try NotifyListener()
        defer { secondary.stop() }
        let server = try SvcDNSProcess(zones: folder.path, arguments: Self.transferFlags + ["--notify", "127.0.0.1:\(secondary.port)"])
        defer { server.stop() }
        // The first recording at start is notified too (a restart changes the serial).
        #expect(secondary.waitFor(count: 1, of: "cluster.local.", seconds: 5))
        Thread.sleep(forTimeInterval: 1.2)
        let startCount = secondary.count(of: "cluster.local.")
        // One change after a quiet second: notified at once.
        let changed = Date()
        try Self.putService("api", clusterIP: "10.96.0.77", at: server)
        #expect(secondary.waitFor(count: startCount + 1, of: "cluster.local.", seconds: 2))
        let latency = Date().timeIntervalSince(changed)
        #expect(latency < 0.5, "NOTIFY \(latency) s after the change")
        let notice = try #require(secondary.last(of: "cluster.local."))
        #expect(notice.opcode == 4 && notice.authoritative && !notice.isResponse, "\(notice)")
        #expect(notice.question == ["cluster.local. IN SOA"], "\(notice.question)")
        #expect(UInt32(notice.answer.first?.split(separator: " ")[6] ?? "") == (try Self.serial("cluster.local.", at: server)))
        // Twenty changes in two seconds: at most three more NOTIFYs of the zone.
        let burstStart = secondary.count(of: "cluster.local.")
        for index in 0..<20 {
            try Self.putService("burst\(index)", clusterIP: "10.96.6.\(index + 1)", at: server)
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 1.2)
        let burst = secondary.count(of: "cluster.local.") - burstStart
        #expect((1...3).contains(burst), "\(burst) NOTIFYs for 20 changes in 2 s")
        // The last one names the serial the zone ended at.
        #expect(UInt32(secondary.last(of: "cluster.local.")?.answer.first?.split(separator: " ")[6] ?? "") == (try Self.serial("cluster.local.", at: server)))
        // A zone file's zone did not change: no NOTIFY after the first.
        #expect(secondary.count(of: "corp.example.") == 1)
    }
}

/// A UDP socket on a free loopback port that answers every NOTIFY it gets, as a secondary does, and keeps them.
final class NotifyListener: @unchecked Sendable {
    let port: Int
    private let socket: Int32
    private let lock = NSLock()
    private var received: [(zone: String, message: DecodedResponse)] = []
    private var thread: Thread?
    private var running = true

    init() throws {
        port = try SvcDNSProcess.freePort()
        socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestFailure(description: "cannot bind the NOTIFY listener") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [unowned self] in self.serve() }
        self.thread = thread
        thread.start()
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while lock.withLock({ running }) {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count >= 12, let message = try? LDNS.decode(Array(buffer[0..<count])) else { continue }
            let zone = message.question.first.map { String($0.split(separator: " ")[0]) } ?? ""
            lock.withLock { received.append((zone, message)) }
            // The answer: the request with QR set, as NSD and Knot send it.
            var answer = Array(buffer[0..<count])
            answer[2] |= 0x80
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, answer, answer.count, 0, $0, length) }
            }
        }
    }

    func count(of zone: String) -> Int { lock.withLock { received.filter { $0.zone == zone }.count } }
    func last(of zone: String) -> DecodedResponse? { lock.withLock { received.last { $0.zone == zone }?.message } }

    func waitFor(count: Int, of zone: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if self.count(of: zone) >= count { return true }
            usleep(5_000)
        }
        return false
    }

    func stop() {
        lock.withLock { running = false }
        while thread?.isFinished == false { usleep(10_000) }
        close(socket)
    }

    deinit { if lock.withLock({ running }) { stop() } }
}
