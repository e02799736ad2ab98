import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Forwarded answers through upstream trouble, through the real binary: serve-stale (RFC 8767) with NSD on
/// loopback stopped, prefetch keeping a popular name from ever expiring, and an upstream's SERVFAIL cached.
@Suite(.serialized) struct CacheResilienceTests {
    /// The test upstream's zone, with names whose TTLs run out within a test.
    static let zone = TestUpstream.testZone + "short 2 IN A 127.0.10.7\nhot 6 IN A 127.0.10.8\n"

    static func ask(_ name: String, _ server: SvcDNSProcess) throws -> DecodedResponse {
        let reply = try TestClient.udp(try LDNS.query(name, "A", udpSize: 1232), port: server.dnsPort, timeout: 6)
        return try LDNS.decode(try #require(reply, "no answer to \(name)"))
    }

    static func metric(_ series: String, _ server: SvcDNSProcess) throws -> Double {
        let body = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? -1
        }
        return 0
    }

    @Test func anExpiredAnswerIsServedStaleWhenTheUpstreamIsGone() throws {
        let upstream = try TestUpstream(zone: Self.zone, origin: TestUpstream.testOrigin)
        let folder = try TemporaryFolder(files: [:])
        let common = ["--upstream", "127.0.0.1:\(upstream.port)", "--upstream-timeout", "300ms"]
        let stale = try SvcDNSProcess(zones: folder.path, arguments: common + ["--serve-stale", "1h"])
        defer { stale.stop() }
        let strict = try SvcDNSProcess(zones: folder.path, arguments: common + ["--serve-stale", "0"])
        defer { strict.stop() }
        for server in [stale, strict] {
            #expect(try Self.ask("short.upstream.test", server).answer == ["short.upstream.test. 2 IN A 127.0.10.7"])
        }

        upstream.stop()
        usleep(3_000_000)  // past the TTL of 2 s
        let first = try Self.ask("short.upstream.test", stale)
        #expect(first.rcodeName == "NOERROR")
        #expect(first.recursionAvailable && !first.authoritative)
        #expect(first.answer == ["short.upstream.test. 30 IN A 127.0.10.7"], "RFC 8767: stale, with TTL 30")
        // Just after the upstreams failed, the stale answer comes at once rather than after another timeout.
        let started = Date()
        let second = try Self.ask("short.upstream.test", stale)
        #expect(second.answer == ["short.upstream.test. 30 IN A 127.0.10.7"])
        #expect(Date().timeIntervalSince(started) < 0.25, "served without waiting on the upstream")
        #expect(try Self.metric("svcdns_cache_served_stale_total", stale) == 2)

        // Without serve-stale, the expired answer is gone: SERVFAIL.
        let refused = try Self.ask("short.upstream.test", strict)
        #expect(refused.rcodeName == "SERVFAIL")
        #expect(refused.answer.isEmpty)
        #expect(try Self.metric("svcdns_cache_served_stale_total", strict) == 0)
        // A name never cached has nothing stale to give.
        #expect(try Self.ask("www.upstream.test", stale).rcodeName == "SERVFAIL")
    }

    /// `hot` has a TTL of 6 s; asked every 200 ms, it is refreshed once less than 0.6 s is left, so no client
    /// query after the first ever misses the cache, and no client sees its TTL reach 0.
    @Test func aPopularNameIsPrefetchedBeforeItExpires() throws {
        let upstream = try TestUpstream(zone: Self.zone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: [:])
        let server = try SvcDNSProcess(
            zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--prefetch", "2"])
        defer { server.stop() }

        var ttls: [Int] = []
        let end = Date().addingTimeInterval(9)
        while Date() < end, ttls.count < 100 {
            let answer = try Self.ask("hot.upstream.test", server)
            #expect(answer.rcodeName == "NOERROR")
            let record = try #require(answer.answer.first)
            #expect(record.hasSuffix(" IN A 127.0.10.8"))
            ttls.append(Int(record.split(separator: " ")[1])!)
            usleep(200_000)
        }
        #expect(ttls.count >= 30)
        #expect(ttls.allSatisfy { (1...6).contains($0) }, "\(ttls)")
        // The TTL went back up before it ran out: the refreshed answer replaced the old one.
        let rises = zip(ttls, ttls.dropFirst()).filter { $0 < $1 }.count
        #expect(rises >= 1, "\(ttls)")
        #expect(try Self.metric("svcdns_cache_misses_total", server) == 1, "only the first query missed")
        #expect(try Self.metric("svcdns_cache_prefetch_total", server) >= 1)
    }

    @Test(arguments: [("5s", 1), ("0", 2)])
    func anUpstreamServfailIsKeptForCacheServfail(flag: String, upstreamQueries: Int) async throws {
        let upstream = try await ScriptedUpstream()
        let folder = try TemporaryFolder(files: [:])
        // --no-loop-probe: the start-up loop probe would be one more upstream query than these counts.
        let server = try SvcDNSProcess(
            zones: folder.path,
            arguments: [
                "--upstream", "127.0.0.1:\(upstream.port)", "--upstream-timeout", "300ms", "--cache-servfail", flag, "--no-loop-probe",
            ])
        defer { server.stop() }
        for _ in 0..<2 {
            let answer = try Self.ask("servfail.upstream.test", server)
            #expect(answer.rcodeName == "SERVFAIL")
            #expect(answer.answer.isEmpty)
        }
        #expect(upstream.queryCount == upstreamQueries, "--cache-servfail \(flag)")
        await upstream.close()
    }
}
