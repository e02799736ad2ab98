import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real three-member etcd cluster from Debian on 127.0.0.1, ports chosen here, data in a temporary
/// folder: for tests where a member dies and the others carry on. Stopped by `stop()` or when it goes.
public final class TestEtcdCluster: @unchecked Sendable {
    public let clientPorts: [Int]
    private let folder: TemporaryFolder
    private var members: [Spawned?]
    private var memberArguments: [[String]] = []
    private let logFile: String

    /// `HOST:PORT,HOST:PORT,...` of every member, as `--store etcd://` takes it.
    public var hosts: String { clientPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    public init(size: Int = 3) throws {
        var ports: Set<Int> = []
        while ports.count < 2 * size { ports.insert(try SvcDNSProcess.freePort()) }
        let sorted = Array(ports)
        clientPorts = Array(sorted[0..<size])
        let peerPorts = Array(sorted[size...])
        folder = try TemporaryFolder()
        logFile = folder.path + "/etcd.log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let cluster = (0..<size).map { "m\($0)=http://127.0.0.1:\(peerPorts[$0])" }.joined(separator: ",")
        members = []
        for index in 0..<size {
            let client = "http://127.0.0.1:\(clientPorts[index])"
            let peer = "http://127.0.0.1:\(peerPorts[index])"
            let arguments = [
                "--name", "m\(index)", "--data-dir", folder.path + "/m\(index)",
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
            ]
            memberArguments.append(arguments)
            members.append(try Spawned(executable: try TestEtcd.executable(), arguments: arguments, log: logFile))
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if clientPorts.allSatisfy(TestEtcd.isHealthy(port:)) { return }
            usleep(100_000)
        }
        stop()
        throw Tool.Failure(description: "the etcd cluster did not become healthy within 30 s:\n\(output)")
    }

    public var output: String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// The index of the member that leads the cluster now, asking each live member's status; nil when none
    /// says it leads.
    public func leader() -> Int? {
        for (index, port) in clientPorts.enumerated() where members[index] != nil {
            guard let reply = try? TestHTTP.request("POST", "/v3/maintenance/status", port: port, body: "{}", timeout: 2),
                let json = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any],
                let header = json["header"] as? [String: Any], let me = header["member_id"] as? String,
                let leader = json["leader"] as? String
            else { continue }
            if me == leader { return index }
        }
        return nil
    }

    /// Kills member `index` at once (SIGKILL), as a machine failing would.
    public func kill(member index: Int) {
        guard let member = members[index] else { return }
        Glibc.kill(member.pid, SIGKILL)
        _ = member.waitForExit()
        members[index] = nil
    }

    /// How many watchers member `index` serves now (its `etcd_debugging_mvcc_watcher_total`); nil when it does
    /// not say.
    public func watchers(member index: Int) -> Int? {
        guard let reply = try? TestHTTP.request("GET", "/metrics", port: clientPorts[index], timeout: 2) else { return nil }
        let line = reply.body.split(separator: "\n").first { $0.hasPrefix("etcd_debugging_mvcc_watcher_total ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
    }

    /// Freezes member `index` (SIGSTOP), as a hung host would: its connections stay open and it says nothing.
    public func pause(member index: Int) {
        guard let member = members[index] else { return }
        Glibc.kill(member.pid, SIGSTOP)
    }

    /// Lets a frozen member run again (SIGCONT).
    public func resume(member index: Int) {
        guard let member = members[index] else { return }
        Glibc.kill(member.pid, SIGCONT)
    }

    /// Stops member `index` as an operator would (SIGTERM): a leader hands its leadership over first. Waits
    /// at most 10 s, then kills it.
    public func stop(member index: Int) {
        members[index]?.stop(within: 10)
        members[index] = nil
    }

    /// Starts a stopped or killed member again on its ports and data (it catches up from the others), and waits (at
    /// most 20 s) until it is healthy.
    public func restart(member index: Int) throws {
        guard members[index] == nil else { return }
        members[index] = try Spawned(executable: try TestEtcd.executable(), arguments: memberArguments[index], log: logFile)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if TestEtcd.isHealthy(port: clientPorts[index]) {
                return
            }
            usleep(100_000)
        }
        throw Tool.Failure(description: "etcd member \(index) did not come back within 20 s:\n\(output)")
    }

    public func stop() {
        for index in members.indices {
            guard let member = members[index], member.exitStatus() == nil else { continue }
            // A frozen member handles SIGTERM only once it runs again.
            Glibc.kill(member.pid, SIGCONT)
            Glibc.kill(member.pid, SIGTERM)
        }
        let deadline = Date().addingTimeInterval(5)
        for index in members.indices {
            guard let member = members[index] else { continue }
            while member.exitStatus() == nil && Date() < deadline { usleep(20_000) }
            if member.exitStatus() == nil {
                Glibc.kill(member.pid, SIGKILL)
                _ = member.waitForExit()
            }
        }
    }

    deinit {
        stop()
    }
}
