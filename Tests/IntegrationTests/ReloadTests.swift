import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Editing `zones/` while svcdns runs: a good edit is served within 2 s (or at once on SIGHUP), a bad
/// edit is logged with its file and field while the file's last good data stays in service, and a
/// removed file takes its names with it.
@Suite(.serialized) struct ReloadTests {
    static func service(_ name: String, clusterIP: String, port: String = "80") -> String {
        """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: default}
        spec: {clusterIP: \(clusterIP), ports: [{name: http, port: \(port)}]}
        """
    }

    static func addresses(_ name: String, _ server: SvcDNSProcess) throws -> [String]? {
        let reply = try TestClient.udp(try LDNS.query(name, "A"), port: server.dnsPort, timeout: 1)
        return try reply.map { try LDNS.decode($0).answer.map { String($0.split(separator: " ").last!) } }
    }

    /// Polls until `condition` holds or `seconds` pass; the time it took, or nil.
    static func waitFor(seconds: Double, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        for _ in 0..<Int(seconds * 50) + 1 {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(20_000)
        }
        return nil
    }

    @Test func goodAndBadEditsWhileServing() throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.service("web", clusterIP: "10.96.0.10")])
        let server = try SvcDNSProcess(zones: folder.path)
        defer { server.stop() }
        #expect(try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.10"])

        // A new file and a changed one are both picked up.
        try folder.write("api.yaml", Self.service("api", clusterIP: "10.96.0.11"))
        try folder.write("web.yaml", Self.service("web", clusterIP: "10.96.0.12"))
        let picked = try Self.waitFor(seconds: 3) {
            try Self.addresses("api.default.svc.cluster.local", server) == ["10.96.0.11"]
                && Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.12"]
        }
        #expect(picked != nil && picked! <= 2.0, "picked up after \(String(describing: picked)) s\n\(server.output)")

        // A bad edit: the last good web.yaml stays in service, and the log names the file and the field.
        try folder.write("web.yaml", Self.service("web", clusterIP: "10.96.0.13", port: "70000"))
        let logged = Self.waitFor(seconds: 3) { server.output.contains("spec.ports[0].port") }
        #expect(logged != nil, "\(server.output)")
        #expect(server.output.contains("web.yaml"))
        #expect(try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.12"])
        #expect(try Self.addresses("api.default.svc.cluster.local", server) == ["10.96.0.11"], "the rest keeps working")

        // A removed file takes its names with it.
        try FileManager.default.removeItem(atPath: folder.path + "/api.yaml")
        let gone = try Self.waitFor(seconds: 3) { try Self.addresses("api.default.svc.cluster.local", server) == [] }
        #expect(gone != nil)
    }

    @Test func sighupReloadsAtOnce() throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.service("web", clusterIP: "10.96.0.10")])
        // Checking every minute: only the signal can explain a reload within the test.
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--reload-interval", "60s"])
        defer { server.stop() }
        try folder.write("web.yaml", Self.service("web", clusterIP: "10.96.0.20"))
        usleep(200_000)
        #expect(try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.10"])
        kill(server.processIdentifier, SIGHUP)
        let reloaded = try Self.waitFor(seconds: 2) { try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.20"] }
        #expect(reloaded != nil, "\(server.output)")
        #expect(server.isRunning, "SIGHUP reloads, it does not stop svcdns")
    }
}
