/// A lowercased wire-form name as a dictionary key, hashed with one call over its bytes.
///
/// `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time; name lookups are the query path's
/// largest cost after I/O, so the snapshot's indexes use this instead.
struct NameKey: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: NameKey, rhs: NameKey) -> Bool {
        lhs.bytes == rhs.bytes
    }
}
