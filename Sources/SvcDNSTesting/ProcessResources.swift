import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a process holds, read from /proc and the kernel: memory, open-file limits, socket states. For the
/// tests that check no client can exhaust svcdns.
public enum ProcessResources {
    /// The process's resident memory now and at its peak (VmRSS, VmHWM of /proc/<pid>/status), in bytes.
    public static func memory(pid: Int32) throws -> (resident: Int, peak: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ field: String) throws -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) })
            else { throw TestFailure(description: "no \(field) in /proc/\(pid)/status") }
            return value * 1024
        }
        return (try kilobytes("VmRSS"), try kilobytes("VmHWM"))
    }

    /// The "Max open files" soft and hard limits of a running process (/proc/<pid>/limits).
    public static func openFileLimits(pid: Int32) throws -> (soft: Int, hard: Int) {
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) else {
            throw TestFailure(description: "no open-file limit in /proc/\(pid)/limits")
        }
        let values = line.dropFirst("Max open files".count).split(separator: " ", omittingEmptySubsequences: true)
        guard values.count >= 2, let soft = Int(values[0]), let hard = Int(values[1]) else {
            throw TestFailure(description: "unreadable limit line: \(line)")
        }
        return (soft, hard)
    }

    /// This process's open-file limits.
    public static func ownOpenFileLimits() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return (Int(clamping: limit.rlim_cur), Int(clamping: limit.rlim_max))
    }

    /// Sets this process's soft open-file limit (within the hard one). Processes started afterwards inherit it.
    public static func setOwnSoftOpenFileLimit(_ soft: Int) throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = rlim_t(soft)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw TestFailure(description: "setrlimit(RLIMIT_NOFILE, \(soft)): \(String(cString: strerror(errno)))")
        }
    }
}

extension TestClient.TCPConnection {
    /// Whether the server has closed (or reset) the connection, read from the kernel's TCP state: works when
    /// unread answers sit in the receive buffer, where reading would not reach the end of the stream.
    public var isClosedByServer: Bool {
        // tcp_info's first byte is the TCP state; 1 is ESTABLISHED (TCP_INFO is option 11 on Linux).
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), 11, &info, &length) == 0 else { return true }
        return info[0] != 1
    }
}
