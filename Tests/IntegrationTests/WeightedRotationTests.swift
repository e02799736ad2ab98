import Foundation
import SvcDNSTesting
import Testing

/// `svcdns.io/weights` through the real binary: over whole cycles of the weights' sum, each endpoint leads the
/// A answer (and the SRV answer) exactly its weight's number of times, never twice in a row here, and SRV
/// records carry the weights; endpoints are named by hostname, pod name or address, unnamed ones weigh 1.
@Suite(.serialized) struct WeightedRotationTests {
    static let zones = [
        "db.yaml": """
            apiVersion: v1
            kind: Service
            metadata:
              name: db
              namespace: default
              annotations: {svcdns.io/health-check: none, svcdns.io/weights: "db-0=3, db-1-pod=1, 127.0.2.9=2"}
            spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: db-1, namespace: default, labels: {kubernetes.io/service-name: db}}
            addressType: IPv4
            endpoints:
            - {addresses: [127.0.2.1], hostname: db-0}
            - {addresses: [127.0.2.2], targetRef: {kind: Pod, name: db-1-pod}}
            - {addresses: [127.0.2.9]}
            - {addresses: [127.0.2.4]}
            ports: [{name: pg, port: 5432}]
            """
    ]
    /// Address → weight, as the annotation gives them (127.0.2.4 is not named: 1).
    static let weights = ["127.0.2.1": 3, "127.0.2.2": 1, "127.0.2.9": 2, "127.0.2.4": 1]
    static let cycle = 7

    /// The leading record's last field (address, or SRV target) of `count` answers to `name` `type`.
    static func leaders(_ name: String, _ type: String, count: Int, server: SvcDNSProcess, records: Int = 4) throws -> [String] {
        let socket = try TestClient.UDPSocket(port: server.dnsPort, timeout: 2)
        var leaders: [String] = []
        for index in 0..<count {
            try socket.send(try LDNS.query(name, type, id: UInt16(truncatingIfNeeded: index)))
            let answer = try LDNS.decode(try #require(socket.receive(), "no answer \(index)")).answer
            try #require(answer.count == records, "\(answer)")
            leaders.append(String(answer[0].split(separator: " ").last!))
        }
        return leaders
    }

    @Test func eachEndpointLeadsInProportionToItsWeight() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path)
        defer { server.stop() }
        let name = "db.default.svc.cluster.local"

        let leaders = try Self.leaders(name, "A", count: 1000 * Self.cycle, server: server)
        var counts: [String: Int] = [:]
        for leader in leaders { counts[leader, default: 0] += 1 }
        #expect(counts == Self.weights.mapValues { $0 * 1000 })
        // Every cycle is smooth weighted round robin's, the weight-3 endpoint spread through it rather than in a
        // burst: it never leads more than twice in a row (once at the end of a cycle and once at the start of
        // the next), and the others never twice.
        let smooth = ["127.0.2.1", "127.0.2.9", "127.0.2.2", "127.0.2.1", "127.0.2.4", "127.0.2.9", "127.0.2.1"]
        for start in stride(from: 0, to: leaders.count, by: Self.cycle) {
            #expect(Array(leaders[start..<(start + Self.cycle)]) == smooth, "cycle at \(start)")
        }
        #expect(zip(leaders, leaders.dropFirst()).allSatisfy { $0 != $1 || $0 == "127.0.2.1" })
        #expect(zip(zip(leaders, leaders.dropFirst()), leaders.dropFirst(2)).allSatisfy { !($0.0 == $0.1 && $0.1 == $1) })

