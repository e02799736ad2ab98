import NIOCore

/// A resolver names outside svcdns's zones are forwarded to (`--upstream ADDR[:PORT]`).
public struct Upstream: Hashable, Sendable, CustomStringConvertible {
    public let address: SocketAddress

    public init(address: SocketAddress) {
        self.address = address
    }

    /// Parses `10.0.0.2`, `10.0.0.2:5353`, `::1`, `[::1]:5353`; the port defaults to 53. Nil for anything else.
    public init?(_ text: String) {
        var host = text
        var port = 53
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()) else { return nil }
                port = parsed
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let parsed = Int(text[text.index(after: colon)...]) else { return nil }
            port = parsed
        }
        guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: host, port: port) else { return nil }
        self.address = address
    }

    public var description: String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// The `nameserver` lines of a resolv.conf file (resolv.conf(5)), in order.
public enum ResolvConf {
    public static func nameservers(in text: String) -> [Upstream] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            // A scope suffix (fe80::1%eth0) is dropped: svcdns forwards over its default route.
            return Upstream(String(fields[1].split(separator: "%")[0]))
        }
    }
}
