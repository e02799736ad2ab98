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
