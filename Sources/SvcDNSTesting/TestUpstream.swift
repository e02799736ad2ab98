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
    private let process: Spawned
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
    /// namespace. `zoneOptions` are lines added to the zone clause: `provide-xfr` and `notify` make this NSD
    /// the primary of secondaries under test.
    public static func configuration(origin: String, port: Int, folder: String, zoneOptions: [String] = []) -> String {
        """
        # NSD answers on UDP and on TCP at every ip-address: TCP is where truncated answers are fetched.
        \(serverClause(port: port, folder: folder))
        zone:
            name: "\(origin)"
            zonefile: "\(folder)/zone"
        \(zoneOptions.map { "    " + $0 + "\n" }.joined())
        """
    }

    /// NSD's `server` and `remote-control` clauses for a server on 127.0.0.1:`port` whose files are all in
    /// `folder`, with `extra` lines added to `server` (`TestSecondary` shares it).
    static func serverClause(port: Int, folder: String, verbosity: Int = 1, extra: [String] = []) -> String {
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
            verbosity: \(verbosity)
            hide-version: no
            # Debian's NSD is built with rate limiting on (200 qps a source): off, tests send bursts.
            rrl-ratelimit: 0
            rrl-whitelist-ratelimit: 0
            rrl-size: 1024
        \(extra.map { "    " + $0 + "\n" }.joined())remote-control:
            control-enable: no
        """
    }

    /// Writes the zone and a config into a temporary folder, starts `nsd -d -c` on `port` (a free one when nil)
    /// and waits (at most 10 s) until it answers the zone's SOA. `zoneOptions`: see `configuration`.
    public init(zone: String, origin: String, port requestedPort: Int? = nil, zoneOptions: [String] = []) throws {
        port = try requestedPort ?? SvcDNSProcess.freePort()
        folder = try TemporaryFolder()
        try folder.write("zone", zone)
        try folder.write(
            "nsd.conf",
            Self.configuration(origin: origin, port: port, folder: folder.path, zoneOptions: zoneOptions)
        )
        logFile = folder.path + "/nsd.out"
        FileManager.default.createFile(atPath: logFile, contents: nil)

        process = try Spawned(
            executable: try Tool.resolve(Self.executable()), arguments: ["-d", "-c", folder.path + "/nsd.conf"],
            log: logFile
        )

        let probe = try LDNS.query(origin, "SOA", recursionDesired: false)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let status = process.exitStatus() {
                throw Tool.Failure(description: "nsd exited with \(status):\n\(output)")
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

    /// Replaces the zone file and makes NSD read it (SIGHUP). NSD compares the file's mtime to nanoseconds, so a
    /// rewrite within the second of the last load counts too. A primary then sends NOTIFY to its secondaries.
    /// Returns at once: a caller waits for the new serial.
    public func replaceZone(_ zone: String) throws {
        try folder.write("zone", zone)
        kill(process.pid, SIGHUP)
    }

    /// Stops NSD with SIGTERM (SIGKILL after 5 s, to its child processes too) and waits for it. Safe to call
    /// more than once.
    public func stop() {
        process.stopWithChildren(within: 5)
    }

    deinit {
        stop()
    }
}

/// A child process started with `posix_spawn`, with no file descriptors but 0–2 inherited, every signal
/// unblocked and SIGTERM, SIGINT, SIGHUP and SIGPIPE at their defaults. Foundation's `Process` passes on the
/// test process's signal mask, in which SIGTERM is blocked (seen on this Linux: SigBlk fffffffe3bfbea27 in the
/// child), and NSD never unblocks it: SIGTERM would never reach it.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` with `arguments`, stdin from /dev/null and stdout and stderr appended to `log`.
    init(executable: String, arguments: [String], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else is inherited: an open pipe or socket of this process held by NSD would keep whoever
        // waits on its other end (Foundation's `Process` watches a socket pair) waiting as long as NSD runs.
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw Tool.Failure(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// The exit status (or 128 + signal) once the process has ended, nil while it runs. Reaps it.
    func exitStatus() -> Int32? {
        lock.withLock {
            if status == nil {
                var raw: Int32 = 0
                let result = waitpid(pid, &raw, WNOHANG)
                if result == pid {
                    status = Self.decode(raw)
                } else if result == -1 && errno == ECHILD {
                    status = -1  // reaped elsewhere: gone all the same
                }
            }
            return status
        }
    }

    /// Waits until the process has ended and returns its status.
    /// Asks the process to stop (SIGTERM) and waits up to `seconds` for it; whether it stopped. A caller
    /// kills what is still running.
    func terminate(within seconds: Double) -> Bool {
        guard exitStatus() == nil else { return true }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while exitStatus() == nil && Date() < deadline { usleep(20_000) }
        return exitStatus() != nil
    }

    /// SIGTERM, then SIGKILL after `seconds`; waits for the exit either way.
    func stop(within seconds: Double) {
        if !terminate(within: seconds) { kill(pid, SIGKILL) }
        _ = waitForExit()
    }

    /// As `stop(within:)`, for a server that forks workers (NSD): SIGKILL goes to its children too, which would
    /// otherwise live on holding the port.
    func stopWithChildren(within seconds: Double) {
        guard !terminate(within: seconds) else { return }
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGKILL) }
        kill(pid, SIGKILL)
        _ = waitForExit()
    }

    func waitForExit() -> Int32 {
        lock.withLock {
            if let status { return status }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, 0) } while result == -1 && errno == EINTR
            status = result == pid ? Self.decode(raw) : -1
            return status!
        }
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7F
        return signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
    }
}