        // SRV: each record carries its endpoint's weight, and leads as often.
        let reply = try TestClient.udp(try LDNS.query("_pg._tcp.\(name)", "SRV"), port: server.dnsPort)
        let srv = try LDNS.decode(try #require(reply)).answer
        let fields = Set(srv.map { $0.split(separator: " ").suffix(4).joined(separator: " ") })
        #expect(
            fields == [
                "0 3 5432 db-0.db.default.svc.cluster.local.", "0 1 5432 127-0-2-2.db.default.svc.cluster.local.",
                "0 2 5432 127-0-2-9.db.default.svc.cluster.local.", "0 1 5432 127-0-2-4.db.default.svc.cluster.local.",
            ], "\(srv)")
        let srvLeaders = try Self.leaders("_pg._tcp.\(name)", "SRV", count: 10 * Self.cycle, server: server)
        var srvCounts: [String: Int] = [:]
        for leader in srvLeaders { srvCounts[leader, default: 0] += 1 }
        #expect(
            srvCounts == [
                "db-0.db.default.svc.cluster.local.": 30, "127-0-2-2.db.default.svc.cluster.local.": 10,
                "127-0-2-9.db.default.svc.cluster.local.": 20, "127-0-2-4.db.default.svc.cluster.local.": 10,
            ])
    }

    @Test(arguments: [
        ("db-0=0", "\"0\" for db-0 is not a weight from 1 to 100"),
        ("db-0=3,db-0=1", "db-0 is given twice"),
        ("db-0", "\"db-0\" is not NAME=WEIGHT (or the whole value latency)"),
    ])
    func aMalformedAnnotationIsAnErrorNamingIt(value: String, reason: String) throws {
        let manifest = """
            apiVersion: v1
            kind: Service
            metadata: {name: bad, namespace: default, annotations: {svcdns.io/weights: "\(value)"}}
            spec: {clusterIP: None}
            """
        let folder = try TemporaryFolder(files: ["bad.yaml": manifest])
        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 1)
        #expect(
            check.stdout == "\(folder.path)/bad.yaml: Service default/bad: metadata.annotations[svcdns.io/weights]: \(reason)\n",
            "\(check.stdout)")
    }

    /// `svcdns.io/weights: latency` with real HTTP probes of two listeners, one answering 20 ms late: the fast one
    /// weighs 100 and the slow one in proportion, `/status/endpoints` shows the round trips and weights, and
    /// the A answers lead by them.
    @Test func latencyWeightsComeFromProbeRoundTrips() async throws {
        let port = try SvcDNSProcess.freePort()
        let fast = try await TestListener(host: "127.0.26.1", port: port, httpStatus: 200)
        let slow = try await TestListener(host: "127.0.26.2", port: port, httpStatus: 200, responseDelay: .milliseconds(20))
        try await HealthCheckingTests.closing([fast, slow]) {
            let manifest = """
                apiVersion: v1
                kind: Service
                metadata:
                  name: api
                  namespace: default
                  annotations: {svcdns.io/weights: latency, svcdns.io/health-check: http, svcdns.io/health-path: /}
                spec: {clusterIP: None, ports: [{name: http, port: \(port)}]}
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: api-1, namespace: default, labels: {kubernetes.io/service-name: api}}
                addressType: IPv4
                endpoints: [{addresses: [127.0.26.1]}, {addresses: [127.0.26.2]}]
                ports: [{name: http, port: \(port)}]
                """
            let folder = try TemporaryFolder(files: ["api.yaml": manifest])
            let server = try SvcDNSProcess(zones: folder.path, arguments: HealthCheckingTests.flags)
            defer { server.stop() }

            /// Address → (weight, round trip µs) from /status/endpoints.
            func weights() throws -> [String: (Int, Int)] {
                let body = try TestHTTP.request("GET", "/status/endpoints", port: server.httpPort).body
                let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                let items = json?["endpoints"] as? [[String: Any]] ?? []
                var result: [String: (Int, Int)] = [:]
                for item in items {
                    guard let address = item["address"] as? String, let weight = item["weight"] as? Int,
                        let roundTrip = item["roundTripMicroseconds"] as? Int
                    else { continue }
                    #expect((item["weightBasis"] as? String)?.hasPrefix("latency:") == true)
                    result[address] = (weight, roundTrip)
                }
                return result
            }
            let weighed = try HealthCheckingTests.waitFor(seconds: 5) { try weights().count == 2 }
            #expect(weighed != nil, "\(server.output)")

            // Over any run of Σweights answers each leads exactly its weight's times; weights are worked out again
            // each interval, so a run is taken again when they moved while it was asked.
            var checked = false
            for _ in 0..<10 where !checked {
                let before = try weights()
                guard let fastWeight = before["127.0.26.1"]?.0, let slowWeight = before["127.0.26.2"]?.0 else { continue }
                #expect(fastWeight == 100)
                #expect(slowWeight < 100)
                #expect(before["127.0.26.2"]!.1 >= 20_000, "the slow one's round trip includes its 20 ms")
                let leaders = try Self.leaders(
                    "api.default.svc.cluster.local", "A", count: fastWeight + slowWeight, server: server, records: 2)
                let after = try weights()
                guard after["127.0.26.1"]?.0 == fastWeight && after["127.0.26.2"]?.0 == slowWeight else { continue }
                #expect(leaders.filter { $0 == "127.0.26.1" }.count == fastWeight)
                #expect(leaders.filter { $0 == "127.0.26.2" }.count == slowWeight)
                checked = true
            }
            #expect(checked, "the weights moved during every run")
        }
    }
}
