// IPAddress: an IPv4 or IPv6 address parsed strictly from text, with the text forms DNS names need.

/// An IPv4 or IPv6 address.
///
/// Parsing follows `inet_pton`: dotted-quad IPv4 without leading zeros, and IPv6 with at most one `::` and an
/// optional trailing dotted quad. Zone ids (`%eth0`), brackets and prefixes are rejected, because a Kubernetes
/// address field never holds them. Ordering puts every IPv4 address before every IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// An IPv4 address in host order: `10.0.0.1` is `0x0A00_0001`.
    case v4(UInt32)
    /// An IPv6 address as its high and low 64 bits.
    case v6(UInt64, UInt64)

    /// Parses an address; `nil` for anything `inet_pton` would reject.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        if let value = Self.parseIPv4(bytes[...]) {
            self = .v4(value)
        } else if let (high, low) = Self.parseIPv6(bytes[...]) {
            self = .v6(high, low)
        } else {
            return nil
        }
    }

    /// Parses the dashed form a DNS label carries (`10-244-1-7`, `fd00--1`); `nil` for anything else.
    ///
    /// Any valid address written with `-` for its separators is accepted, not only the canonical one, because
    /// clients build pod names from addresses themselves. Hex digits may be in either case, as DNS names are.
    public init?(dashed: String) {
        let bytes = Array(dashed.utf8)
        guard bytes.allSatisfy({ $0 == UInt8(ascii: "-") || Self.hexValue($0) != nil }) else { return nil }
        let dash = UInt8(ascii: "-")
        if let value = Self.parseIPv4(bytes.map { $0 == dash ? UInt8(ascii: ".") : $0 }[...]) {
            self = .v4(value)
        } else if let (high, low) = Self.parseIPv6(bytes.map { $0 == dash ? UInt8(ascii: ":") : $0 }[...]) {
            self = .v6(high, low)
        } else {
            return nil
        }
    }

    /// The address family.
    public var family: IPFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// The canonical text: dotted quad, or IPv6 as RFC 5952 §4 writes it (lower case, no leading zeros, the
    /// longest run of two or more zero groups as `::`). IPv4-mapped addresses end in a dotted quad (RFC 5952 §5).
    public var description: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value)
        case .v6(let high, let low):
            if high == 0, low >> 32 == 0xffff {
                return "::ffff:" + Self.dottedQuad(UInt32(truncatingIfNeeded: low))
            }
            return Self.compressedHex(high, low)
        }
    }

    /// The address as one DNS label: `10-244-1-7`, or the IPv6 hex form with `-` for `:` (`2001-db8--1`).
    ///
    /// IPv4-mapped IPv6 addresses stay in hex here (`--ffff-a00-1`), since the dots of their usual text
    /// would split the label.
    public var dashed: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value).replacingDots(with: "-")
        case .v6(let high, let low):
            return String(Self.compressedHex(high, low).map { $0 == ":" ? "-" : $0 })
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        case (.v6(let aHigh, let aLow), .v6(let bHigh, let bLow)): (aHigh, aLow) < (bHigh, bLow)
        }
    }
}

extension IPAddress {
    private static func dottedQuad(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }

    private static func compressedHex(_ high: UInt64, _ low: UInt64) -> String {
        let groups =
            (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
        // RFC 5952 §4.2: compress the longest run of zero groups, the first one on a tie, and never a lone zero.
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < groups.count, groups[index] == 0 { index += 1 }
            if index - start > bestLength {
                bestStart = start
                bestLength = index - start
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    /// `inet_pton(AF_INET)`: exactly four decimal parts 0-255, no leading zeros, nothing else.
    fileprivate static func parseIPv4(_ text: ArraySlice<UInt8>) -> UInt32? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            guard part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            let octet = part.reduce(UInt32(0)) { $0 * 10 + UInt32($1 - 0x30) }
            guard octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    /// `inet_pton(AF_INET6)`: groups of 1-4 hex digits, at most one `::` standing for one or more zero groups,
    /// and optionally a dotted quad in place of the last two groups.
    fileprivate static func parseIPv6(_ text: ArraySlice<UInt8>) -> (UInt64, UInt64)? {
        let colon = UInt8(ascii: ":")
        var head: ArraySlice<UInt8> = text
        var tail: ArraySlice<UInt8>?
        if let gap = Self.doubleColon(in: text) {
            head = text[text.startIndex..<gap]
            tail = text[(gap + 2)...]
            if Self.doubleColon(in: tail!) != nil { return nil }
        }
        guard var headGroups = Self.groups(head, colon: colon, endsAddress: tail == nil) else { return nil }
        var tailGroups: [UInt16] = []
        if let tail {
            guard let groups = Self.groups(tail, colon: colon, endsAddress: true) else { return nil }
            tailGroups = groups
            guard headGroups.count + tailGroups.count <= 7 else { return nil }
            headGroups += Array(repeating: 0, count: 8 - headGroups.count - tailGroups.count)
        } else {
            guard headGroups.count == 8 else { return nil }
        }
        let all = headGroups + tailGroups
        let high = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (high, low)
    }

    private static func doubleColon(in text: ArraySlice<UInt8>) -> Int? {
        var index = text.startIndex
        while index + 1 < text.endIndex {
            if text[index] == UInt8(ascii: ":"), text[index + 1] == UInt8(ascii: ":") { return index }
            index += 1
        }
        return nil
    }

    /// The 16-bit groups of one side of a `::`; an empty side has none. A dotted quad may only end the address.
    private static func groups(_ text: ArraySlice<UInt8>, colon: UInt8, endsAddress: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: colon, omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if endsAddress, index == parts.count - 1, part.contains(UInt8(ascii: ".")) {
                guard let quad = parseIPv4(part) else { return nil }
                groups += [UInt16(truncatingIfNeeded: quad >> 16), UInt16(truncatingIfNeeded: quad)]
                continue
            }
            guard (1...4).contains(part.count) else { return nil }
            var group: UInt16 = 0
            for byte in part {
                guard let digit = hexValue(byte) else { return nil }
                group = group << 4 | UInt16(digit)
            }
            groups.append(group)
        }
        return groups.count <= 8 ? groups : nil
    }

    fileprivate static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate func replacingDots(with separator: Character) -> String {
        String(map { $0 == "." ? separator : $0 })
    }
}
