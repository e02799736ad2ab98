import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real authoritative DNS server from Debian, NSD, serving one zone on 127.0.0.1 and a free port, UDP and
/// TCP: the upstream svcdns forwards to in tests. Its config, zone file, pid file, xfrd state and log live in
/// a temporary folder; it runs in the foreground (`nsd -d`) and is stopped by `stop()` or when the value goes.
public final class TestUpstream: @unchecked Sendable {
    public let port: Int
    private let folder: TemporaryFolder
    private let process: Process
    private let logFile: String

    /// The zone `testZone` is written for.
    public static let testOrigin = "upstream.test."

    /// A zone for `upstream.test.`: `www` has one address, `big` has 100 (more than fit a UDP answer, even
    /// with EDNS at 1232 bytes, so the upstream sets TC and the answer must be fetched over TCP).
    public static let testZone: String = {
        var lines = [
            "$ORIGIN upstream.test.",
            "$TTL 300",
            "@ IN SOA ns1.upstream.test. hostmaster.upstream.test. 2026 3600 900 604800 30",
            "@ IN NS ns1.upstream.test.",
            "@ IN MX 10 mail.upstream.test.",
            "@ IN TXT \"svcdns test upstream\"",
            "ns1 IN A 127.0.10.53",
            "mail IN A 127.0.10.25",
            "www IN A 127.0.10.1",
        ]
        lines += (1...100).map { "big IN A 127.0.12.\($0)" }
        return lines.joined(separator: "\n") + "\n"
    }()

    /// The NSD configuration for a server of `origin` on 127.0.0.1:`port` whose files are all in `folder`
    /// (the zone in `zone`, the log in `nsd.log`). Also used by tests that start NSD themselves, inside a
    /// namespace.
    public static func configuration(origin: String, port: Int, folder: String) -> String {
        """
        server:
            ip-address: 127.0.0.1
            port: \(port)
            do-ip4: yes
            do-ip6: no
            server-count: 1
            reuseport: no
            username: ""
            chroot: ""
            zonesdir: "\(folder)"
            database: ""
            zonelistfile: "\(folder)/zone.list"
            pidfile: "\(folder)/nsd.pid"
            xfrdfile: "\(folder)/xfrd.state"
            xfrdir: "\(folder)"
            logfile: "\(folder)/nsd.log"
            zonefiles-write: 0
            verbosity: 1
            hide-version: no
            rrl-ratelimit: 0
            rrl-whitelist-ratelimit: 0
            rrl-size: 1024
        remote-control:
            control-enable: no
        zone:
            name: "\(origin)"
            zonefile: "\(folder)/zone"

        """
    }

    /// Writes the zone and a config into a temporary folder, starts `nsd -d -c` on a free port and waits (at
    /// most 10 s) until it answers the zone's SOA.
    public init(zone: String, origin: String) throws {
        port = try SvcDNSProcess.freePort()
        folder = try TemporaryFolder()
        try folder.write("zone", zone)
        try folder.write("nsd.conf", Self.configuration(origin: origin, port: port, folder: folder.path))
        logFile = folder.path + "/nsd.out"
        FileManager.default.createFile(atPath: logFile, contents: nil)

        process = Process()
        process.executableURL = URL(fileURLWithPath: try Tool.resolve(Self.executable()))
        process.arguments = ["-d", "-c", folder.path + "/nsd.conf"]
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try log.close()

        let probe = try LDNS.query(origin, "SOA", recursionDesired: false)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else {
                process.waitUntilExit()
                throw Tool.Failure(description: "nsd exited with \(process.terminationStatus):\n\(output)")
            }
            if let reply = try? TestClient.udp(probe, port: port, timeout: 0.2), let decoded = try? LDNS.decode(reply),
                decoded.rcodeName == "NOERROR", !decoded.answer.isEmpty
            {
                return
            }
            usleep(50_000)
        }
        stop()
        throw Tool.Failure(description: "nsd did not answer \(origin) SOA on 127.0.0.1:\(port) within 10 s:\n\(output)")
    }

    /// NSD on PATH, else where Debian installs it (/usr/sbin is not on every PATH).
    public static func executable() -> String {
        if let path = try? Tool.resolve("nsd") { return path }
        return "/usr/sbin/nsd"
    }

    /// What NSD wrote to stdout, stderr and its log file so far.
    public var output: String {
        let streams = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        let log = (try? String(contentsOfFile: folder.path + "/nsd.log", encoding: .utf8)) ?? ""
        return streams + log
    }

    /// Stops NSD with SIGTERM (SIGKILL after 5 s, to its child processes too) and waits for it. Safe to call
    /// more than once.
    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                let pid = process.processIdentifier
                let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
                for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGKILL) }
                kill(pid, SIGKILL)
            }
        }
        process.waitUntilExit()
    }

    deinit {
        stop()
    }
}
