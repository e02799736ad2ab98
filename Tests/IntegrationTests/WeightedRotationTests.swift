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
    static func leaders(_ name: String, _ type: String, count: Int, server: SvcDNSProcess) throws -> [String] {
        let socket = try TestClient.UDPSocket(port: server.dnsPort, timeout: 2)
        var leaders: [String] = []
        for index in 0..<count {
            try socket.send(try LDNS.query(name, type, id: UInt16(truncatingIfNeeded: index)))
            let answer = try LDNS.decode(try #require(socket.receive(), "no answer \(index)")).answer
            try #require(answer.count == 4, "\(answer)")
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
        ("db-0", "\"db-0\" is not NAME=WEIGHT"),
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
}
