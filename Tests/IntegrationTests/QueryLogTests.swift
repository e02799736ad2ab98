import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--query-log` through the real binary: one JSON line per answered query on standard output, with the
/// fields a user filters on, the modes' selections, sampling, and the bounded queue counting what it drops.
@Suite(.serialized) struct QueryLogTests {
    /// The JSON lines svcdns wrote so far (its log lines go to standard error and are not JSON), but for the
    /// harness's own queries that find svcdns ready (`dns-version.cluster.local. TXT`).
    static func lines(_ server: SvcDNSProcess, atLeast count: Int) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(3)
        var parsed: [[String: Any]] = []
        repeat {
            usleep(100_000)
            parsed = server.output.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("{") else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }.filter { $0["name"] as? String != "dns-version.cluster.local." }
        } while parsed.count < count && Date() < deadline
        return parsed
    }

    /// Asks and returns the answer's size.
    @discardableResult
    static func ask(_ name: String, _ type: String, _ server: SvcDNSProcess, overTCP: Bool = false) throws -> Int {
        let query = try LDNS.query(name, type)
        let reply = overTCP ? try TestClient.tcp(query, port: server.dnsPort) : try TestClient.udp(query, port: server.dnsPort)
        return try #require(reply, "\(name) \(type)").count
    }

    @Test func everyAnsweredQueryIsOneJSONLine() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--query-log", "all"])
        defer { server.stop() }
        let size = try Self.ask("web.default.svc.cluster.local", "A", server)
        try Self.ask("nope.default.svc.cluster.local", "A", server, overTCP: true)
        try Self.ask("www.example.com", "AAAA", server)
        let lines = try Self.lines(server, atLeast: 3)
        try #require(lines.count == 3, "\(server.output)")

        let first = lines[0]
        #expect(first["client"] as? String == "127.0.0.1")
        #expect((first["port"] as? Int ?? 0) > 0)
        #expect(first["proto"] as? String == "udp")
        #expect(first["name"] as? String == "web.default.svc.cluster.local.")
        #expect(first["type"] as? String == "A")
        #expect(first["rcode"] as? String == "NOERROR")
        let flags = try #require(first["flags"] as? [String: Bool])
        #expect(flags == ["aa": true, "tc": false, "rd": true, "ra": false])
        #expect(first["size"] as? Int == size, "the answer's size as sent")
        #expect((first["duration_us"] as? Int).map { $0 >= 0 && $0 < 1_000_000 } == true)
        let time = try #require(first["time"] as? String)
        let parsedTime = ISO8601DateFormatter.withFractionalSeconds.date(from: time)
        #expect(parsedTime.map { abs($0.timeIntervalSinceNow) < 10 } == true, "\(time)")

        #expect(lines[1]["proto"] as? String == "tcp")
        #expect(lines[1]["rcode"] as? String == "NXDOMAIN")
        #expect(lines[2]["name"] as? String == "www.example.com.")
        #expect(lines[2]["type"] as? String == "AAAA")
        #expect(lines[2]["rcode"] as? String == "REFUSED")
    }

    /// The same five queries under each mode: which of them are logged.
    @Test(arguments: [
        ("denial", ["nope.default.svc.cluster.local.", "web.default.svc.cluster.local."]),
        ("error", ["www.example.com."]),
    ])
    func aModeLogsOnlyItsAnswers(mode: String, names: [String]) throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--query-log", mode])
        defer { server.stop() }
        try Self.ask("web.default.svc.cluster.local", "A", server)  // an answer
        try Self.ask("nope.default.svc.cluster.local", "A", server)  // NXDOMAIN
        try Self.ask("web.default.svc.cluster.local", "AAAA", server)  // NODATA
        try Self.ask("www.example.com", "A", server)  // REFUSED: no upstream
        let lines = try Self.lines(server, atLeast: names.count)
        usleep(200_000)
        #expect(try Self.lines(server, atLeast: names.count).compactMap { $0["name"] as? String } == names)
        #expect(lines.count == names.count)
    }

    @Test func sampleAndQueueBound() throws {
        let sampled = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--query-log", "all", "--query-log-sample", "3"])
        defer { sampled.stop() }
        for _ in 0..<12 { try Self.ask("web.default.svc.cluster.local", "A", sampled) }
        usleep(200_000)
        #expect(try Self.lines(sampled, atLeast: 4).count == 4, "one in three of 12")

        // A queue of 100 lines, emptied every 50 ms, under 2,000 queries as fast as one client sends them: what
        // does not fit is dropped and counted, and every query is either logged or counted.
        let bounded = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--query-log", "all", "--query-log-queue", "100"])
        defer { bounded.stop() }
        let query = try LDNS.query("web.default.svc.cluster.local", "A")
        var answered = 0
        for _ in 0..<2000 where (try? TestClient.udp(query, port: bounded.dnsPort)) != nil { answered += 1 }
        let logged = try Self.lines(bounded, atLeast: answered).count
        let metrics = try TestHTTP.request("GET", "/metrics", port: bounded.httpPort).body
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("svcdns_query_log_dropped_total ") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect(answered == 2000)
        #expect(logged + dropped == answered, "logged \(logged), dropped \(dropped)")
        #expect(dropped > 0 || logged == answered)
    }
}

extension ISO8601DateFormatter {
    fileprivate static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
