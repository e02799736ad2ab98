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

    @Test func twoThousandMutatedPacketsThenAGoodQuery() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let good = try LDNS.query("web.default.svc.cluster.local", "A", id: 0x0bad)
        var answered = 0
        for packet in try Self.mutatedQueries(count: 2000, seed: 0x5EED) {
            // A short timeout: most bad packets are answered at once, dropped ones cost the wait.
            guard let reply = try TestClient.udp(packet, port: server.dnsPort, timeout: 0.05) else { continue }
            answered += 1
            #expect(reply.count >= 12)
            #expect(reply[0] == packet[0] && reply[1] == packet[1], "the reply echoes the ID")
            #expect(reply[2] & 0x80 != 0, "QR set")
        }
        #expect(answered > 1000, "most mutated packets still have a header to answer")
        let reply = try #require(try TestClient.udp(good, port: server.dnsPort))
        let decoded = try LDNS.decode(reply)
        #expect(decoded.id == 0x0bad)
        #expect(decoded.answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
        let overTCP = try #require(try TestClient.tcp(good, port: server.dnsPort))
        #expect(try LDNS.decode(overTCP).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
        #expect(server.isRunning)
    }

    @Test func garbageOverTCPClosesOnlyThatConnection() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        for packet in try Self.mutatedQueries(count: 200, seed: 0xFEED) {
            let connection = try TestClient.TCPConnection(port: server.dnsPort, timeout: 0.5)
            try? connection.send(TestClient.frame(packet))
            if let reply = connection.receiveMessage() {
                #expect(reply.count >= 12 && reply[2] & 0x80 != 0)
            }
        }
        let good = try LDNS.query("db-0.db.data.svc.cluster.local", "A")
        let reply = try #require(try TestClient.tcp(good, port: server.dnsPort))
        #expect(try LDNS.decode(reply).answer == ["db-0.db.data.svc.cluster.local. 5 IN A 127.0.2.1"])
    }
}
