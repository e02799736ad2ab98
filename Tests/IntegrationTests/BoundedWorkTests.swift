import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Work and memory a client or a file can cause are bounded, through the real binary: the forward cache in
/// bytes, each client's share of the forwarder's in-flight questions, and YAML alias expansion and file size.
@Suite(.serialized) struct BoundedWorkTests {
    static func query(_ name: String, id: UInt16) throws -> [UInt8] {
        var bytes = try LDNS.query(name, "A")
        bytes[0] = UInt8(id >> 8)
        bytes[1] = UInt8(id & 0xFF)
        return bytes
    }

    static func ask(_ name: String, _ server: SvcDNSProcess, source: String? = nil) throws -> DecodedResponse {
        let socket = try TestClient.UDPSocket(port: server.dnsPort, timeout: 2, source: source)
        try socket.send(try Self.query(name, id: 1))
        return try LDNS.decode(try #require(socket.receive(), "no answer to \(name)"))
    }

    /// One client asking 1,100 questions an upstream never answers holds at most 100 of the 1,000 in-flight slots:
    /// the other 1,000 get SERVFAIL at once, and another client's question still goes upstream and is answered.
    /// (Before, the first client took all 1,000 slots and everyone else got SERVFAIL.)
    @Test func oneClientHoldsATenthOfTheForwardersInFlightQuestions() async throws {
        let upstream = try await ScriptedUpstream()
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }

        let greedy = try TestClient.UDPSocket(port: server.dnsPort, timeout: 0.5)
        // In chunks, each read before the next is sent: a socket buffer holds a few hundred small datagrams.
        var refused = 0
        var other = 0
        for chunk in 0..<11 {
            for id in (chunk * 100)..<(chunk * 100 + 100) {
                try greedy.send(try Self.query("silent\(id).upstream.test", id: UInt16(id)))
            }
            // The first 100 go upstream and wait; each later one is answered at once.
            for _ in 0..<(chunk == 0 ? 0 : 100) {
                guard let reply = greedy.receive() else { break }
                let decoded = try LDNS.decode(reply)
                if decoded.rcodeName == "SERVFAIL" && decoded.answer.isEmpty && decoded.id >= 100 { refused += 1 } else { other += 1 }
            }
        }
        #expect(refused == 1000, "SERVFAIL at once past the client's 100")
        #expect(other == 0)
        #expect(greedy.receive() == nil, "its other 100 questions are still waiting on the upstream")

        let polite = try Self.ask("ok.upstream.test", server, source: "127.0.0.2")
        #expect(polite.rcodeName == "NOERROR")
        #expect(polite.answer == ["ok.upstream.test. 60 IN A 127.0.14.1"])
        await upstream.close()
    }

    /// With `--cache-memory 64KiB`, a thousand forwarded answers do not all stay: asked again, most go upstream again.
    /// The most recent ones are still answered from the cache.
    @Test func theForwardCacheIsBoundedInBytes() async throws {
        let upstream = try await ScriptedUpstream()
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--cache-memory", "64KiB"]
        )
        defer { server.stop() }
        let socket = try TestClient.UDPSocket(port: server.dnsPort, timeout: 2)
        func ask(_ index: Int) throws -> DecodedResponse {
            try socket.send(try Self.query("n\(index).upstream.test", id: UInt16(index)))
            return try LDNS.decode(try #require(socket.receive(), "no answer to n\(index)"))
        }
        for index in 0..<1000 {
            #expect(try ask(index).answer == ["n\(index).upstream.test. 60 IN A 127.0.14.1"])
        }
        #expect(upstream.queryCount == 1000)
        // The last answer was used most recently: still cached.
        #expect(try ask(999).answer.count == 1)
        #expect(upstream.queryCount == 1000)
        for index in 0..<1000 {
            _ = try ask(index)
        }
        let askedAgain = upstream.queryCount - 1000
        #expect(askedAgain > 700, "only \(1000 - askedAgain) of 1,000 answers were served from 64 KiB of cache")
        await upstream.close()
    }

}
