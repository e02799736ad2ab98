import Foundation
import SvcDNSTesting
import Testing

/// Bad packets sent to the real binary: none crashes or stalls it. Each is either answered FORMERR
/// with its ID (when the header reads) or dropped, and good queries are still answered afterwards.
@Suite struct MalformedTests {
    /// Valid queries with bytes flipped, cut short or extended: close to real traffic, so they reach
    /// deep into the decoder rather than failing at the header.
    static func mutatedQueries(count: Int, seed: UInt64) throws -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        let seeds = [
            try LDNS.query("web.default.svc.cluster.local", "A", udpSize: 1232),
            try LDNS.query("_postgres._tcp.db.data.svc.cluster.local", "SRV"),
            try LDNS.query("www.corp.example", "A", udpSize: 4096, dnssecOK: true),
        ]
        return (0..<count).map { index in
            var packet = seeds[index % seeds.count]
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    packet[Int.random(in: 0..<packet.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 1:
                packet = Array(packet.prefix(Int.random(in: 0..<packet.count, using: &random)))
            case 2:
                packet += (0..<Int.random(in: 1...32, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            default:
                packet = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            return packet
        }
    }

    /// svcdns drops only what it cannot answer: fewer than 12 bytes (no ID), or QR set (a response,
    /// which answering could loop). Everything else gets an answer.
    static func isDropped(_ packet: [UInt8]) -> Bool {
        packet.count < 12 || packet[2] & 0x80 != 0
    }

    static func checkReply(_ reply: [UInt8], to packet: [UInt8]) {
        #expect(reply.count >= 12)
        #expect(reply[0] == packet[0] && reply[1] == packet[1], "the reply echoes the ID")
        #expect(reply[2] & 0x80 != 0, "QR set")
    }

    @Test func twoThousandMutatedPacketsThenAGoodQuery() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let packets = try Self.mutatedQueries(count: 2000, seed: 0x5EED)
        let probe = try LDNS.query("dns-version.cluster.local", "TXT", id: 0xD0D0)
        let socket = try TestClient.UDPSocket(port: server.dnsPort)
        var answered = 0
        for packet in packets {
            // Each bad packet is followed by a good query on the same socket. One listener answers in
            // order, so a dropped packet shows as the good query's answer coming first.
            try socket.send(packet)
            try socket.send(probe)
            if !Self.isDropped(packet) {
                let reply = try #require(socket.receive(), "no answer to \(packet)")
                Self.checkReply(reply, to: packet)
                answered += 1
            }
            let next = try #require(socket.receive(), "no answer to the good query after \(packet)")
            #expect(next.prefix(2) == [0xD0, 0xD0], "a packet without a usable header is dropped: \(packet)")
        }
        #expect(answered > 1000, "most mutated packets still have a header to answer")
        let good = try LDNS.query("web.default.svc.cluster.local", "A", id: 0x0bad)
        let reply = try #require(try TestClient.udp(good, port: server.dnsPort))
        let decoded = try LDNS.decode(reply)
        #expect(decoded.id == 0x0bad)
        #expect(decoded.answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
        let overTCP = try #require(try TestClient.tcp(good, port: server.dnsPort))
        #expect(try LDNS.decode(overTCP).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
        #expect(server.isRunning)
    }

    @Test func garbageOverTCPLeavesTheConnectionUsable() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let good = try LDNS.query("db-0.db.data.svc.cluster.local", "A", id: 0x600d)
        for packet in try Self.mutatedQueries(count: 200, seed: 0xFEED) {
            // The bad message and a good one on one connection: the bad one is answered or dropped, and
            // the good one behind it is still answered.
            let connection = try TestClient.TCPConnection(port: server.dnsPort, timeout: 2)
            try connection.send(TestClient.frame(packet) + TestClient.frame(good))
            if !Self.isDropped(packet) {
                let reply = try #require(connection.receiveMessage(), "no answer to \(packet)")
                Self.checkReply(reply, to: packet)
            }
            let reply = try #require(connection.receiveMessage(), "no answer to the good query after \(packet)")
            #expect(try LDNS.decode(reply).answer == ["db-0.db.data.svc.cluster.local. 5 IN A 127.0.2.1"])
        }
    }
}
