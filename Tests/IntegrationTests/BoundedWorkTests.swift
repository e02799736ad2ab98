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
        // The first 100 must still wait on the upstream when the last chunk has been answered: the upstream timeout
        // (2 s, the default) must outlast the loop, whose length is the machine's speed (5 s under ThreadSanitizer).
        let timeout = "\(Int(TestSlowdown.scaled(2)))s"
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones,
            arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--upstream-timeout", timeout]
        )
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
        // --no-loop-probe: the start-up loop probe would be one more upstream query than these counts.
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--cache-memory", "64KiB", "--no-loop-probe"]
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

    static let billionLaughs = """
        apiVersion: v1
        kind: Service
        metadata:
          name: lol
          namespace: default
          annotations:
            a0: &a0 "lol"
            a1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
            a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
            a3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
            a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
            a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
            a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
            a7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
            a8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
            a9: &a9 [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]
          labels:
            ? *a9
            : lol
        spec:
          clusterIP: 10.96.9.9
        """

    /// The "billion laughs": nine lines of aliases that stand for a billion nodes (and one as a mapping key,
    /// which a duplicate-key check would hash). `check` and `serve` refuse it with one line, in a second and
    /// without the memory the expansion would take.
    @Test func aBillionLaughsFileIsAClearErrorInCheckAndServe() throws {
        let folder = try TemporaryFolder(files: ["lol.yaml": Self.billionLaughs])
        let expected = "\(folder.path)/lol.yaml:12: YAML aliases expand to more than 100000 nodes (a manifest needs none)"
        let started = Date()
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path], timeout: 20)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout == expected + "\n")
        let serve = try SvcDNSProcess.serveUntilExit(zones: folder.path, timeout: 20)
        #expect(serve.status == 1)
        #expect(serve.stdout.contains(expected), "\(serve.stdout)")
    }

    /// Nesting that would overflow the stack of a recursive composer is refused on its line: libyaml's own
    /// limit (1,000) for flow collections, which it scans ahead, and svcdns's (100) for any other.
    @Test func deepNestingIsAClearError() throws {
        let block = (0..<150).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " x\n"
        let folder = try TemporaryFolder(files: ["flow.yaml": String(repeating: "[", count: 100_000) + "\n", "block.yaml": block])
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path], timeout: 20)
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(
            check.stdout.split(separator: "\n") == [
                "\(folder.path)/block.yaml:101: collections nested more than 100 deep",
                "\(folder.path)/flow.yaml:1: Maximum nesting level reached, set with yaml_set_max_nest_level()) (while parsing at line 1)",
            ]
        )
    }

    /// A file over 64 MiB is refused before it is read further than that.
    @Test func aFileOver64MiBIsRefused() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/huge.yaml"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let chunk = Data(("# " + String(repeating: "x", count: 1021) + "\n").utf8)
        for _ in 0..<(65 * 1024) { handle.write(chunk) }
        try handle.close()
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path], timeout: 20)
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout == "\(path): over 64 MiB, the most a file in zones/ may hold (split it)\n")
    }
}
