import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `svcdns_dns_programming_duration_seconds` through the real binaries: two replicas on one etcd, and the
/// histogram of each source moving once a change of that source is answered: an API write (`api`, on the
/// replica written to, whichever of its acknowledgement and its watch applied it first), the write seen by the
/// other replica (`etcd`), a new file and SIGHUP (`file`), an endpoint found down (`health`).
@Suite(.serialized) struct ProgrammingLatencyTests {
    static let zones: [String: String] = [
        "pods.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: pods, namespace: default}
            spec: {clusterIP: None, ports: [{name: http, port: 9}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: pods-1, namespace: default, labels: {kubernetes.io/service-name: pods}}
            addressType: IPv4
            endpoints: [{addresses: [127.0.3.9], conditions: {ready: true}}]
            ports: [{name: http, port: 9}]
            """
    ]

    /// The count and sum of the histogram for `source`, from `/metrics`.
    static func histogram(_ source: String, _ server: SvcDNSProcess) throws -> (count: Double, sum: Double) {
        let body = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        func value(_ suffix: String) -> Double {
            for line in body.split(separator: "\n")
            where line.hasPrefix("svcdns_dns_programming_duration_seconds_\(suffix){") && line.contains("source=\"\(source)\"") {
                return Double(line.split(separator: " ").last ?? "") ?? -1
            }
            return 0
        }
        return (value("count"), value("sum"))
    }

    /// Waits at most 10 s for the histogram of `source` to count a change; its count and mean then.
    static func waitForCount(_ source: String, _ server: SvcDNSProcess) throws -> (count: Double, mean: Double) {
        let deadline = Date().addingTimeInterval(10)
        var reading = try histogram(source, server)
        while reading.count < 1 && Date() < deadline {
            usleep(100_000)
            reading = try histogram(source, server)
        }
        return (reading.count, reading.count > 0 ? reading.sum / reading.count : 0)
    }

    static func service(_ name: String, _ clusterIP: String) -> String {
        """
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "\(name)", "namespace": "default"},
         "spec": {"clusterIP": "\(clusterIP)", "ports": [{"name": "http", "port": 80}]}}
        """
    }

    @Test func eachSourceIsTimedFromAcceptanceToTheSnapshotThatAnswers() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let folder = try TemporaryFolder(files: Self.zones)
        let store = ["--store", "etcd://127.0.0.1:\(etcd.clientPort)/latency", "--health-interval", "200ms",
                     "--health-timeout", "100ms", "--health-fall", "1"]
        let writer = try SvcDNSProcess(zones: folder.path, arguments: store)
        defer { writer.stop() }
        let follower = try SvcDNSProcess(zones: folder.path, arguments: store)
        defer { follower.stop() }

        // Nothing listens on 127.0.3.9:9: its first probe finds it down.
        let health = try Self.waitForCount("health", writer)
        #expect(health.count >= 1 && health.mean < 2, "health: \(health)")

        #expect(try Self.histogram("etcd", follower).count == 0, "startup's listing of etcd is not a change")
        let put = try TestHTTP.request(
            "PUT", "/api/v1/namespaces/default/services/api", port: writer.httpPort, body: Self.service("api", "10.96.5.1"))
        #expect(put.status == 201, "\(put.body)")
        let api = try Self.waitForCount("api", writer)
        #expect(api.count >= 1 && api.mean < 2, "api: \(api)")
        let watched = try Self.waitForCount("etcd", follower)
        #expect(watched.count >= 1 && watched.mean < 2, "etcd: \(watched)")
        #expect(try Self.histogram("etcd", writer).count == 0, "the writer's own write is not counted as etcd's")
        let reply = try TestClient.udp(try LDNS.query("api.default.svc.cluster.local", "A"), port: follower.dnsPort)
        #expect(try LDNS.decode(try #require(reply)).answer == ["api.default.svc.cluster.local. 5 IN A 10.96.5.1"])

        try folder.write("web.yaml", """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {clusterIP: 10.96.5.2}
            """)
        kill(writer.processIdentifier, SIGHUP)
        let file = try Self.waitForCount("file", writer)
        #expect(file.count >= 1 && file.mean < 3, "file: \(file)")
    }
}
