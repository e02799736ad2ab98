import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real `svcdns` binary, started on free loopback ports and stopped by the test that started it.
public final class SvcDNSProcess: @unchecked Sendable {
    public let dnsPort: Int
    public let httpPort: Int
    private let process: Process
    private let logFile: URL
    /// The store of this process, unless the test names one: tests never share or leave one behind.
    private let storeFolder: TemporaryFolder?

    /// The binary `scripts/test` built: `$SVCDNS_BIN`, else `svcdns` beside the test bundle.
    public static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SVCDNS_BIN"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("svcdns").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw Tool.Failure(description: "the svcdns binary is not built: run scripts/test, which builds it before testing")
    }

    /// Starts `svcdns serve --zones <zones>` plus `arguments` on 127.0.0.1 and waits until it answers DNS and
    /// HTTP (`/healthz`): the two listeners start side by side, and a test's first API call must not race them.
    public init(zones: String, arguments: [String] = [], domain: String = "cluster.local") throws {
        dnsPort = try Self.freePort()
        httpPort = try Self.freePort()
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("svcdns-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.binaryPath())
        // No test may reach the host's own resolver: without an upstream of the test's, forwarding is off.
        let namesUpstream = arguments.contains("--upstream") || arguments.contains("--resolv-conf")
        storeFolder = arguments.contains("--store") ? nil : try TemporaryFolder()
        let storeArguments = storeFolder.map { ["--store", $0.path] } ?? []
        process.arguments = [
            "serve", "--zones", zones, "--domain", domain, "--dns", "127.0.0.1:\(dnsPort)", "--http", "127.0.0.1:\(httpPort)",
        ] + (namesUpstream ? [] : ["--upstream", "none"]) + storeArguments + arguments
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try log.close()

        let probe = try LDNS.query("dns-version.\(domain)", "TXT")
        // How long starting takes is the machine's speed, not svcdns's behaviour: it stretches under a sanitizer.
        let startupLimit = TestSlowdown.scaled(15)
        let deadline = Date().addingTimeInterval(startupLimit)
        while Date() < deadline {
            guard process.isRunning else {
                throw Tool.Failure(description: "svcdns exited with \(process.terminationStatus):\n\(output)")
            }
            if (try? TestClient.udp(probe, port: dnsPort, timeout: 0.2)) ?? nil != nil,
                (try? TestHTTP.request("GET", "/healthz", port: httpPort, timeout: 0.5))?.status == 200
            {
                return
            }
            usleep(50_000)
        }
        stop()
        throw Tool.Failure(description: "svcdns did not answer DNS and /healthz within \(Int(startupLimit)) s:\n\(output)")
    }

    /// What the process wrote to stdout and stderr so far.
    public var output: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    public var isRunning: Bool { process.isRunning }

    /// Waits at most `seconds` for the process to exit; its exit status, or nil when it still runs.
    public func waitForExit(within seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The process id, for sending it signals.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Stops the process with SIGINT, at once (SIGTERM would wait out the lameduck period), SIGKILL after 5 s,
    /// and returns its exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: logFile)
    }

    /// Runs `svcdns serve` on `zones` until it exits, for tests of what stops startup: on free loopback ports,
    /// with a store of its own and no upstream, so a server that starts after all touches nothing of the host's
    /// (and is stopped at `timeout`).
    public static func serveUntilExit(zones: String, _ arguments: [String] = [], timeout: Double = 10) throws -> Tool.Result {
        let store = try TemporaryFolder()
        return try Tool.run(
            try binaryPath(),
            [
                "serve", "--zones", zones, "--upstream", "none", "--dns", "127.0.0.1:\(try freePort())",
                "--http", "127.0.0.1:\(try freePort())", "--store", store.path,
            ] + arguments,
            timeout: timeout
        )
    }

    /// A port free on 127.0.0.1 for both TCP and UDP at the time of asking.
    public static func freePort() throws -> Int {
        for _ in 0..<20 {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(tcp) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(tcp, $0, length) == 0 && getsockname(tcp, $0, &length) == 0
                }
            }
            guard bound else { continue }
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(udp) }
            let udpBound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, length) == 0 }
            }
            if udpBound { return Int(UInt16(bigEndian: address.sin_port)) }
        }
        throw Tool.Failure(description: "no free port on 127.0.0.1")
    }
}

/// A temporary folder of files, removed when the value goes away.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String

    /// In `base` when given (e.g. `/dev/shm`, for a store whose writes should take microseconds), else in the
    /// temporary directory.
    public init(files: [String: String] = [:], base: String? = nil) throws {
        let parent = base.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        path = parent.appendingPathComponent("svcdns-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            try write(name, text)
        }
    }

    public func write(_ name: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
