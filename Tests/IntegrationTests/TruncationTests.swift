import Foundation
import SvcDNSTesting
import Testing

/// Answers too big for UDP, through the real binary, decoded by libldns: TC set, the question, and as many
/// whole records of the answer as fit the limit (512 bytes without EDNS, else the smaller of the client's size
/// and 1232), never an empty answer (RFC 2181 §9). A stub resolver without TCP fallback (musl before 1.2.4)
/// gets working addresses that way, and the rotation makes consecutive truncated answers cover every address.
/// Forwarded answers are cut by the same rule.
@Suite(.serialized) struct TruncationTests {
    static let hundred = "hundred.default.svc.cluster.local."
    static let hundredAddresses = (0..<100).map { "127.0.\(20 + $0 / 50).\(1 + $0 % 50)" }

    /// A headless Service of 100 unprobed loopback endpoints.
    static let manifests = TestManifest.headlessService("hundred", endpoints: hundredAddresses.map { .init($0) })

    /// How many A records of an owner equal to the question fit in `limit`: 12 header bytes, the question
    /// (name + 4), 11 for OPT when the query had EDNS, then 16 bytes a record (a 2-byte pointer to the
    /// question's name, type, class, TTL, length, 4 address bytes).
    static func recordsThatFit(name: String, limit: Int, edns: Bool) -> Int {
        let nameLength = name.split(separator: ".").reduce(1) { $0 + $1.utf8.count + 1 }
        return (limit - 12 - (nameLength + 4) - (edns ? 11 : 0)) / 16
    }

    /// Checks one truncated UDP answer to `name` A and returns its records.
    static func checkTruncated(
        _ reply: [UInt8], id: UInt16, name: String, udpSize: UInt16?, allowed: Set<String>,
        normalize: (String) -> String = { $0 }
    ) throws -> [String] {
        let limit = udpSize == nil ? 512 : min(Int(udpSize!), 1232)
        let decoded = try LDNS.decode(reply)
        #expect(decoded.id == id)
        #expect(decoded.rcodeName == "NOERROR")
        #expect(decoded.truncated, "TC must be set: the whole answer is \(allowed.count) records")
        #expect(reply.count <= limit, "\(reply.count) bytes over a limit of \(limit)")
        #expect(decoded.question == ["\(name) IN A"])
        let fit = recordsThatFit(name: name, limit: limit, edns: udpSize != nil)
        #expect(decoded.answer.count == fit, "as many whole records as fit \(limit) bytes: \(fit)")
        #expect(Set(decoded.answer).count == decoded.answer.count, "no record twice")
        #expect(Set(decoded.answer.map(normalize)).isSubset(of: allowed), "\(decoded.answer)")
        #expect(decoded.authority.isEmpty && decoded.additional.isEmpty, "authority and additional records go first")
        if let udpSize {
            #expect(decoded.edns?.udpSize == 1232, "the OPT record stays (asked with \(udpSize))")
        } else {
            #expect(decoded.edns == nil)
        }
        return decoded.answer
    }

    @Test(arguments: [nil, 1232, 4096] as [UInt16?])
    func aHundredEndpointsGetTheRecordsThatFitAndConsecutiveAnswersCoverThemAll(udpSize: UInt16?) throws {
        let folder = try TemporaryFolder(files: ["hundred.yaml": Self.manifests])
        let server = try SvcDNSProcess(zones: folder.path)
        defer { server.stop() }
        let all = Set(try Self.hundredAddresses.map { try LDNS.canonical("\(Self.hundred) 5 IN A \($0)") })

        // Round-robin starts each answer one record later: with `fit` records an answer, 100 - fit + 1
        // consecutive answers cover all 100 (nothing else asks for this name meanwhile).
        let limit = udpSize == nil ? 512 : 1232
        let fit = Self.recordsThatFit(name: Self.hundred, limit: limit, edns: udpSize != nil)
        try #require(fit > 0 && fit < 100)
        var seen = Set<String>()
        var queries = 0
        while seen.count < 100 && queries < 100 {
            queries += 1
            let id = UInt16(queries)
            let query = try LDNS.query(Self.hundred, "A", id: id, udpSize: udpSize)
            let reply = try #require(try TestClient.udp(query, port: server.dnsPort), "no answer to query \(queries)")
            seen.formUnion(try Self.checkTruncated(reply, id: id, name: Self.hundred, udpSize: udpSize, allowed: all))
        }
        #expect(seen == all, "after \(queries) queries \(all.subtracting(seen).count) addresses were never given")
        #expect(queries <= 100 - fit + 1, "\(queries) queries to see all 100 with \(fit) an answer")

        // Over TCP the whole set, without TC.
        let whole = try LDNS.decode(
            try #require(try TestClient.tcp(try LDNS.query(Self.hundred, "A", udpSize: udpSize), port: server.dnsPort)))
        #expect(!whole.truncated)
        #expect(Set(whole.answer) == all)
    }

    @Test(arguments: [nil, 4096] as [UInt16?])
    func aForwardedAnswerTooBigForUDPKeepsTheRecordsThatFit(udpSize: UInt16?) throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: ["hundred.yaml": Self.manifests])
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }
        let name = "big.upstream.test."
        let all = Set(try (1...100).map { try LDNS.canonical("\(name) 300 IN A 127.0.12.\($0)") })
        // TTLs count down in the cache: records are compared with their TTL set back to the zone's.
        func withZoneTTL(_ record: String) -> String {
            var fields = record.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            if fields.count > 1 { fields[1] = "300" }
            return fields.joined(separator: " ")
        }
        // The first answer comes back from the upstream (fetched again over TCP, as NSD truncates it too),
        // the second from svcdns's cache: both are cut for the client the same way.
        for (index, path) in ["forwarded", "cached"].enumerated() {
            let id = UInt16(100 + index)
            let query = try LDNS.query(name, "A", id: id, udpSize: udpSize)
            let reply = try #require(try TestClient.udp(query, port: server.dnsPort, timeout: 6), "no \(path) answer")
            let decoded = try LDNS.decode(reply)
            #expect(decoded.recursionAvailable, "\(path)")
            _ = try Self.checkTruncated(
                reply, id: id, name: name, udpSize: udpSize, allowed: all, normalize: withZoneTTL)
        }
    }
}
