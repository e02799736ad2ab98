/// A cursor over received bytes. Every read checks bounds and throws instead of trapping:
/// received bytes are hostile until proven otherwise. The fixed-size reads are inlined: a query's
/// header and question are a dozen of them, each a compare and a load.
struct WireReader: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    @inline(__always)
    mutating func readUInt8() throws(MalformedReason) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always)
    mutating func readUInt16() throws(MalformedReason) -> UInt16 {
        guard position + 2 <= bytes.count else { throw .truncated }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    @inline(__always)
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

    @inline(__always)
    mutating func skip(_ count: Int) throws(MalformedReason) {
        guard count >= 0, position + count <= bytes.count else { throw .truncated }
        position += count
    }

    /// Reads a possibly compressed name (RFC 1035 §4.1.4) and leaves the cursor after it.
    ///
    /// A pointer must point strictly before itself, so a chain of pointers cannot cycle; a cycle through
    /// labels grows the name and ends at the 255-byte limit. Together they bound the work for any input.
    /// The name is checked first, then copied once into an array of its exact size (one allocation).
    mutating func readName() throws(MalformedReason) -> DomainName {
        let start = position
        let (length, resumeAt) = try scanName()
        let bytes = self.bytes
        // `repeating:` rather than `unsafeUninitializedCapacity:`: the latter is not specialised here and
        // looks up the array's generic metadata at run time on every call.
        var wire = [UInt8](repeating: 0, count: length)
        wire.withUnsafeMutableBufferPointer { buffer in
            var cursor = start
            var written = 0
            while true {
                let label = bytes[cursor]
                if label & 0xC0 == 0xC0 {
                    cursor = Int(label & 0x3F) << 8 | Int(bytes[cursor + 1])
                    continue
                }
                buffer[written] = label
                written += 1
                if label == 0 { break }
                let labelBytes = UnsafeRawBufferPointer(rebasing: bytes[(cursor + 1)..<(cursor + 1 + Int(label))])
                UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[written..<(written + Int(label))]))
                    .copyMemory(from: labelBytes)
                written += Int(label)
                cursor += Int(label) + 1
            }
        }
        position = resumeAt
        return DomainName(uncheckedWire: wire)
    }

    /// Checks the name at the cursor as `readName` does and moves past it, without building it.
    /// Returns true when it is the root (`.`), as an OPT record's owner must be.
    mutating func skipName() throws(MalformedReason) -> Bool {
        let (length, resumeAt) = try scanName()
        position = resumeAt
        return length == 1
    }

    /// Validates the name at the cursor: its length in wire form (uncompressed), and where it ends.
    private func scanName() throws(MalformedReason) -> (length: Int, resumeAt: Int) {
        var length = 0
        var cursor = position
        var resumeAt: Int? = nil
        var jumps = 0
        while true {
            guard cursor < bytes.count else { throw .truncated }
            let label = bytes[cursor]
            switch label & 0xC0 {
            case 0x00:
                if label == 0 {
                    return (length + 1, resumeAt ?? (cursor + 1))
                }
                guard cursor + 1 + Int(label) <= bytes.count else { throw .truncated }
                guard length + Int(label) + 2 <= 255 else { throw .nameTooLong }
                length += Int(label) + 1
                cursor += Int(label) + 1
            case 0xC0:
                guard cursor + 2 <= bytes.count else { throw .truncated }
                let target = Int(label & 0x3F) << 8 | Int(bytes[cursor + 1])
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
