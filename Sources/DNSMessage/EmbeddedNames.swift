/// Where domain names sit in the data of record types svcdns keeps as opaque bytes.
///
/// A sender may compress those names (RFC 1035's types; RFC 3597 §4 asks receivers to read compression in
/// a few later ones too), and libldns and stub resolvers follow the pointers. Copied as they came, the
/// pointers would point into the upstream's message, not into the one svcdns writes; and a name running past
/// the end of its data reads differently in another message. So such data is kept with its names written out
/// in full, and must end where its last field does. The table holds every type libldns 1.8.3 reads a name
/// in, but those svcdns has a case for. The fuzz target upstream-answer found MB and HTTPS records whose
/// copied data no longer read.
enum EmbeddedNames {
    enum Field {
        case name
        case fixed(Int)
        /// One length-prefixed string (RFC 1035 §3.3).
        case characterString
        /// Whatever is left of the data.
        case rest
    }

    /// Types svcdns has no case of its own for, whose data holds a name a sender may have compressed.
    static let layouts: [UInt16: [Field]] = [
        3: [.name],  // MD
        4: [.name],  // MF
        7: [.name],  // MB
        8: [.name],  // MG
        9: [.name],  // MR
        14: [.name, .name],  // MINFO
        17: [.name, .name],  // RP
        18: [.fixed(2), .name],  // AFSDB
        21: [.fixed(2), .name],  // RT
        24: [.fixed(18), .name, .rest],  // SIG
        26: [.fixed(2), .name, .name],  // PX
        30: [.name, .rest],  // NXT
        35: [.fixed(4), .characterString, .characterString, .characterString, .name],  // NAPTR
        36: [.fixed(2), .name],  // KX
        39: [.name],  // DNAME
        46: [.fixed(18), .name, .rest],  // RRSIG
        47: [.name, .rest],  // NSEC
        58: [.name, .name],  // TALINK
        64: [.fixed(2), .name, .rest],  // SVCB
        65: [.fixed(2), .name, .rest],  // HTTPS
        107: [.fixed(2), .name],  // LP
        249: [.name, .rest],  // TKEY
        250: [.name, .rest],  // TSIG
    ]

    /// Reads data laid out as `layout`, ending at `end`, with its names in full.
    static func readData(_ reader: inout WireReader, layout: [Field], end: Int) throws(MalformedReason) -> [UInt8] {
        var data: [UInt8] = []
        for field in layout {
            switch field {
            case .name:
                data += try reader.readName().wire
            case .fixed(let count):
                data += try reader.readBytes(count)
            case .characterString:
                let length = try reader.readUInt8()
                data.append(length)
                data += try reader.readBytes(Int(length))
            case .rest:
                guard reader.position <= end else { throw .truncated }
                data += try reader.readBytes(end - reader.position)
            }
        }
        return data
    }
}
