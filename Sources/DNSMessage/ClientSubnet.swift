/// The EDNS Client Subnet option of a query (RFC 7871): the network a resolver's client asks from, so an answer
/// can depend on where the client is rather than where the resolver is.
public struct ClientSubnet: Hashable, Sendable {
    /// RFC 7871 §6: IANA address family numbers.
    public enum Family: UInt16, Sendable {
        /// Only with a source prefix of 0: "no information", as some resolvers send it.
        case unspecified = 0
        case ipv4 = 1
        case ipv6 = 2

        var maxPrefixLength: UInt8 {
            switch self {
            case .unspecified: 0
            case .ipv4: 32
            case .ipv6: 128
            }
        }
    }

    public static let optionCode: UInt16 = 8

    public var family: Family
    /// How many leading bits of the address the resolver disclosed; 0 asks for an answer that fits everyone.
    public var sourcePrefixLength: UInt8
    /// The address, left-aligned in 16 bytes (an IPv4 address in the first 4), zero past the source prefix.
    public var addressHigh: UInt64
    public var addressLow: UInt64

    public init(family: Family, sourcePrefixLength: UInt8, addressHigh: UInt64, addressLow: UInt64 = 0) {
        self.family = family
        self.sourcePrefixLength = sourcePrefixLength
        self.addressHigh = addressHigh
        self.addressLow = addressLow
    }

    /// The option's data: family, source and scope prefix lengths, then the address cut to whole bytes of the prefix.
    var addressByteCount: Int { (Int(sourcePrefixLength) + 7) / 8 }

    /// Bytes the option takes in an OPT record: code and length, then its data.
    var wireLength: Int { 4 + 4 + addressByteCount }

    /// Reads the option's `length` bytes of data. RFC 7871 §7.1.1 asks for FORMERR when they are malformed: an
    /// unknown family, a prefix longer than the family's addresses, a scope set in a query, an address not exactly
    /// the prefix's whole bytes, or bits set past the prefix.
    static func read(_ reader: inout WireReader, length: Int) throws(MalformedReason) -> ClientSubnet {
        guard length >= 4 else { throw .badClientSubnet }
        guard let family = Family(rawValue: try reader.readUInt16()) else { throw .badClientSubnet }
        let source = try reader.readUInt8()
        let scope = try reader.readUInt8()
        guard source <= family.maxPrefixLength, scope == 0 else { throw .badClientSubnet }
        let count = (Int(source) + 7) / 8
        guard length - 4 == count else { throw .badClientSubnet }
        var bytes: (high: UInt64, low: UInt64) = (0, 0)
        for index in 0..<count {
            let byte = UInt64(try reader.readUInt8())
            if index < 8 {
                bytes.high |= byte << (56 - 8 * UInt64(index))
            } else {
                bytes.low |= byte << (56 - 8 * UInt64(index - 8))
            }
        }
        let subnet = ClientSubnet(family: family, sourcePrefixLength: source, addressHigh: bytes.high, addressLow: bytes.low)
        guard subnet.masked == subnet else { throw .badClientSubnet }
        return subnet
    }

    /// The subnet with every bit past the source prefix cleared.
    var masked: ClientSubnet {
        let bits = Int(sourcePrefixLength)
        let highMask: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : ~(UInt64.max >> bits))
        let lowMask: UInt64 = bits <= 64 ? 0 : (bits >= 128 ? .max : ~(UInt64.max >> (bits - 64)))
        var copy = self
        copy.addressHigh &= highMask
        copy.addressLow &= lowMask
        return copy
    }

    /// Writes the option as a response echoes it (RFC 7871 §7.2.1): the query's family, source prefix and
    /// address, with `scope`, the leading bits of the address the answer is good for.
    func write<Sink: MessageSink>(scope: UInt8, into sink: inout Sink) {
        sink.append16(Self.optionCode)
        sink.append16(UInt16(4 + addressByteCount))
        sink.append16(family.rawValue)
        sink.append(sourcePrefixLength)
        sink.append(scope)
        for index in 0..<addressByteCount {
            let word = index < 8 ? addressHigh : addressLow
            sink.append(UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(index % 8))))
        }
    }
}
