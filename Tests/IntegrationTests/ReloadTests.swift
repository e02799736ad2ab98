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

    /// Sets a file's modification time (seconds since 1970), as `touch -d` does.
    static func setModificationTime(_ path: String, _ seconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
            throw TestFailure(description: "utimensat \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A file modified in the year 2300: its time in nanoseconds does not fit 64 bits. It is served at start,
    /// and an edit of it (again dated 2300) is picked up while serving.
    @Test func aFileDatedPast2262IsServed() throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.service("web", clusterIP: "10.96.0.10")])
        let year2300 = 10_413_792_000
        try Self.setModificationTime(folder.path + "/web.yaml", year2300)
        let server = try SvcDNSProcess(zones: folder.path)
        defer { server.stop() }
        #expect(try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.10"])

        try folder.write("web.yaml", Self.service("web", clusterIP: "10.96.0.11"))
        try Self.setModificationTime(folder.path + "/web.yaml", year2300 + 1)
        let picked = try Self.waitFor(seconds: 3) { try Self.addresses("web.default.svc.cluster.local", server) == ["10.96.0.11"] }
        #expect(picked != nil, "\(server.output)")
        #expect(server.isRunning)

        let check = try Tool.run(try SvcDNSProcess.binaryPath(), ["check", "--zones", folder.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// A file rewritten in place, slowly, in pieces (as `kubectl get … > zones/cluster.yaml` over a slow link
    /// does): until it has settled it is not read, so every name of the version served keeps answering while
    /// it is written, and the new version is served once it is complete.
    @Test func aFileBeingWrittenIsNeverReadHalfWay() throws {
        let count = 200
        func address(_ version: Int, _ index: Int) -> String { "10.\(100 + version).\(index / 250).\(index % 250 + 1)" }
        func documents(_ version: Int) -> [String] {
            (0..<count).map { Self.service("s\($0)", clusterIP: address(version, $0)) + "\n" }
        }
        let folder = try TemporaryFolder(files: ["cluster.yaml": documents(1).joined(separator: "---\n")])
        // Checking every 100 ms: a half-written file would be looked at many times while it is written.
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--reload-interval", "100ms"])
        defer { server.stop() }
        func answer(_ index: Int) throws -> [String]? { try Self.addresses("s\(index).default.svc.cluster.local", server) }
        for index in 0..<count {
            #expect(try answer(index) == [address(1, index)], "s\(index) before the rewrite")
        }

        // The writer truncates the file and writes version 2 in ten pieces of whole documents, pausing 100 to 300
        // ms between them: each piece leaves a valid file holding only some of the Services.
        let path = folder.path + "/cluster.yaml"
        let pieces = stride(from: 0, to: count, by: 20).map { documents(2)[$0..<$0 + 20].joined(separator: "---\n") }
        let written = DispatchSemaphore(value: 0)
        let writer = Thread {
            defer { written.signal() }
            let fd = open(path, O_WRONLY | O_TRUNC)
            guard fd >= 0 else { return }
            defer { close(fd) }
            for (number, piece) in pieces.enumerated() {
                let bytes = Array(((number == 0 ? "" : "---\n") + piece).utf8)
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                usleep(UInt32.random(in: 100_000...300_000))
            }
        }
        writer.start()

        // Every name is asked again and again while the file is written: each answer is version 1 or 2.
        var wrong: [String] = []
        var asked = 0
        let deadline = Date().addingTimeInterval(10)
        var finished = false
        while !finished && Date() < deadline {
            finished = written.wait(timeout: .now()) == .success
            for index in 0..<count {
                let got = try answer(index)
                asked += 1
                if got != [address(1, index)] && got != [address(2, index)] {
                    wrong.append("s\(index): \(got.map { "\($0)" } ?? "no reply")")
                }
            }
        }
        #expect(finished, "the writer finished within 10 s")
        #expect(wrong.isEmpty, "\(wrong.count) of \(asked) answers while the file was written were neither version: \(wrong.prefix(5))")

        let settled = try Self.waitFor(seconds: 3) { try (0..<count).allSatisfy { try answer($0) == [address(2, $0)] } }
        #expect(settled != nil, "version 2 served once written")
    }
}
