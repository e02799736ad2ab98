import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real one-member etcd from Debian on 127.0.0.1, with client and peer ports it chose and its data in a
/// temporary folder: the shared store of replica tests. Stopped by `stop()` or when the value goes.
public final class TestEtcd: @unchecked Sendable {
    public let clientPort: Int
    public let peerPort: Int
    private let folder: TemporaryFolder
    private var process: Spawned
    private let logFile: String
    private let arguments: [String]

    /// `http://127.0.0.1:PORT`, as `EtcdClient` and `--store etcd://` take it.
    public var endpoint: String { "http://127.0.0.1:\(clientPort)" }

    /// Starts `etcd` and waits (at most 20 s) until `/health` says it is up. Its data lives in `base` when
    /// given (`/dev/shm` makes its writes take microseconds, so that concurrent writes overlap).
    public init(base: String? = nil) throws {
        let clientPort = try SvcDNSProcess.freePort()
        var peer = try SvcDNSProcess.freePort()
        while peer == clientPort { peer = try SvcDNSProcess.freePort() }
        self.clientPort = clientPort
        peerPort = peer
        folder = try TemporaryFolder(base: base)
        logFile = folder.path + "/etcd.log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let peerURL = "http://127.0.0.1:\(peer)"
        let clientURL = "http://127.0.0.1:\(clientPort)"
        arguments = [
            "--name", "test", "--data-dir", folder.path + "/data",
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", "test=\(peerURL)", "--initial-cluster-state", "new",
        ]
        process = try Spawned(executable: try Self.executable(), arguments: arguments, log: logFile)
        try waitUntilHealthy()
    }

    /// Starts etcd again after `stop()`, on the same ports and data.
    public func restart() throws {
        stop()
        process = try Spawned(executable: try Self.executable(), arguments: arguments, log: logFile)
        try waitUntilHealthy()
    }

    private func waitUntilHealthy() throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let status = process.exitStatus() {
                throw Tool.Failure(description: "etcd exited with \(status):\n\(output)")
            }
            if Self.isHealthy(port: clientPort) {
                return
            }
            usleep(100_000)
        }
        stop()
        throw Tool.Failure(description: "etcd did not become healthy on \(endpoint) within 20 s:\n\(output)")
    }

    /// Whether the member with this client port says, at `/health`, that it is up and has a leader.
    static func isHealthy(port: Int) -> Bool {
        (try? TestHTTP.request("GET", "/health", port: port, timeout: 1))?.body.contains("\"health\":\"true\"") == true
    }

    /// etcd on PATH, else where Debian installs it.
    public static func executable() throws -> String {
        if let path = try? Tool.resolve("etcd") { return path }
        return "/usr/bin/etcd"
    }

    /// What etcd wrote so far.
    public var output: String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Stops etcd with SIGTERM (SIGKILL after 5 s) and waits for it. Safe to call more than once.
    public func stop() {
        process.stop(within: 5)
    }

    deinit {
        stop()
    }
}
