// ProbeConnection: one probe's non-blocking socket, from connect to result: a TCP connect, or an HTTP/1.1 GET
// whose status line decides.

import ServiceModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One probe on a plain non-blocking socket, driven by the probe loop's readiness events.
///
/// A TCP probe is healthy when the connect succeeds (`SO_ERROR` 0 once the socket is writable). An HTTP probe
/// then writes `GET <path> HTTP/1.1` with `Connection: close` and reads only the status line: 2xx and 3xx are
/// healthy, as Kubernetes' httpGet probe counts them. Nothing else of the response is read.
///
/// Every socket closes with `SO_LINGER` 0 (an RST, not a FIN): the side that closes first keeps a connection in
/// TIME_WAIT for a minute, and thousands of endpoints probed every second would fill the table with them.
struct ProbeConnection {
    /// What the loop does next with this probe.
    enum Step: Equatable {
        /// Wait until the socket is writable (connecting, or the request not yet all written).
        case waitWritable
        /// Wait until the socket is readable (the status line not yet all read).
        case waitReadable
        /// The probe is over; the socket is closed.
        case finished(ProbeResult)
    }

    private enum Stage {
        case connecting
        case sending
        case reading
    }

    /// The longest status line read: a server sending more without a line end is not speaking HTTP.
    static let maxStatusLine = 512

    let fd: Int32
    let target: ProbeTarget
    private var stage = Stage.connecting
    private var request: [UInt8] = []
    private var sent = 0
    private var response: [UInt8] = []

    private init(fd: Int32, target: ProbeTarget) {
        self.fd = fd
        self.target = target
    }

    /// Opens a socket and starts connecting. The probe may be over at once (no socket to be had, a refusal the
    /// kernel knew at once): then the connection is nil.
    static func open(_ target: ProbeTarget) -> (ProbeConnection?, Step) {
        let family = target.endpoint.address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            return (nil, .finished(.unhealthy(reason: ProbeFailure.reason(errno: errno, timeout: target.timeout))))
        }
        var connection = ProbeConnection(fd: fd, target: target)
        let result = withSocketAddress(of: target) { address, length in connect(fd, address, length) }
        if result == 0 {
            let step = connection.connected()
            return (connection.isOpen(after: step) ? connection : nil, step)
        }
        let error = errno
        guard error == EINPROGRESS else {
            return (nil, connection.finish(.unhealthy(reason: ProbeFailure.reason(errno: error, timeout: target.timeout))))
        }
        return (connection, .waitWritable)
    }

    /// The socket is ready (or has an error or hang-up pending): moves the probe on as far as it can go.
    mutating func ready() -> Step {
        switch stage {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
                return finish(.unhealthy(reason: ProbeFailure.reason(errno: errno, timeout: target.timeout)))
            }
            guard error == 0 else {
                return finish(.unhealthy(reason: ProbeFailure.reason(errno: error, timeout: target.timeout)))
            }
            return connected()
        case .sending:
            return send()
        case .reading:
            return read()
        }
    }

    /// The probe's time is up: closes the socket.
    mutating func timedOut() -> Step {
        finish(.unhealthy(reason: ProbeFailure.timedOut(after: target.timeout)))
    }

    /// Closes the socket without a result (the checker stopped, or the endpoint went away).
    func abandon() {
        Self.closeWithReset(fd)
    }

    private func isOpen(after step: Step) -> Bool {
        if case .finished = step { return false }
        return true
    }

    private mutating func connected() -> Step {
        guard case .http(let path) = target.kind else {
            return finish(.healthy)
        }
        // Validation keeps spaces and line ends out of the path; any other control byte would make the request
        // line something else, so it is refused here too.
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            return finish(.unhealthy(reason: "health path is not a valid HTTP path"))
        }
        request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(Self.hostHeader(target))\r\nUser-Agent: svcdns-health\r\nConnection: close\r\n\r\n"
                .utf8)
        stage = .sending
        return send()
    }

    private mutating func send() -> Step {
        while sent < request.count {
            let written = request.withUnsafeBytes { bytes in
                Glibc.send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                let error = errno
                if error == EAGAIN || error == EWOULDBLOCK { return .waitWritable }
                if error == EINTR { continue }
                return finish(.unhealthy(reason: ProbeFailure.reason(errno: error, timeout: target.timeout)))
            }
            sent += written
        }
        stage = .reading
        return read()
    }

    private mutating func read() -> Step {
        var buffer = [UInt8](repeating: 0, count: Self.maxStatusLine)
        while true {
            let room = Self.maxStatusLine - response.count
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, room, 0) }
            if count < 0 {
                let error = errno
                if error == EAGAIN || error == EWOULDBLOCK { return .waitReadable }
                if error == EINTR { continue }
                return finish(.unhealthy(reason: ProbeFailure.reason(errno: error, timeout: target.timeout)))
            }
            if count == 0 {
                return finish(.unhealthy(reason: "connection closed before a response"))
            }
            response += buffer[0..<count]
            if let end = response.firstIndex(of: UInt8(ascii: "\n")) {
                return finish(Self.result(ofStatusLine: response[..<end]))
            }
            if response.count >= Self.maxStatusLine {
                return finish(.unhealthy(reason: "bad HTTP response: no status line in \(Self.maxStatusLine) bytes"))
            }
        }
    }

    private func finish(_ result: ProbeResult) -> Step {
        Self.closeWithReset(fd)
        return .finished(result)
    }

    /// `HTTP/1.x NNN ...`: healthy for 200-399, else unhealthy with the code; anything else is not HTTP.
    static func result(ofStatusLine line: ArraySlice<UInt8>) -> ProbeResult {
        let bytes = Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        let prefix = Array("HTTP/1.".utf8)
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard bytes.count >= 12, bytes.starts(with: prefix), digits.contains(bytes[7]), bytes[8] == UInt8(ascii: " "),
            bytes[9..<12].allSatisfy(digits.contains), bytes.count == 12 || bytes[12] == UInt8(ascii: " ")
        else {
            return .unhealthy(reason: "bad HTTP response: not an HTTP/1 status line")
        }
        let code = bytes[9..<12].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return (200..<400).contains(code) ? .healthy : .unhealthy(reason: "HTTP \(code)")
    }

    /// `Host: address:port`, with IPv6 addresses in brackets (RFC 7230 §5.4, RFC 3986 §3.2.2).
    static func hostHeader(_ target: ProbeTarget) -> String {
        switch target.endpoint.address {
        case .v4: "\(target.endpoint.address):\(target.port)"
        case .v6: "[\(target.endpoint.address)]:\(target.port)"
        }
    }

    private static func closeWithReset(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    /// Calls `body` with the target's address and port as a `sockaddr_in` or `sockaddr_in6`.
    private static func withSocketAddress<Result>(
        of target: ProbeTarget, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
    ) -> Result {
        let port = UInt16(truncatingIfNeeded: target.port).bigEndian
        switch target.endpoint.address {
        case .v4(let value):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port
            address.sin_addr.s_addr = value.bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let high, let low):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port
            withUnsafeMutableBytes(of: &address.sin6_addr) { bytes in
                bytes.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}
