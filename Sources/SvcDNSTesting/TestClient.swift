#if canImport(Glibc)
import Glibc
#endif

/// A plain-socket DNS client for tests: blocking calls with timeouts, so no test waits forever.
public enum TestClient {
    public typealias Failure = TestFailure

    /// Sends one datagram and returns the reply, or nil when none came within `timeout` seconds.
    public static func udp(_ message: [UInt8], host: String = "127.0.0.1", port: Int, timeout: Double = 2) throws -> [UInt8]? {
        let (family, address) = try socketAddress(host: host, port: port)
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        setTimeout(fd, timeout)
        let sent = address.withUnsafeBytes { raw in
            message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count)) }
        }
        guard sent == message.count else { throw Failure(description: "sendto: \(String(cString: strerror(errno)))") }
        var buffer = [UInt8](repeating: 0, count: 65535)
        let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard received >= 0 else { return nil }
        return Array(buffer[0..<received])
    }

    /// A UDP socket talking to one server, for tests that need several datagrams on one source port.
    public final class UDPSocket {
        let fd: Int32
        let address: [UInt8]

        /// `source`: the local address to send from (another loopback address plays another client).
        public init(host: String = "127.0.0.1", port: Int, timeout: Double = 2, source: String? = nil) throws {
            let (family, address) = try socketAddress(host: host, port: port)
            self.address = address
            fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
            setTimeout(fd, timeout)
            // deinit closes the socket if this throws.
            if let source { try bind(fd, to: source) }
        }

        deinit { close(fd) }

        public func send(_ message: [UInt8]) throws {
            let sent = address.withUnsafeBytes { raw in
                message.withUnsafeBytes {
                    sendto(fd, $0.baseAddress, $0.count, 0, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
                }
            }
            guard sent == message.count else { throw Failure(description: "sendto: \(String(cString: strerror(errno)))") }
        }

        /// The next datagram, or nil when none comes within the timeout.
        public func receive() -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: 65535)
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return received >= 0 ? Array(buffer[0..<received]) : nil
        }
    }

    /// An open TCP connection to a DNS server.
    public final class TCPConnection {
        let fd: Int32

        /// `source`: the local address to connect from (another loopback address plays another client).
        /// `receiveBuffer`: the socket's receive buffer in bytes (the kernel doubles it), set before connecting so
        /// the window offered is that small: a client that stops reading then holds up the server's writes soon.
        public init(
            host: String = "127.0.0.1", port: Int, timeout: Double = 2, source: String? = nil, receiveBuffer: Int32? = nil
        ) throws {
            let (family, address) = try socketAddress(host: host, port: port)
            fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
            setTimeout(fd, timeout)
            if var receiveBuffer {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
            }
            // deinit closes the socket if this throws.
            if let source { try bind(fd, to: source) }
            let result = address.withUnsafeBytes { raw in
                connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
            guard result == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw Failure(description: "connect: \(reason)")
            }
        }

        deinit { close(fd) }

        /// Writes raw bytes (frames are the caller's business: see `frame`).
        public func send(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
                offset += written
            }
        }

        /// Reads one length-prefixed message; nil on EOF or timeout.
        public func receiveMessage() -> [UInt8]? {
            guard let prefix = receiveExactly(2) else { return nil }
            return receiveExactly(Int(prefix[0]) << 8 | Int(prefix[1]))
        }

        /// Everything until the server closes the connection (or the timeout passes).
        public func receiveAll() -> [UInt8] {
            var result: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            for _ in 0..<1024 {
                let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard received > 0 else { break }
                result += chunk[0..<received]
            }
            return result
        }

        /// True when the server closed (EOF) or reset the connection before `timeout`; false on data or timeout.
        public func waitForClose() -> Bool {
            var byte: UInt8 = 0
            let received = recv(fd, &byte, 1, 0)
            // A reset is a close too: svcdns resets the connections it closes to make room at a cap.
            return received == 0 || (received < 0 && errno == ECONNRESET)
        }

        /// Closes the sending side, as a client that has sent its last query does.
        public func finishSending() {
            shutdown(fd, Int32(SHUT_WR))
        }

        private func receiveExactly(_ count: Int) -> [UInt8]? {
            var result = [UInt8](repeating: 0, count: count)
            var offset = 0
            while offset < count {
                let received = result[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard received > 0 else { return nil }
                offset += received
            }
            return result
        }
    }

    /// Prefixes a message with its two-byte length (RFC 1035 §4.2.2).
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    /// One query over a new TCP connection.
    public static func tcp(_ message: [UInt8], host: String = "127.0.0.1", port: Int, timeout: Double = 2) throws -> [UInt8]? {
        let connection = try TCPConnection(host: host, port: port, timeout: timeout)
        try connection.send(frame(message))
        return connection.receiveMessage()
    }

    /// Binds `fd` to `source` (port 0): another loopback address plays another client.
    static func bind(_ fd: Int32, to source: String) throws {
        let (_, local) = try socketAddress(host: source, port: 0)
        let bound = local.withUnsafeBytes { raw in
            Glibc.bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard bound == 0 else { throw Failure(description: "bind \(source): \(String(cString: strerror(errno)))") }
    }

    static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func socketAddress(host: String, port: Int) throws -> (Int32, [UInt8]) {
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw Failure(description: "bad address \(host)") }
            return (AF_INET6, withUnsafeBytes(of: address) { Array($0) })
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure(description: "bad address \(host)") }
        return (AF_INET, withUnsafeBytes(of: address) { Array($0) })
    }
}
