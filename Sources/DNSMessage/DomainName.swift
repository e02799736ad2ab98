/// A domain name in wire form: length-prefixed labels ending with the root's zero byte.
///
/// The bytes keep the letter case they were written in, so a question can be echoed as the client sent it
/// (RFC 4343 §4.1). Equality and hashing ignore ASCII case (RFC 4343 §3); `lookupKey` is the lowercased
/// form that indexes use so a lookup hashes bytes once instead of folding case on every comparison.
public struct DomainName: Sendable, CustomStringConvertible {
    /// The wire form, as written (not lowercased), always ending with a zero byte.
    public let wire: [UInt8]

    /// The root name, `.`.
    public static let root = DomainName(uncheckedWire: [0])

    /// Builds a name from wire bytes already known to be valid (ends with 0, labels ≤ 63, total ≤ 255).
    package init(uncheckedWire: [UInt8]) {
        self.wire = uncheckedWire
    }

    /// Parses presentation form (`web.default.svc.cluster.local.`); a missing trailing dot is implied,
    /// since every name svcdns reads from its inputs is absolute. Understands `\.` and `\DDD` escapes.
    /// Returns nil for an empty label, a label over 63 bytes or a name over 255 bytes.
    public init?(_ text: String) {
        if text == "." || text.isEmpty {
            self = .root
            return
        }
        var wire: [UInt8] = []
        wire.reserveCapacity(text.utf8.count + 2)
        var label: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        func closeLabel() -> Bool {
            guard !label.isEmpty, label.count <= 63 else { return false }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
            label.removeAll(keepingCapacity: true)
            return true
        }
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "."):
                guard closeLabel() else { return nil }
            case UInt8(ascii: "\\"):
                guard let next = bytes.popFirst() else { return nil }
                if let d1 = Self.digit(next) {
                    guard let d2 = bytes.popFirst().flatMap(Self.digit), let d3 = bytes.popFirst().flatMap(Self.digit)
                    else { return nil }
                    let value = d1 * 100 + d2 * 10 + d3
                    guard value <= 255 else { return nil }
                    label.append(UInt8(value))
                } else {
                    label.append(next)
                }
            default:
                label.append(byte)
            }
        }
        if !label.isEmpty {
            guard closeLabel() else { return nil }
        }
        wire.append(0)
        guard wire.count <= 255 else { return nil }
        self.wire = wire
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// The lowercased wire form: the key every index in svcdns uses.
    ///
    /// Most names asked are lowercase already; those share `wire`'s storage instead of copying it
    /// (this runs once per query, and a scan is cheaper than an allocation).
    public var lookupKey: [UInt8] {
        let hasUppercase = wire.withUnsafeBufferPointer { bytes in
            bytes.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }
        return hasUppercase ? wire.map(asciiLowercased) : wire
    }

    /// True when the lookup key `key` is `ancestor` or a name below it: it ends with `ancestor` at a label
    /// boundary (`notlocalhost.` is not below `localhost.`). Both are lowercased wire forms.
    public static func key(_ key: [UInt8], isAtOrBelow ancestor: [UInt8]) -> Bool {
        guard key.count >= ancestor.count else { return false }
        var index = 0
        while key.count - index > ancestor.count {
            index += Int(key[index]) + 1
        }
        guard key.count - index == ancestor.count else { return false }
        return key[index...].elementsEqual(ancestor)
    }

    /// The number of labels, not counting the root.
    public var labelCount: Int {
        var count = 0
        var index = 0
        while wire[index] != 0 {
            count += 1
            index += Int(wire[index]) + 1
        }
        return count
    }

    /// The labels as byte arrays, leftmost first, in their written case.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = 0
        while wire[index] != 0 {
            let length = Int(wire[index])
            result.append(wire[(index + 1)..<(index + 1 + length)])
            index += length + 1
        }
        return result
    }

    /// The leftmost label as text (empty for the root).
    public var firstLabel: String {
        guard wire[0] != 0 else { return "" }
        return String(decoding: wire[1..<(1 + Int(wire[0]))], as: UTF8.self)
    }

    /// The name without its leftmost label (the root's parent is nil).
    public var parent: DomainName? {
        guard wire[0] != 0 else { return nil }
        return DomainName(uncheckedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// `label.self`; nil when the label is empty, over 63 bytes, or the result is over 255 bytes.
    public func prepending(_ label: String) -> DomainName? {
        let bytes = Array(label.utf8)
        guard !bytes.isEmpty, bytes.count <= 63, wire.count + bytes.count + 1 <= 255 else { return nil }
        return DomainName(uncheckedWire: [UInt8(bytes.count)] + bytes + wire)
    }

    /// `self` followed by `suffix` (`self` read as a relative name).
    public func appending(_ suffix: DomainName) -> DomainName? {
        let combined = wire.dropLast() + suffix.wire
        guard combined.count <= 255 else { return nil }
        return DomainName(uncheckedWire: Array(combined))
    }

    /// True when `self` equals `ancestor` or lies below it.
    public func isSubdomain(of ancestor: DomainName) -> Bool {
        guard wire.count >= ancestor.wire.count else { return false }
        var index = 0
        while wire.count - index > ancestor.wire.count {
            index += Int(wire[index]) + 1
        }
        guard wire.count - index == ancestor.wire.count else { return false }
        return Self.equalFolded(wire[index...], ancestor.wire[...])
    }

    /// Presentation form with a trailing dot; bytes outside printable ASCII and the special characters
    /// `.`, `\`, `"`, `;`, `(`, `)`, `@`, `$` are escaped so the text reads back as the same name.
    public var description: String {
        if wire == [0] { return "." }
        var text = ""
        var index = 0
        while wire[index] != 0 {
            let length = Int(wire[index])
            for byte in wire[(index + 1)...(index + length)] {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"),
                    UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    text.append("\\")
                    text.append(Character(UnicodeScalar(byte)))
                case 0x21...0x7E:
                    text.append(Character(UnicodeScalar(byte)))
                default:
                    let digits = String(byte)
                    text.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
                }
            }
            text.append(".")
            index += length + 1
        }
        return text
    }

    static func equalFolded(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).allSatisfy { asciiLowercased($0) == asciiLowercased($1) }
    }
}

extension DomainName: Hashable {
    public static func == (lhs: DomainName, rhs: DomainName) -> Bool {
        equalFolded(lhs.wire[...], rhs.wire[...])
    }

    public func hash(into hasher: inout Hasher) {
        // One combine of the folded bytes, not one per byte: names are hashed often while zones are built.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: wire.count) { folded in
            for (index, byte) in wire.enumerated() { folded[index] = asciiLowercased(byte) }
            hasher.combine(bytes: UnsafeRawBufferPointer(folded))
        }
    }
}

extension DomainName: Comparable {
    /// Canonical DNS order (RFC 4034 §6.1): compared label by label from the right, case folded.
    public static func < (lhs: DomainName, rhs: DomainName) -> Bool {
        let left = lhs.labels.reversed().map { $0.map(asciiLowercased) }
        let right = rhs.labels.reversed().map { $0.map(asciiLowercased) }
        for (l, r) in zip(left, right) where l != r {
            return l.lexicographicallyPrecedes(r)
        }
        return left.count < right.count
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
}
