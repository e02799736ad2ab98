import Authority
import ServiceModel
import SvcDNSTesting
import Testing

/// `--rotate` and `--max-answers`: who leads a multi-record answer, and how often.
@Suite struct RotationTests {
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: pool, namespace: default}
        spec:
          clusterIP: None
          ports: [{name: http, port: 80}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: pool-1, namespace: default, labels: {kubernetes.io/service-name: pool}}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.7.1], hostname: p1}
          - {addresses: [127.0.7.2], hostname: p2}
          - {addresses: [127.0.7.3], hostname: p3}
          - {addresses: [127.0.7.4], hostname: p4}
        ports: [{name: http, port: 8080}]
        """
    static let zone = """
        $ORIGIN corp.example.
        @ 60 IN SOA ns1 hostmaster 1 3600 600 604800 60
        www 60 IN A 127.0.3.1
        www 60 IN A 127.0.3.2
        www 60 IN A 127.0.3.3
        """

    static func snapshot(_ rotation: RotationMode, maxAnswers: Int = 0) throws -> Snapshot {
        try TestZone.snapshot(manifests: manifests, zoneFiles: ["corp.example": zone], rotation: rotation, maxAnswers: maxAnswers)
    }

    /// The record data of the first answer record ("127.0.7.3", "0 25 8080 p3.pool…").
    static func leader(_ response: DecodedResponse) -> String {
        response.answer.first.map(rdata) ?? ""
    }

    static func rdata(of record: String) -> String {
        record.split(separator: " ").dropFirst(4).joined(separator: " ")
    }

    @Test(arguments: [("pool.default.svc.cluster.local.", "A", 4), ("_http._tcp.pool.default.svc.cluster.local.", "SRV", 4), ("www.corp.example.", "A", 3)])
    func roundRobinLeadsEachRecordExactlyKTimes(name: String, type: String, records: Int) throws {
        let snapshot = try Self.snapshot(.roundRobin)
        let k = 5
        var leads: [String: Int] = [:]
        for _ in 0..<(k * records) {
            let response = try #require(try Harness.answer(LDNS.query(name, type, udpSize: 1232), from: snapshot))
            #expect(response.answer.count == records)
            leads[Self.leader(response), default: 0] += 1
        }
        #expect(leads.count == records)
        let everyRecordLedKTimes = leads.values.allSatisfy { $0 == k }
        #expect(everyRecordLedKTimes, "\(leads)")
    }

    @Test func roundRobinIsFairAcrossUDPAndTCP() async throws {
        try await withTestServer(try Self.snapshot(.roundRobin)) { server in
            let query = try LDNS.query("pool.default.svc.cluster.local.", "A", udpSize: 1232)
            var leads: [String: Int] = [:]
            for round in 0..<24 {
                let response = try #require(round.isMultiple(of: 2) ? try server.udp(query) : try server.tcp(query))
                leads[Self.leader(response), default: 0] += 1
            }
            #expect(leads == ["127.0.7.1": 6, "127.0.7.2": 6, "127.0.7.3": 6, "127.0.7.4": 6])
        }
    }

    @Test func noneKeepsTheZoneOrder() throws {
        let snapshot = try Self.snapshot(.none)
        let query = try LDNS.query("pool.default.svc.cluster.local.", "A", udpSize: 1232)
        let first = try #require(try Harness.answer(query, from: snapshot)).answer
        for _ in 0..<10 {
            #expect(try #require(try Harness.answer(query, from: snapshot)).answer == first)
        }
    }

    @Test func randomVariesTheLeader() throws {
        let snapshot = try Self.snapshot(.random)
        let query = try LDNS.query("pool.default.svc.cluster.local.", "A", udpSize: 1232)
        var leads: [String: Int] = [:]
        for _ in 0..<200 {
            let response = try #require(try Harness.answer(query, from: snapshot))
            #expect(response.answer.count == 4)
            leads[Self.leader(response), default: 0] += 1
        }
        // 200 draws over 4 records: each leads at least once and none every time, short of a 1-in-10^20 event.
        #expect(leads.count == 4, "\(leads)")
    }

    @Test func rotationKeepsEveryRecordAndTheirOrderAsARing() throws {
        let snapshot = try Self.snapshot(.roundRobin)
        let query = try LDNS.query("www.corp.example.", "A", udpSize: 1232)
        for _ in 0..<3 {
            let answer = try #require(try Harness.answer(query, from: snapshot)).answer
            #expect(answer.sorted() == ["www.corp.example. 60 IN A 127.0.3.1", "www.corp.example. 60 IN A 127.0.3.2", "www.corp.example. 60 IN A 127.0.3.3"])
        }
    }

    @Test func maxAnswersGivesARotatingWindowThatCoversEveryRecord() throws {
        let snapshot = try Self.snapshot(.roundRobin, maxAnswers: 2)
        var shown: [String: Int] = [:]
        for _ in 0..<8 {
            let response = try #require(
                try Harness.answer(LDNS.query("_http._tcp.pool.default.svc.cluster.local.", "SRV", udpSize: 1232), from: snapshot)
            )
            #expect(response.answer.count == 2)
            // Only the targets of the records shown come along as additional records.
            let targets = response.answer.map { String($0.split(separator: " ").last!) }.sorted()
            let additionalOwners = response.additional.map { String($0.split(separator: " ").first!) }.sorted()
            #expect(additionalOwners == targets)
            for record in response.answer { shown[Self.rdata(of: record), default: 0] += 1 }
        }
        #expect(shown.count == 4)
        let eachShownFourTimes = shown.values.allSatisfy { $0 == 4 }
        #expect(eachShownFourTimes, "8 answers × 2 records over 4 records: each 4 times, \(shown)")
    }
}
