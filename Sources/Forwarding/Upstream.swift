import DNSMessage
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

/// A zone whose names go to upstreams of its own (`--forward ZONE=ADDR[:PORT][,ADDR…]`), as CoreDNS's stub
/// domains: `consul=127.0.0.1:8600` sends `web.service.consul.` there, and no other name.
public struct StubDomain: Hashable, Sendable, CustomStringConvertible {
    public let zone: DomainName
    public let upstreams: [Upstream]

    /// At most this many upstreams per zone: more could never be tried within one question's deadline.
    public static let maxUpstreams = 16

    public init(zone: DomainName, upstreams: [Upstream]) {
        self.zone = zone
        self.upstreams = upstreams
    }

    /// Parses `ZONE=ADDR[:PORT][,ADDR[:PORT]…]`; throws the reason it cannot.
    public init(parsing text: String) throws(StubDomainError) {
        guard let equals = text.firstIndex(of: "=") else { throw StubDomainError("expected ZONE=ADDR[:PORT][,ADDR…]") }
        let zoneText = String(text[..<equals])
        guard !zoneText.isEmpty, let zone = DomainName(zoneText) else {
            throw StubDomainError("\"\(zoneText)\" is not a domain name")
        }
        let addresses = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
        guard (1...Self.maxUpstreams).contains(addresses.count) else {
            throw StubDomainError("\(addresses.count) upstreams, 1 to \(Self.maxUpstreams)")
        }
        var upstreams: [Upstream] = []
        for address in addresses {
            guard let upstream = Upstream(String(address)) else {
                throw StubDomainError("\"\(address)\" is not ADDR[:PORT] or [IPv6]:PORT")
            }
            if !upstreams.contains(upstream) { upstreams.append(upstream) }
        }
        self.init(zone: zone, upstreams: upstreams)
    }

    /// True when `key` (a lookup key) is the zone's or a name below it.
    func contains(_ key: [UInt8]) -> Bool {
        DomainName.key(key, isAtOrBelow: zone.lookupKey)
    }

    public var description: String { "\(zone)=\(upstreams.map(\.description).joined(separator: ","))" }
}

public struct StubDomainError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
