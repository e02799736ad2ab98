import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real secondary server from Debian, NSD or Knot, on 127.0.0.1 and a free port (UDP and TCP): it transfers
/// its zones from a primary on loopback (AXFR first, then IXFR) and takes NOTIFY from 127.0.0.1, so tests can
/// check what svcdns serves as a primary against two independent implementations. Its config, database,
/// journal, timers, pid file and log live in a temporary folder; it runs in the foreground as the current user
/// and is stopped by `stop()` or when the value goes.
///
/// NSD serves a change a few milliseconds after the primary's NOTIFY. Knot 3.2 can take up to about a second:
/// it plans zone events in whole seconds and resets its timer only when the earliest planned second changes,
/// so a NOTIFY that lands in the second of an event already planned (its own NOTIFY round, one second after
/// each transfer; a retry) waits for that event's timer.
public final class TestSecondary: @unchecked Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case nsd, knot
    }

    public let kind: Kind
    public let port: Int
    private let folder: TemporaryFolder
    private let process: Spawned
    private let streamsFile: String

    /// Writes a config for `zones` (absolute names, "example.test.") into a temporary folder, starts the server
    /// on a free port and waits (at most 10 s) until it answers queries. It need not have the zones yet: a
    /// primary that is not up yet is retried every 2 s, and its NOTIFY starts a transfer at once.
    public init(kind: Kind, zones: [String], primaryPort: Int, primaryAddress: String = "127.0.0.1") throws {
        self.kind = kind
        port = try SvcDNSProcess.freePort()
        folder = try TemporaryFolder()
        let configuration = Self.configuration(
            kind: kind, zones: zones, port: port, primaryAddress: primaryAddress, primaryPort: primaryPort,
            folder: folder.path
        )
        let configFile = folder.path + "/" + Self.configName(kind)
        try folder.write(Self.configName(kind), configuration)
        let probe = try LDNS.query(zones.first ?? ".", "SOA", recursionDesired: false)
        streamsFile = folder.path + "/server.out"
        FileManager.default.createFile(atPath: streamsFile, contents: nil)

        // Both stay in the foreground: NSD with -d, knotd unless given -d.
        let arguments = kind == .nsd ? ["-d", "-c", configFile] : ["-c", configFile]
        process = try Spawned(
            executable: Self.executable(kind == .nsd ? "nsd" : "knotd"), arguments: arguments, log: streamsFile
        )

        // Any answer will do (SERVFAIL while a zone is not transferred yet): the server is listening.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let status = process.exitStatus() {
                throw Tool.Failure(description: "\(kind.rawValue) exited with \(status):\n\(log)")
            }
            if let reply = try? TestClient.udp(probe, port: port, timeout: 0.2), (try? LDNS.decode(reply)) != nil {
                return
            }
            usleep(50_000)
        }
        stop()
        throw Tool.Failure(description: "\(kind.rawValue) did not answer on 127.0.0.1:\(port) within 10 s:\n\(log)")
    }

    /// The configuration file's name in the folder.
    static func configName(_ kind: Kind) -> String {
        kind == .nsd ? "nsd.conf" : "knot.conf"
    }

    /// The configuration of a `kind` secondary of `zones` on 127.0.0.1:`port` whose files are all in `folder`.
    /// Public so that a test can hand it to the server's own checker (`nsd-checkconf`, `knotc conf-check`).
    public static func configuration(
        kind: Kind, zones: [String], port: Int, primaryAddress: String, primaryPort: Int, folder: String
    ) -> String {
        // NOTIFY comes from the primary's address; 127.0.0.1 is always allowed, for a primary that sends
        // from the default source address whatever it listens on.
        let notifiers = primaryAddress == "127.0.0.1" ? ["127.0.0.1"] : ["127.0.0.1", primaryAddress]
        switch kind {
        case .nsd:
            return nsdConfiguration(
                zones: zones, port: port, primary: "\(primaryAddress)@\(primaryPort)", notifiers: notifiers,
                folder: folder
            )
        case .knot:
            return knotConfiguration(
                zones: zones, port: port, primary: "\(primaryAddress)@\(primaryPort)", notifiers: notifiers,
                folder: folder
            )
        }
    }

    private static func nsdConfiguration(
        zones: [String], port: Int, primary: String, notifiers: [String], folder: String
    ) -> String {
        let zoneClauses = zones.map { "zone:\n    name: \"\($0)\"\n    include-pattern: \"secondary\"\n" }
        let allowNotify = notifiers.map { "    allow-notify: \($0) NOKEY" }.joined(separator: "\n")
        // Verbosity 2 logs each transfer and NOTIFY, for failure messages. By default xfrd waits up to 1 s after
        // one reload before the next: a transfer right after the first one would be served a second late, and
        // tests measure how soon changes arrive.
        let server = TestUpstream.serverClause(port: port, folder: folder, verbosity: 2, extra: ["xfrd-reload-timeout: 0"])
        return """
            \(server)
            pattern:
                name: "secondary"
                # AXFR for the first transfer, IXFR after (request-xfr without the AXFR flag).
                request-xfr: \(primary) NOKEY
            \(allowNotify)
                # NOTIFY drives transfers; the timers are the fallback. A first transfer that fails (the primary
                # not up yet) is retried after 10 s, then later and later, unless max-retry-time caps it.
                min-refresh-time: 1
                min-retry-time: 1
                max-retry-time: 2
            \(zoneClauses.joined())
            """
    }

    private static func knotConfiguration(
        zones: [String], port: Int, primary: String, notifiers: [String], folder: String
    ) -> String {
        let zoneEntries = zones.map { "  - domain: \"\($0)\"" }.joined(separator: "\n")
        let notifyAddresses = notifiers.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            server:
                listen: 127.0.0.1@\(port)
                rundir: "\(folder)"
                pidfile: "\(folder)/knot.pid"
            database:
                # The journal, timer, KASP and catalog databases.
                storage: "\(folder)"
            log:
              - target: "\(folder)/knot.log"
                any: info
            remote:
              - id: primary
                address: \(primary)
            acl:
              - id: notify-from-primary
                address: [\(notifyAddresses)]
                action: notify
            template:
              - id: default
                storage: "\(folder)"
                # `master`: the only name Knot has for it (3.2 rejects `primary` as an invalid item).
                master: primary
                acl: notify-from-primary
                # Never written back: each test starts from nothing.
                zonefile-sync: -1
                # NOTIFY drives transfers; the timers are the fallback. 2 s is the least refresh Knot allows.
                # A first transfer that fails (the primary not up yet) is retried after 15–30 s, then later and
                # later, unless retry-max-interval caps it.
                refresh-min-interval: 2
                retry-min-interval: 1
                retry-max-interval: 2
            zone:
            \(zoneEntries)

            """
    }

    /// A server program on PATH, else where Debian installs it (/usr/sbin is not on every PATH).
    public static func executable(_ name: String) -> String {
        if let path = try? Tool.resolve(name) { return path }
        return "/usr/sbin/" + name
    }

    /// What the server wrote to stdout, stderr and its log file so far.
    public var log: String {
        let streams = (try? String(contentsOfFile: streamsFile, encoding: .utf8)) ?? ""
        let file = folder.path + (kind == .nsd ? "/nsd.log" : "/knot.log")
        return streams + ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
    }

    /// The SOA serial this secondary serves for `zone` now; nil while it has none (SERVFAIL, REFUSED, no
    /// answer within 0.5 s).
    public func serial(of zone: String) -> UInt32? {
        Self.serial(of: zone, port: port, timeout: 0.5)
    }

    /// The SOA serial a server on 127.0.0.1:`port` answers authoritatively for `zone` (a primary as well as a
    /// secondary); nil for any other answer or none within `timeout` seconds.
    public static func serial(of zone: String, port: Int, timeout: Double = 0.5) -> UInt32? {
        guard let query = try? LDNS.query(zone, "SOA", recursionDesired: false),
            let reply = try? TestClient.udp(query, port: port, timeout: timeout),
            let decoded = try? LDNS.decode(reply), decoded.rcodeName == "NOERROR", decoded.authoritative
        else { return nil }
        let owner = zone.hasSuffix(".") ? zone.lowercased() : zone.lowercased() + "."
        for line in decoded.answer {
            // libldns prints "owner TTL class SOA mname rname serial refresh retry expire minimum".
            let fields = line.split(separator: " ")
            if fields.count == 11, fields[3] == "SOA", fields[0].lowercased() == owner {
                return UInt32(fields[6])
            }
        }
        return nil
    }

    /// Polls the served serial of `zone` every 10 ms until it reaches `serial` (in serial number arithmetic,
    /// RFC 1982, so a serial that wrapped past 2^32 counts as later) and returns how long that took; nil when
    /// `seconds` pass first or the server has exited.
    public func waitForSerial(of zone: String, atLeast serial: UInt32, seconds: Double) -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        // Every round sleeps 10 ms, so the count runs out no sooner than the time.
        for _ in 0...Int(seconds * 100) {
            if let current = Self.serial(of: zone, port: port, timeout: 0.1),
                Int32(bitPattern: current &- serial) >= 0
            {
                return clock.now - start
            }
            if clock.now >= deadline || process.exitStatus() != nil { break }
            usleep(10_000)
        }
        return nil
    }

    /// Stops the server with SIGTERM (SIGKILL after 5 s, to NSD's child processes too) and waits for it. Safe
    /// to call more than once.
    public func stop() {
        process.stopWithChildren(within: 5)
    }

    deinit {
        stop()
    }
}
