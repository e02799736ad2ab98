/// A cursor over received bytes. Every read checks bounds and throws instead of trapping:
/// received bytes are hostile until proven otherwise.
struct WireReader: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func readUInt8() throws(MalformedReason) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt16() throws(MalformedReason) -> UInt16 {
        guard position + 2 <= bytes.count else { throw .truncated }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func readUInt32() throws(MalformedReason) -> UInt32 {
        guard position + 4 <= bytes.count else { throw .truncated }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
            | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])
    }

    mutating func readBytes(_ count: Int) throws(MalformedReason) -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else { throw .truncated }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func skip(_ count: Int) throws(MalformedReason) {
        guard count >= 0, position + count <= bytes.count else { throw .truncated }
        position += count
    }

    /// Reads a possibly compressed name (RFC 1035 §4.1.4) and leaves the cursor after it.
    ///
    /// A pointer must point strictly before itself, so a chain of pointers cannot cycle; a cycle through
    /// labels grows the name and ends at the 255-byte limit. Together they bound the work for any input.
    mutating func readName() throws(MalformedReason) -> DomainName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var cursor = position
        var resumeAt: Int? = nil
        var jumps = 0
        while true {
            guard cursor < bytes.count else { throw .truncated }
            let length = bytes[cursor]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    position = resumeAt ?? (cursor + 1)
                    return DomainName(uncheckedWire: wire)
                }
                guard cursor + 1 + Int(length) <= bytes.count else { throw .truncated }
                guard wire.count + Int(length) + 2 <= 255 else { throw .nameTooLong }
                wire.append(length)
                wire.append(contentsOf: bytes[(cursor + 1)...(cursor + Int(length))])
                cursor += Int(length) + 1
            case 0xC0:
                guard cursor + 2 <= bytes.count else { throw .truncated }
                let target = Int(length & 0x3F) << 8 | Int(bytes[cursor + 1])
                jumps += 1
                guard target < cursor, jumps <= 126 else { throw .pointerLoop }
                if resumeAt == nil { resumeAt = cursor + 2 }
                cursor = target
            default:
                // 0x40 and 0x80 are the retired extended label types (RFC 6891 §5).
                throw .badLabelType
            }
        }
    }
}
